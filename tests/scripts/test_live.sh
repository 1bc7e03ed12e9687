#!/usr/bin/env bash
# \summary: end-to-end test of `wiretale live` against real servers: the DNS
# hierarchy (nsd), a recursive resolver (unbound), two Postfix instances and
# Dovecot, started on loopback in a private network namespace by the same
# code as scripts/make-captures (scripts/captures/lib.sh), and real clients
# (dig, swaks, Python's poplib).
#
# Checks that each DNS transaction and its resolution chain are written
# within a fraction of a second of the answer (the file is polled right
# after each dig returns); that mail sessions and the message flow arrive
# before the stop, and a query nobody answers (and its chain, saying no
# answer was seen) when its timeout expires; that SIGINT
# ends the run with status 0 and a summary carrying libpcap's counts; that
# `wiretale analyze` of the pcap written with -w tells exactly the same story;
# and the small things: -c, --duration, a closed stdout (| head -1), a bad
# interface (exit 7), a bad filter (exit 5), no permission (exit 8), --list,
# -i any.
#
# Runs as root (CI); exit 77 (skipped) otherwise.  Environment: WT_BIN (the
# CLI), WT_SRC (the checkout); WT_LIVE_MAX_LATENCY (seconds, default 0.5)
# bounds how late a DNS or resolution record may appear; WT_CAPTURE_KEEP=1 keeps the
# scratch directory (configs, logs, live.jsonl, live.pcap).
set -uo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SRC=${WT_SRC:-$(cd "$(dirname "$SELF")/../.." && pwd)}
WT_LOG_TAG=test_live
# shellcheck source=../../scripts/captures/lib.sh
. "$SRC/scripts/captures/lib.sh"

MAX_LATENCY=${WT_LIVE_MAX_LATENCY:-0.5}
# The whole test, servers included, must end within this many seconds.
WT_NS_TIMEOUT=${WT_LIVE_TIMEOUT:-170}

# ---------------------------------------------------------------------------
# Outer part: as root, packages, namespace.
# ---------------------------------------------------------------------------

outer() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "not root: skipped (needs a network namespace and real servers)"
		exit 77
	fi
	if [ -z "${WT_BIN:-}" ] || [ ! -x "$WT_BIN" ]; then
		echo "FAIL: WT_BIN does not name the wiretale CLI"
		echo "0 passed, 1 failed"
		exit 1
	fi
	WT_BIN=$(readlink -f "$WT_BIN")
	export WT_BIN WT_NS_TIMEOUT
	install_packages
	local rc=0
	wt_ns_run "$SELF" || rc=$?
	[ $rc -eq 124 ] && echo "FAIL: the test did not end within ${WT_NS_TIMEOUT}s"
	exit $rc
}

# ---------------------------------------------------------------------------
# Inner part: inside the namespace.
# ---------------------------------------------------------------------------

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$*"; }

now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# count_lines FILE STRING...: complete lines of FILE containing every STRING.
count_lines() {
	local f=$1 data s
	shift
	data=$(grep -e '}$' -- "$f" 2>/dev/null) || { echo 0; return; }
	for s in "$@"; do
		data=$(grep -F -e "$s" <<<"$data") || { echo 0; return; }
	done
	wc -l <<<"$data"
}

# wait_lines SECONDS WANT FILE STRING...: polls FILE until WANT lines match;
# prints the seconds it waited.  Fails if they did not come in time.
wait_lines() {
	local limit=$1 want=$2 f=$3 t0
	shift 3
	t0=$(now)
	while :; do
		if [ "$(count_lines "$f" "$@")" -ge "$want" ]; then
			elapsed "$t0"
			return 0
		fi
		le "$(elapsed "$t0")" "$limit" || { elapsed "$t0"; return 1; }
		sleep 0.02
	done
}

ep() { printf '"%s":{"ip":"%s"' "$1" "$2"; } # a JSON endpoint, as written

# wait_dns DESC WANT CLIENT SERVER QNAME QTYPE [STRING...]: after a client
# returned, the dns record(s) must be in live.jsonl within MAX_LATENCY.
wait_dns() {
	local desc=$1 want=$2 client=$3 server=$4 qname=$5 qtype=$6 lat
	shift 6
	if lat=$(wait_lines 5 "$want" "$T/live.jsonl" '"type":"dns"' \
		"$(ep client "$client")" "$(ep server "$server")" \
		"\"qname\":\"$qname\"" "\"qtype\":\"$qtype\"" "$@"); then
		if le "$lat" "$MAX_LATENCY"; then
			ok "$desc: written ${lat}s after the client returned"
		else
			bad "$desc: written ${lat}s after the client returned (more than ${MAX_LATENCY}s)"
		fi
	else
		bad "$desc: no dns record ${lat}s after the client returned"
	fi
}

# wait_resolution DESC EVENT QNAME QTYPE METHOD [STRING...]: the resolution
# chain of the student's question must be in live.jsonl within MAX_LATENCY
# of DONE_AT[EVENT] (when dig EVENT returned, or the moment named by
# EVENT_WHAT[EVENT]): a chain is written as soon as nothing still to come
# can join it, with the client's answer when the resolver waits for
# nothing more upstream.
declare -A EVENT_WHAT
wait_resolution() {
	local desc=$1 dig=$2 qname=$3 qtype=$4 method=$5 lat what
	shift 5
	what=${EVENT_WHAT[$dig]:-dig returned}
	if wait_lines 5 1 "$T/live.jsonl" '"type":"resolution"' \
		"\"qname\":\"$qname\"" "\"qtype\":\"$qtype\"" "$(ep client "$IP_STUDENT")" \
		"\"resolver_method\":\"$method\"" "$@" >/dev/null; then
		lat=$(elapsed "${DONE_AT[$dig]}")
		if le "$lat" "$MAX_LATENCY"; then
			ok "$desc: resolution chain ($method) written ${lat}s after $what"
		else
			bad "$desc: resolution chain ($method) written ${lat}s after $what (more than ${MAX_LATENCY}s)"
		fi
	else
		bad "$desc: no resolution chain ($method) $(elapsed "${DONE_AT[$dig]}")s after $what"
	fi
}

# student_dig NAME dig-args...: a query from the student's laptop to the
# resolver; the output is kept in $T/dig-NAME.out.
student_dig() {
	local name=$1
	shift
	as_laptop "$IP_STUDENT" timeout 20 dig -b "$IP_STUDENT" +time=4 +tries=1 "$@" \
		>"$T/dig-$name.out" 2>&1
	DONE_AT[$name]=$(now)
}
declare -A DONE_AT

# live_start NAME ARGS...: wiretale live in the background, stdout to
# $T/NAME.out (or $LIVE_OUT), stderr to $T/NAME.err; sets LPID; waits until
# it listens.
live_start() {
	local name=$1 i
	shift
	"$WT_BIN" live "$@" >"${LIVE_OUT:-$T/$name.out}" 2>"$T/$name.err" &
	LPID=$!
	PIDS+=("$LPID")
	for i in $(seq 200); do
		grep -q 'listening on' "$T/$name.err" && return 0
		kill -0 "$LPID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# wait_exit PID SECONDS: waits for a process of ours; RC = its status, or
# 124 (and the process killed) when it did not end in time.
wait_exit() {
	local pid=$1 limit=$2 t0
	t0=$(now)
	while kill -0 "$pid" 2>/dev/null; do
		if ! le "$(elapsed "$t0")" "$limit"; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			RC=124
			return
		fi
		sleep 0.05
	done
	wait "$pid"
	RC=$?
}

# Traffic that the default filter keeps: a cached answer from the resolver.
poke() {
	dig -b 127.0.0.1 @"$IP_RESOLVER" +time=1 +tries=1 www.a.example A >/dev/null 2>&1
}

# No sanitizer report, no error line: stderr holds only the banner (and
# libpcap's warnings, which start with "wiretale: live:" too, so none).
clean_stderr() {
	! grep -v -e '^wiretale: listening on ' "$1" | grep -q .
}

setup_servers() {
	set -e
	setup_namespace
	copy_clients
	build_zones
	start_authoritative
	fresh_resolver recursive
	start_mail
	set +e
}

# ----- the main run: real traffic while wiretale watches --------------------

main_run() {
	local c=$IP_STUDENT r=$IP_RESOLVER t_stop

	if ! LIVE_OUT=$T/live.jsonl live_start live -i lo -F json -w "$T/live.pcap"; then
		bad "wiretale live -i lo did not start: $(head -3 "$T/live.err")"
		return 1
	fi
	ok "wiretale live -i lo -F json -w live.pcap listens"

	# A query nobody answers (nothing listens on 127.0.0.99): its record
	# can only come from the timeout, with no packet to drive it.
	student_dig unanswered @127.0.0.99 nowhere.test A
	T_UNANSWERED=$(now)

	student_dig cold @"$r" www.a.example A
	wait_dns "cold lookup www.a.example A" 1 "$c" "$r" www.a.example A
	wait_resolution "cold lookup www.a.example A" cold www.a.example A iterated
	student_dig cached @"$r" www.a.example A
	wait_dns "the same question again (cache)" 2 "$c" "$r" www.a.example A
	wait_resolution "the same question again" cached www.a.example A cache
	student_dig nxdomain @"$r" nosuch.a.example A
	grep -q 'status: NXDOMAIN' "$T/dig-nxdomain.out" \
		&& ok "dig got NXDOMAIN for nosuch.a.example" \
		|| bad "dig did not get NXDOMAIN for nosuch.a.example"
	wait_dns "NXDOMAIN nosuch.a.example A" 1 "$c" "$r" nosuch.a.example A '"rcode":"NXDOMAIN"'
	wait_resolution "NXDOMAIN nosuch.a.example A" nxdomain nosuch.a.example A iterated \
		'"rcode":"NXDOMAIN"'
	student_dig bigtxt @"$r" big.b.example TXT
	grep -q 'Truncated, retrying in TCP mode' "$T/dig-bigtxt.out" \
		&& ok "dig retried big.b.example TXT over TCP" \
		|| bad "dig did not retry big.b.example TXT over TCP (see dig-bigtxt.out)"
	wait_dns "large TXT over UDP (truncated, retried over TCP)" 1 "$c" "$r" big.b.example TXT \
		'"transport":"udp"' '"tc":true' '"retried_over_tcp":{"query_frame":'
	wait_dns "large TXT over TCP (the retry)" 1 "$c" "$r" big.b.example TXT \
		'"transport":"tcp"' '"tc_retry":{'
	wait_resolution "large TXT, truncated then over TCP" bigtxt big.b.example TXT iterated \
		'"tcp_retry":true'

	# Mail: Alice submits to mail.a.example (AUTH PLAIN), which looks up
	# b.example's MX and relays to mail.b.example; Bob reads it by POP3.
	if as_laptop "$IP_ALICE" timeout 30 swaks --server "$IP_MAIL_A" --port 587 \
		--local-interface "$IP_ALICE" --helo alice-laptop.a.example \
		--from alice@a.example --to bob@b.example --auth PLAIN \
		--auth-user alice@a.example --auth-password alice-secret \
		--timeout 20 --data "@$W/clients/lunch.eml" >"$T/swaks.out" 2>&1; then
		ok "swaks submitted a message to mail.a.example"
	else
		bad "swaks failed (see swaks.out)"
	fi
	local lat
	if lat=$(wait_lines 5 1 "$T/live.jsonl" '"type":"smtp"' \
		"$(ep client "$IP_ALICE")" "$(ep server "$IP_MAIL_A")" '"auth":{"mechanism":"PLAIN"'); then
		ok "submission session written ${lat}s after swaks returned"
	else
		bad "no smtp record of the submission ${lat}s after swaks returned"
	fi
	( set -e; wait_delivered b.example bob 1 ) \
		&& ok "the message reached bob@b.example's mailbox" \
		|| bad "the message did not reach bob@b.example's mailbox"
	if lat=$(wait_lines 5 1 "$T/live.jsonl" '"type":"smtp"' \
		"$(ep client "$IP_MAIL_A")" "$(ep server "$IP_MAIL_B")" '"rcpt_to":["bob@b.example"]'); then
		ok "relay session mail.a.example -> mail.b.example written ${lat}s after delivery"
	else
		bad "no smtp record of the relay ${lat}s after delivery"
	fi
	if as_laptop "$IP_BOB" timeout 30 /usr/bin/python3 "$W/clients/bob-pop3.py" \
		"$IP_BOB" "$IP_MAIL_B" 1 >"$T/pop3.out" 2>&1; then
		ok "Bob read his mail by POP3"
	else
		bad "the POP3 client failed (see pop3.out)"
	fi
	if lat=$(wait_lines 5 1 "$T/live.jsonl" '"type":"pop3"' \
		"$(ep client "$IP_BOB")" "$(ep server "$IP_MAIL_B")"); then
		ok "POP3 session written ${lat}s after the client returned"
	else
		bad "no pop3 record ${lat}s after the client returned"
	fi

	# What completes only after a while, with no packet to drive it: the
	# unanswered query (DNS timeout, 5 s) and its chain, which goes with
	# it, saying no answer was seen (never a cache hit); and the mail flow
	# (5 s after the retrieval, in case a second one follows).  All before
	# the stop.
	if lat=$(wait_lines 15 1 "$T/live.jsonl" '"type":"dns"' \
		'"qname":"nowhere.test"' '"status":"unanswered"'); then
		ok "the unanswered query was written when its timeout expired ($(elapsed "$T_UNANSWERED")s after it was sent)"
		DONE_AT[unanswered-dns]=$(now)
		EVENT_WHAT[unanswered-dns]="its dns record"
		wait_resolution "the unanswered query" unanswered-dns nowhere.test A unseen \
			'"rcode":null' '"outcome":"timeout"' 'no answer was seen'
	else
		bad "the unanswered query was not written before the stop"
	fi
	if [ "$(count_lines "$T/live.jsonl" '"type":"resolution"' '"qname":"nowhere.test"' \
		'cache')" -eq 0 ]; then
		ok "the unanswered question is not called a cache hit"
	else
		bad "the unanswered question's chain speaks of a cache"
	fi
	if lat=$(wait_lines 20 1 "$T/live.jsonl" '"type":"mail"' \
		'"message_id":"<lunch-0001@a.example>"' '"retrieved":true'); then
		ok "the message flow (submission, relay, retrieval) was written before the stop"
	else
		bad "no mail record of the message before the stop"
	fi

	t_stop=$(now)
	kill -INT "$LPID"
	wait_exit "$LPID" 10
	if [ "$RC" -eq 0 ]; then
		ok "SIGINT: exit status 0 after $(elapsed "$t_stop")s"
	else
		bad "SIGINT: exit status $RC"
	fi
	clean_stderr "$T/live.err" && ok "nothing on stderr but the banner" \
		|| bad "stderr: $(grep -v '^wiretale: listening on ' "$T/live.err" | head -5)"
}

# ----- after the stop: the summary and the re-analysis of live.pcap ----------

check_records() {
	"$WT_BIN" analyze -F json "$T/live.pcap" >"$T/offline.jsonl" 2>"$T/offline.err"
	local rc=$?
	[ $rc -eq 0 ] && ok "wiretale analyze live.pcap: exit 0" \
		|| bad "wiretale analyze live.pcap: exit $rc ($(head -3 "$T/offline.err"))"
	/usr/bin/python3 - "$T/live.jsonl" "$T/offline.jsonl" <<-'EOF'
	import json, sys
	from collections import Counter

	def load(path):
	    recs = []
	    with open(path) as f:
	        for n, line in enumerate(f, 1):
	            try:
	                recs.append(json.loads(line))
	            except ValueError:
	                print("FAIL %s line %d is not JSON: %r" % (path, n, line[:80]))
	                recs.append({"type": "?"})
	    return recs

	live, offline = load(sys.argv[1]), load(sys.argv[2])
	passed = failed = 0

	def check(cond, msg):
	    global passed, failed
	    print(("ok   " if cond else "FAIL ") + msg)
	    if cond:
	        passed += 1
	    else:
	        failed += 1

	s = live[-1] if live else {}
	check(s.get("type") == "summary", "the last live record is the summary")
	lv = s.get("live") or {}
	check(isinstance(lv.get("received"), int) and isinstance(lv.get("dropped"), int),
	      "summary.live has libpcap's received (%r) and dropped (%r) counts"
	      % (lv.get("received"), lv.get("dropped")))
	check(lv.get("interface") == "lo", "summary.live.interface is lo")
	pk = s.get("packets")
	check(isinstance(lv.get("received"), int) and isinstance(pk, int) and lv["received"] >= pk > 0,
	      "libpcap received %r >= %r packets analysed" % (lv.get("received"), pk))
	check(lv.get("dropped") == 0, "libpcap dropped %r packets" % lv.get("dropped"))
	so = offline[-1] if offline else {}
	check(so.get("type") == "summary" and so.get("packets") == pk,
	      "the pcap holds the packets analysed live (%r, %r)" % (so.get("packets"), pk))
	check(sum(1 for r in live if r.get("type") == "summary") == 1, "exactly one summary")

	# The same story from the pcap: every record but the summary, compared
	# whole, in any order (live writes what completes when it completes;
	# the file is read at full speed, so timeouts fire at other moments).
	def key(r):
	    return json.dumps(r, sort_keys=True)

	types = ("dns", "resolution", "smtp", "pop3", "imap", "mail", "flow", "warning")
	for t in types:
	    a = Counter(key(r) for r in live if r.get("type") == t)
	    b = Counter(key(r) for r in offline if r.get("type") == t)
	    only_live, only_off = a - b, b - a
	    # The one legitimate difference: live, the clock runs on after the
	    # last packet, so a flow idle (or closed) for its timeout ends with
	    # "timeout"; the file's clock stops at its last packet, so the same
	    # flow ends there with "eof".
	    relaxed = 0
	    if t == "flow":
	        for k in list(only_live.elements()):
	            r = json.loads(k)
	            if r.get("end") != "timeout":
	                continue
	            r["end"] = "eof"
	            k2 = key(r)
	            if only_off[k2] > 0:
	                only_off[k2] -= 1
	                only_live[k] -= 1
	                relaxed += 1
	        only_live, only_off = +only_live, +only_off
	    check(not only_live and not only_off,
	          "%s records: %d live, %d from live.pcap, %d only live, %d only in the pcap's analysis%s"
	          % (t, sum(a.values()), sum(b.values()), sum(only_live.values()),
	             sum(only_off.values()),
	             ", %d ended by timeout live and at the end of the file" % relaxed if relaxed else ""))
	    for k in list(only_live)[:2]:
	        print("     only live:    " + k[:600])
	    for k in list(only_off)[:2]:
	        print("     only offline: " + k[:600])
	    if t in ("dns", "resolution", "smtp", "pop3", "mail"):
	        check(sum(a.values()) > 0, "live wrote %s records" % t)
	known = set(types) | {"summary"}
	other = Counter(r.get("type") for r in live if r.get("type") not in known)
	check(not other, "no record of another type (%s)" % dict(other))
	print("RESULT %d %d" % (passed, failed))
	EOF
}

# ----- the small things ------------------------------------------------------

check_count() {
	local i
	if ! live_start count -i lo -c 5 -F json; then
		bad "-c 5 did not start"
		return
	fi
	for i in $(seq 20); do
		kill -0 "$LPID" 2>/dev/null || break
		poke
	done
	wait_exit "$LPID" 5
	local pk
	pk=$(tail -1 "$T/count.out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("packets"))' 2>/dev/null)
	if [ "$RC" -eq 0 ] && [ "$pk" = 5 ]; then
		ok "-c 5 stops by itself after 5 packets, exit 0"
	else
		bad "-c 5: exit $RC, summary says $pk packets"
	fi
}

check_sigterm() {
	if ! live_start term -i lo -F json; then
		bad "SIGTERM run did not start"
		return
	fi
	poke
	kill -TERM "$LPID"
	wait_exit "$LPID" 5
	if [ "$RC" -eq 0 ] && tail -1 "$T/term.out" | grep -q '"type":"summary"' &&
		[ "$(count_lines "$T/term.out" '"type":"dns"')" -ge 1 ]; then
		ok "SIGTERM: exit 0, the transaction and the summary written"
	else
		bad "SIGTERM: exit $RC"
	fi
}

check_duration() {
	local t0 d
	t0=$(now)
	if ! live_start duration -i lo --duration 1 -F json; then
		bad "--duration 1 did not start"
		return
	fi
	wait_exit "$LPID" 6
	d=$(elapsed "$t0")
	if [ "$RC" -eq 0 ] && tail -1 "$T/duration.out" | grep -q '"type":"summary"'; then
		ok "--duration 1 stops by itself (${d}s), exit 0, with a summary"
	else
		bad "--duration 1: exit $RC after ${d}s"
	fi
}

# check_head FORMAT: wiretale live | head -1 ends by itself, quietly.
check_head() {
	local fmt=$1 i
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	head -1 <"$T/fifo" >"$T/head-$fmt.out" &
	local hpid=$!
	if ! LIVE_OUT=$T/fifo live_start "head-$fmt-live" -i lo -F "$fmt"; then
		bad "| head -1 ($fmt): wiretale did not start"
		kill "$hpid" 2>/dev/null
		return
	fi
	for i in $(seq 40); do
		kill -0 "$LPID" 2>/dev/null || break
		poke
	done
	wait_exit "$LPID" 5
	wait "$hpid" 2>/dev/null
	if [ "$RC" -eq 0 ] && [ -s "$T/head-$fmt.out" ] && clean_stderr "$T/head-$fmt-live.err"; then
		ok "wiretale live -F $fmt | head -1: ends by itself, exit 0, nothing on stderr"
	else
		bad "wiretale live -F $fmt | head -1: exit $RC, stderr: $(grep -v '^wiretale: listening' "$T/head-$fmt-live.err" | head -2)"
	fi
}

check_errors() {
	local rc
	"$WT_BIN" live -i nosuch0 >/dev/null 2>"$T/noiface.err"
	rc=$?
	if [ $rc -eq 7 ] && grep -q 'nosuch0' "$T/noiface.err" && grep -q 'available interfaces:.* lo\b' "$T/noiface.err"; then
		ok "-i nosuch0: exit 7, the available interfaces named"
	else
		bad "-i nosuch0: exit $rc: $(head -2 "$T/noiface.err")"
	fi

	local msg
	msg=$(tcpdump -d 'port 99999' 2>&1 | sed -n 's/^tcpdump: //p' | head -1)
	"$WT_BIN" live -i lo -f 'port 99999' >/dev/null 2>"$T/badfilter.err"
	rc=$?
	if [ $rc -eq 5 ] && [ -n "$msg" ] && grep -qF "$msg" "$T/badfilter.err"; then
		ok "-f 'port 99999': exit 5 with libpcap's message ($msg)"
	else
		bad "-f 'port 99999': exit $rc: $(head -2 "$T/badfilter.err") (libpcap says: $msg)"
	fi

	# Without CAP_NET_RAW (an ordinary uid), if that uid can run the binary.
	if setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$WT_BIN"; then
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$WT_BIN" live -i lo >/dev/null 2>"$T/perm.err"
		rc=$?
		if [ $rc -eq 8 ] && grep -q 'CAP_NET_RAW' "$T/perm.err"; then
			ok "an unprivileged uid: exit 8, naming CAP_NET_RAW"
		else
			bad "an unprivileged uid: exit $rc: $(head -2 "$T/perm.err")"
		fi
	else
		echo "note: uid 65534 cannot run $WT_BIN: permission check not run"
	fi

	"$WT_BIN" live -i lo -F json --duration 0.5 >/dev/full 2>"$T/full.err"
	rc=$?
	if [ $rc -eq 6 ] && grep -q 'No space left' "$T/full.err"; then
		ok "records to a full disk (/dev/full): exit 6, said so"
	else
		bad "records to /dev/full: exit $rc: $(head -2 "$T/full.err")"
	fi
	"$WT_BIN" live -i lo -w - >/dev/null 2>"$T/wdash.err"
	rc=$?
	[ $rc -eq 2 ] && ok "-w - (packets and records both on stdout): usage error, exit 2" \
		|| bad "-w -: exit $rc: $(head -1 "$T/wdash.err")"

	"$WT_BIN" live --list >"$T/list.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -qE '^[0-9]+\.lo .*Loopback' "$T/list.out"; then
		ok "--list names lo as a loopback interface"
	else
		bad "--list: exit $rc: $(head -3 "$T/list.out")"
	fi
}

check_any() {
	if ! live_start any -i any -F json --duration 3; then
		bad "-i any did not start: $(head -2 "$T/any.err")"
		return
	fi
	student_dig any @"$IP_RESOLVER" www.b.example A
	wait_exit "$LPID" 8
	if [ "$RC" -eq 0 ] && grep -q 'LINUX_SLL2' "$T/any.err" &&
		[ "$(count_lines "$T/any.out" '"type":"dns"' '"qname":"www.b.example"')" -ge 1 ]; then
		ok "-i any: cooked SLL2 link type, the transaction decoded"
	else
		bad "-i any: exit $RC: $(head -2 "$T/any.err")"
	fi
}

# --dns-port widens the default filter: a query to port 5300 is decoded.
check_extra_port() {
	if ! live_start port -i lo -F json --dns-port 5300 --duration 2; then
		bad "--dns-port 5300 did not start"
		return
	fi
	dig -b 127.0.0.1 -p 5300 @127.0.0.1 +time=1 +tries=1 other.test A >/dev/null 2>&1
	wait_exit "$LPID" 6
	if [ "$RC" -eq 0 ] && [ "$(count_lines "$T/port.out" '"type":"dns"' \
		'"qname":"other.test"' '"port":5300}')" -ge 1 ]; then
		ok "--dns-port 5300: the default filter keeps that port too"
	else
		bad "--dns-port 5300: exit $RC, no dns record of the query to port 5300"
	fi
}

# On the way out: a closing line even when a server failed to start (die),
# then every process we started is stopped by its PID.
inner_exit() {
	local rc=$?
	if [ -z "${SUMMARY_DONE:-}" ]; then
		echo "FAIL the test stopped early (status $rc; the scratch directory is kept)"
		echo "$pass passed, $((fail + 1)) failed"
		[ $rc -ne 0 ] || rc=1
	fi
	(exit $rc)
	inner_cleanup
}

inner() {
	W=$1
	T=$W/live
	mkdir -p "$T"
	trap inner_exit EXIT
	trap 'exit 143' TERM INT
	local t0
	t0=$(now)
	setup_servers
	log "servers up in $(elapsed "$t0")s"
	main_run
	local res
	res=$(check_records)
	printf '%s\n' "$res" | grep -v '^RESULT '
	set -- $(printf '%s\n' "$res" | sed -n 's/^RESULT //p')
	pass=$((pass + ${1:-0}))
	fail=$((fail + ${2:-1}))
	check_count
	check_sigterm
	check_duration
	check_head json
	check_head text
	check_errors
	check_any
	check_extra_port
	log "done in $(elapsed "$t0")s"
	echo "$pass passed, $fail failed"
	SUMMARY_DONE=1
	[ "$fail" -eq 0 ]
}

if [ "${1:-}" = "--inner" ]; then
	inner "$2"
else
	outer "$@"
fi
