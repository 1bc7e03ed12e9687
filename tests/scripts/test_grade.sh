#!/usr/bin/env bash
# \summary: wiretale grade on a realistic class built from the real captures: exact gradebooks, copies, bad rubrics, unreadable work
#
# The classes live in tests/grade/{dns,smtp}-class/: each student's answers
# are committed; their traces are built here from captures/ (see
# tests/grade/make_student.py: the same lab as another laptop recorded it,
# with its own ports and DNS IDs):
#   DNS lab   ana    client view + dig +norecurse walk (all answers right)
#             ben    POP3 traffic, then the client view: no iterated walk,
#                    some answers wrong or missing (answers.csv)
#             chloe  the full lab, wrong answers
#             dan    ana's trace shifted by an hour (editcap -t): a copy
#             eve    a bare capture with POP3 only: no DNS at all
#             fred   capture.pcap is a text file: unreadable
#             gina   the DNS of alice-to-bob.pcap: not her host (4 clients)
#   SMTP lab  ana    submission session 1 (pipelined), answers right
#             ben    STARTTLS: everything after EHLO is encrypted
#             chloe  submission session 2 (AUTH LOGIN), some answers wrong
#             dan    ana's trace shifted by 10 minutes: a copy
#             eve    a bare DNS capture: no SMTP
#             fred   an empty capture.pcap
#             gina   the relay session to port 25, no AUTH
# The expected gradebooks (tests/grade/expected/) were worked out by hand
# from the rubrics and the frame numbers tshark shows; they are compared
# byte for byte.  Needs WT_BIN, WT_SRC, python3, editcap, tcpdump, jq.
set -u

BIN=${WT_BIN:-}
SRC=${WT_SRC:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ] || [ -z "$SRC" ]; then
	echo "SKIP: WT_BIN and WT_SRC must be set"
	exit 77
fi
for tool in python3 editcap tcpdump jq; do
	if ! command -v $tool >/dev/null; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done
C=$SRC/captures
G=$SRC/tests/grade
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
MK="python3 $G/make_student.py"

# --- build the classes ------------------------------------------------
D=$TMP/dns-class
S=$TMP/smtp-class
cp -r "$G/dns-class" "$D"
cp -r "$G/smtp-class" "$S"
$MK --key 1 "$D/ana/trace.pcap" "$C/dns-client-view.pcap" "$C/dns-iterative-client.pcap" &&
	$MK --key 2 "$D/ben/trace.pcap" "$C/pop3-retrieve.pcap" "$C/dns-client-view.pcap" &&
	$MK --key 3 "$D/chloe/trace.pcap" "$C/dns-client-view.pcap" "$C/dns-iterative-client.pcap" &&
	editcap -F pcap -t 3600 "$D/ana/trace.pcap" "$D/dan/trace.pcap" &&
	$MK --key 5 "$D/eve.pcap" "$C/pop3-retrieve.pcap" &&
	tcpdump -r "$C/alice-to-bob.pcap" -w "$TMP/gina-dns.pcap" 'udp port 53' 2>/dev/null &&
	$MK --key 7 "$D/gina/trace.pcap" "$TMP/gina-dns.pcap" ||
	{ echo "FAIL building the DNS class"; exit 1; }
editcap -F pcap -r "$C/smtp-submission.pcap" "$TMP/sub1.pcap" 1-19 &&
	editcap -F pcap -r "$C/smtp-submission.pcap" "$TMP/sub2.pcap" 20-46 &&
	$MK --key 11 "$S/ana/trace.pcap" "$TMP/sub1.pcap" &&
	$MK --key 12 "$S/ben/trace.pcap" "$C/smtp-starttls.pcap" &&
	$MK --key 13 "$S/chloe/trace.pcap" "$TMP/sub2.pcap" &&
	editcap -F pcap -t 600 "$S/ana/trace.pcap" "$S/dan/trace.pcap" &&
	cp "$C/dns-client-view.pcap" "$S/eve.pcap" &&
	$MK --key 17 "$S/gina/trace.pcap" "$C/smtp-relay.pcap" ||
	{ echo "FAIL building the SMTP class"; exit 1; }

# --- the frame numbers the expected gradebooks rely on, from tshark ---
if command -v tshark >/dev/null; then
	f=$(tshark -r "$D/ben/trace.pcap" -Y 'dns.flags.response==0 && dns.qry.name=="www.a.example"' \
		-T fields -e frame.number 2>/dev/null | head -1)
	[ "$f" = 31 ] && ok "tshark: ben's first query for www.a.example is frame 31" ||
		bad "tshark: ben's first query is frame '$f', the expected gradebook says 31"
	f=$(tshark -r "$D/ana/trace.pcap" -Y 'dns.flags.response==0 && ip.dst==127.0.0.2 && dns.qry.name=="www.a.example"' \
		-T fields -e frame.number -e dns.flags.recdesired 2>/dev/null | head -1 | tr '\t' ' ')
	[ "$f" = "49 0" ] && ok "tshark: ana's query to the root is frame 49, RD=0" ||
		bad "tshark: ana's query to the root: '$f'"
	f=$(tshark -r "$S/chloe/trace.pcap" -Y 'smtp.req.command=="MAIL"' -T fields -e frame.number 2>/dev/null | head -1)
	[ "$f" = 15 ] && ok "tshark: chloe's MAIL FROM is frame 15" || bad "tshark: chloe's MAIL FROM is '$f'"
	f=$(tshark -r "$S/gina/trace.pcap" -Y 'smtp.response.code==250 && smtp.rsp.parameter contains "queued"' \
		-T fields -e frame.number 2>/dev/null | head -1)
	[ -z "$f" ] && f=$(tshark -r "$S/gina/trace.pcap" -Y 'smtp.response.code==221' -T fields -e frame.number 2>/dev/null | head -1)
	[ "$f" = 24 ] && ok "tshark: gina's queued/221 replies are in frame 24" || bad "tshark: gina's final replies in '$f'"
fi

# --- grade: gradebooks compared exactly --------------------------------
for lab in dns smtp; do
	"$BIN" grade --rubric "$SRC/examples/rubrics/$lab-lab.json" "$TMP/$lab-class" \
		--gradebook "$TMP/$lab.csv" >"$TMP/$lab.txt" 2>"$TMP/$lab.err"
	rc=$?
	[ $rc = 0 ] && ok "$lab: exit status 0 with an unreadable submission in the class" ||
		bad "$lab: exit status $rc"
	if cmp -s "$TMP/$lab.csv" "$G/expected/$lab-gradebook.csv"; then
		ok "$lab: gradebook is exactly the expected one"
	else
		bad "$lab: gradebook differs:"
		diff "$G/expected/$lab-gradebook.csv" "$TMP/$lab.csv"
	fi
	grep -q "AddressSanitizer\|runtime error" "$TMP/$lab.err" && bad "$lab: sanitizer report" && cat "$TMP/$lab.err"
	grep -q "POSSIBLE COPY: ana and dan share" "$TMP/$lab.txt" &&
		ok "$lab: ana and dan flagged as a possible copy" || bad "$lab: copy not flagged"
	n=$(grep -c "POSSIBLE COPY" "$TMP/$lab.txt")
	[ "$n" = 1 ] && ok "$lab: exactly one pair flagged" || bad "$lab: $n pairs flagged"
	grep -q "^== fred: 0/.*NOT GRADED: .*capture.pcap" "$TMP/$lab.txt" &&
		ok "$lab: fred gets zero with the reason" || bad "$lab: fred's reason missing"
done
grep -A1 "^== fred" "$TMP/dns.txt" | head -1 | grep -q "not a capture\|unknown\|format" &&
	ok "dns: fred's reason says it is not a capture" || bad "dns: fred's reason: $(grep '^== fred' "$TMP/dns.txt")"
grep "^== fred" "$TMP/smtp.txt" | grep -q "empty" &&
	ok "smtp: fred's reason says the file is empty" || bad "smtp: fred's reason: $(grep '^== fred' "$TMP/smtp.txt")"
grep -q "HOST gina: .*DNS questions come from 4 hosts" "$TMP/dns.txt" &&
	ok "dns: gina's DNS from 4 hosts flagged" || bad "dns: gina's hosts not flagged"
grep -q "HOST gina: no DNS question comes from the student's host 127.0.0.10" "$TMP/dns.txt" &&
	ok "dns: gina's declared host flagged" || bad "dns: gina's declared host not flagged"
grep -c "^  HOST" "$TMP/dns.txt" | grep -qx 2 && ok "dns: nobody else flagged for hosts" ||
	bad "dns: unexpected host flags: $(grep '^  HOST' "$TMP/dns.txt")"
# Evidence points at frames
grep -A2 "FAIL q7 " "$TMP/dns.txt" | grep -q 'answered "127.0.0.53", the answer is 127.0.0.80; frames 31, 32' &&
	ok "dns: ben's wrong q7 explained with frames 31, 32" || bad "dns: ben's q7 evidence"
grep -q "FAIL iterated .*" "$TMP/dns.txt" && ok "dns: failed iterated criterion shown" || bad "dns: iterated"
grep -q "the session switched to TLS" "$TMP/smtp.txt" && ok "smtp: ben's TLS session explained" ||
	bad "smtp: ben's TLS evidence"

# --- JSON output ----------------------------------------------------------
"$BIN" grade --rubric "$SRC/examples/rubrics/dns-lab.json" -F json -j 1 "$D" >"$TMP/dns.json" 2>/dev/null
if jq -e '.students | length == 7' "$TMP/dns.json" >/dev/null &&
	jq -e '.integrity.copies[0] | .a == "ana" and .b == "dan" and .score == 1' "$TMP/dns.json" >/dev/null &&
	jq -e '.students[5] | .status == "unreadable" and .total == 0' "$TMP/dns.json" >/dev/null; then
	ok "--format json parses: 7 students, the copy pair with score 1, fred unreadable"
else
	bad "--format json"
fi
# -j 1 and the default give the same result
"$BIN" grade --rubric "$SRC/examples/rubrics/dns-lab.json" -F json -j 2 "$D" >"$TMP/dns2.json" 2>/dev/null
cmp -s "$TMP/dns.json" "$TMP/dns2.json" && ok "same output with 1 and 2 threads" || bad "output depends on -j"

# --- --key ------------------------------------------------------------
"$BIN" grade --rubric "$SRC/examples/rubrics/dns-lab.json" --key "$D/ben" "$D/ana" >"$TMP/key.txt" 2>&1
awk '/^== ben/{s=1} /^== ana/{s=0} s' "$TMP/key.txt" | grep -q "^  q1 *31; frames 31, 32" &&
	ok "--key: ben's q1 is 31 in his own trace" || bad "--key ben: $(cat "$TMP/key.txt")"
awk '/^== ana/{s=1} s' "$TMP/key.txt" | grep -q "^  q10 *example; frames 49, 50" &&
	ok "--key: ana's first referral zone" || bad "--key ana"

# --- submissions given one by one; a missing one ------------------------
"$BIN" grade --rubric "$SRC/examples/rubrics/dns-lab.json" "$D/ana" "$TMP/nosuch" "$D/eve.pcap" \
	--gradebook "$TMP/3.csv" >"$TMP/3.txt" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(sed -n 2p "$TMP/3.csv" | cut -d, -f1,2)" = "ana,23" ] &&
	[ "$(sed -n 3p "$TMP/3.csv" | cut -d, -f1,2)" = "nosuch,0" ] &&
	[ "$(sed -n 4p "$TMP/3.csv" | cut -d, -f1,2)" = "eve,0" ] &&
	grep -q "== nosuch: 0/23  NOT GRADED: .*No such file" "$TMP/3.txt" &&
	ok "a missing submission gets zero with the reason, the others are graded" ||
	bad "missing submission (rc $rc): $(cat "$TMP/3.csv")"

# --- invalid rubrics: exit 9, line and field named ----------------------
badrub() {
	local name=$1 want=$2
	"$BIN" grade --rubric "$TMP/$name.json" "$D/ana" >/dev/null 2>"$TMP/$name.err"
	local rc=$?
	if [ $rc = 9 ] && grep -qF -- "$want" "$TMP/$name.err"; then
		ok "bad rubric $name: exit 9, '$want'"
	else
		bad "bad rubric $name: exit $rc, stderr: $(cat "$TMP/$name.err")"
	fi
}
sed 's/"kind": "dns_transaction", "qname": "nosuch.a.example"/"kind": "dns_transacton", "qname": "nosuch.a.example"/' \
	"$SRC/examples/rubrics/dns-lab.json" >"$TMP/typo.json"
line=$(grep -n dns_transacton "$TMP/typo.json" | cut -d: -f1)
badrub typo "typo.json:$line: criteria[9].check.kind: unknown check 'dns_transacton'"
sed 's/"id": "q3", "points": 1,/"id": "q3", "points": "one",/' "$SRC/examples/rubrics/dns-lab.json" >"$TMP/points.json"
line=$(grep -n '"points": "one"' "$TMP/points.json" | cut -d: -f1)
badrub points "points.json:$line: criteria[3].points: expected a number of points >= 0"
sed 's/"transport": "udp", "rcode"/"transport": "sctp", "rcode"/' "$SRC/examples/rubrics/dns-lab.json" >"$TMP/enum.json"
line=$(grep -n '"sctp"' "$TMP/enum.json" | cut -d: -f1)
badrub enum "enum.json:$line: criteria[0].check.transport: 'sctp' is not one of 'udp', 'tcp'"
printf '{\n  "criteria": [\n    {"id": "a", "points": 1,\n' >"$TMP/syntax.json"
badrub syntax "syntax.json:4"
printf '{"criteria": []}\n' >"$TMP/empty.json"
badrub empty "empty.json:1: criteria: must not be empty"
"$BIN" grade --rubric "$TMP/nosuch.json" "$D/ana" >/dev/null 2>&1
[ $? = 9 ] && ok "a missing rubric: exit 9" || bad "a missing rubric"
"$BIN" grade "$D/ana" >/dev/null 2>&1
[ $? = 2 ] && ok "no --rubric: usage error 2" || bad "no --rubric"
"$BIN" grade --help | grep -q "9  grade: the rubric is invalid" && ok "--help documents the exit statuses" ||
	bad "--help"

# --- the example rubrics against their JSON Schema ------------------------
if /usr/bin/python3 -c "import jsonschema" 2>/dev/null; then
	for lab in dns smtp; do
		/usr/bin/python3 - "$SRC/docs/schema/rubric.schema.json" "$SRC/examples/rubrics/$lab-lab.json" <<'PY' &&
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))
PY
			ok "$lab-lab.json is valid against rubric.schema.json" || bad "$lab-lab.json against the schema"
	done
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
