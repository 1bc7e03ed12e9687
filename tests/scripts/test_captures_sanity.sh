#!/usr/bin/env bash
# \summary: check with tshark that each committed capture in captures/ holds
# what captures/README.md says it holds (referrals, TC + TCP retry, NXDOMAIN,
# the SMTP/POP3/IMAP dialogues, ...).  The captures come from real servers
# (scripts/make-captures), so this guards the README against a regenerated
# capture that no longer tells the documented story.  Exit 77 without tshark.
set -u

SRC=${WT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CAP=$SRC/captures
command -v tshark >/dev/null 2>&1 || { echo "tshark not installed: skipped"; exit 77; }
[ -d "$CAP" ] || { echo "no captures/ directory"; exit 1; }

pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# Checks of frame counts are queued per capture and evaluated with a single
# tshark run per capture ("-z io,stat" counts the frames matching each
# filter), which keeps the test fast on a loaded machine.  Filters therefore
# must not contain commas.
QF=
Q_DESC=()
Q_FILT=()
Q_OP=()
Q_N=()

queue() { # queue FILE DESCRIPTION FILTER OP N
	[ "$1" = "$QF" ] || flush
	QF=$1
	Q_DESC+=("$2")
	Q_FILT+=("$3")
	Q_OP+=("$4")
	Q_N+=("$5")
}

flush() {
	[ ${#Q_FILT[@]} -gt 0 ] || return 0
	local spec="io,stat,0" i row counts=()
	for i in "${!Q_FILT[@]}"; do
		spec+=",${Q_FILT[$i]}"
	done
	row=$(tshark -n -r "$CAP/$QF" -q -z "$spec" 2>/dev/null | grep '<>' | tail -1)
	read -r -a counts <<<"$(printf '%s\n' "$row" | awk -F'|' -v n=${#Q_FILT[@]} \
		'{for (i = 0; i < n && 3 + 2 * i < NF; i++) printf "%d ", $(3 + 2 * i)}')"
	if [ ${#counts[@]} -ne ${#Q_FILT[@]} ]; then
		bad "$QF: tshark could not evaluate the filters (${#counts[@]} of ${#Q_FILT[@]} counts)"
	else
		for i in "${!Q_FILT[@]}"; do
			local n=${counts[$i]} want=${Q_N[$i]}
			if { [ "${Q_OP[$i]}" = eq ] && [ "$n" -eq "$want" ]; } ||
				{ [ "${Q_OP[$i]}" = ge ] && [ "$n" -ge "$want" ]; }; then
				ok
			else
				bad "$QF: ${Q_DESC[$i]}: $n frames match '${Q_FILT[$i]}', expected ${Q_OP[$i]} $want"
			fi
		done
	fi
	Q_DESC=() Q_FILT=() Q_OP=() Q_N=()
}

# eq FILE DESCRIPTION FILTER EXPECTED: exactly EXPECTED frames match.
eq() { queue "$1" "$2" "$3" eq "$4"; }

# ge FILE DESCRIPTION FILTER MIN: at least MIN frames match.
ge() { queue "$1" "$2" "$3" ge "$4"; }

# fields FILE FILTER FIELD...: the fields of matching frames, one frame a line.
fields() {
	local f=$1 y=$2
	shift 2
	local args=() x
	for x in "$@"; do args+=(-e "$x"); done
	tshark -n -r "$CAP/$f" -Y "$y" -T fields -E occurrence=a -E aggregator=, \
		-E separator='|' "${args[@]}" 2>/dev/null
}

# has TEXT DESCRIPTION PATTERN: TEXT contains a line matching PATTERN (grep -E).
has() {
	if printf '%s\n' "$1" | grep -qE -- "$3"; then ok; else bad "$2: no line matches /$3/"; fi
}

RES=127.0.0.53
STU=127.0.0.10
# A referral: a non-authoritative, answerless NOERROR response with NS records
# in its authority section (a negative answer carries a SOA instead).
REFERRAL='dns.flags.response==1 && dns.flags.authoritative==0 && dns.flags.rcode==0 && dns.count.answers==0 && dns.count.auth_rr>0 && dns.resp.type==2'

for f in dns-resolver-view dns-client-view dns-iterative-client dns-forwarder \
	dns-qname-min smtp-submission smtp-relay smtp-starttls pop3-retrieve \
	imap-retrieve alice-to-bob; do
	if [ -f "$CAP/$f.pcap" ]; then
		size=$(stat -c %s "$CAP/$f.pcap")
		if [ "$size" -lt 1048576 ] && [ "$size" -gt 0 ]; then ok; else bad "$f.pcap: size $size"; fi
		if grep -q "$f.pcap" "$CAP/README.md" 2>/dev/null; then ok; else bad "$f.pcap not described in captures/README.md"; fi
	else
		bad "$f.pcap missing"
	fi
done

# --- dns-resolver-view.pcap ---------------------------------------------------
F=dns-resolver-view.pcap
eq $F "client queries (19 over UDP, 1 TCP retry)" "ip.src==$STU && dns.flags.response==0" 20
eq $F "client answers" "ip.dst==$STU && dns.flags.response==1" 20
eq $F "every client query asks for recursion" "ip.src==$STU && dns.flags.response==0 && dns.flags.recdesired==1" 20
eq $F "the resolver's upstream queries do not ask for recursion" \
	"ip.src==$RES && dns.flags.response==0 && dns.flags.recdesired==1" 0
eq $F "cold lookup: root, example., a.example asked once each for www.a.example" \
	"ip.src==$RES && dns.flags.response==0 && dns.qry.name==\"www.a.example\"" 3
eq $F "cold lookup: the client asked twice (second from the cache)" \
	"ip.src==$STU && dns.flags.response==0 && dns.qry.name==\"www.a.example\"" 2
eq $F "root referral for www.a.example" \
	"$REFERRAL && ip.src==127.0.0.2 && dns.qry.name==\"www.a.example\"" 1
eq $F "example. referral for www.a.example" \
	"$REFERRAL && ip.src==127.0.0.3 && dns.qry.name==\"www.a.example\"" 1
eq $F "referrals overall (root x4, TLD x4)" "$REFERRAL && ip.dst==$RES" 8
eq $F "referrals carry the DS (signed delegations) from the root and example." \
	"$REFERRAL && ip.dst==$RES && dns.resp.type==43" 2
eq $F "NXDOMAIN to the client (nosuch.a.example, www.nosuchdomain.example)" \
	"ip.dst==$STU && dns.flags.rcode==3" 2
eq $F "TC=1: ns1.b.example to the resolver and the resolver to the client" \
	"dns.flags.truncated==1" 2
eq $F "TCP retries of big.b.example (resolver and dig)" \
	"tcp && dns.flags.response==0 && dns.qry.name==\"big.b.example\"" 2
eq $F "the TCP answer to the client holds 12 TXT records" \
	"tcp && ip.dst==$STU && dns.count.answers==12 && dns.qry.type==16" 1
eq $F "a client query with DO (dig +dnssec)" \
	"ip.src==$STU && dns.flags.response==0 && dns.resp.z.do==1" 2
ge $F "DNSKEY fetches by the validating resolver" \
	"ip.src==$RES && dns.flags.response==0 && dns.qry.type==48" 2
for t in 15 16 33 257 35 52 65 64 28 6 48 12 5 46; do
	ge $F "answer of rr type $t to the client" "ip.dst==$STU && dns.resp.type==$t" 1
done
eq $F "CNAME chain: web.b.example -> www.b.example -> b-example.cdn.hosting.test -> edge1" \
	"ip.dst==$STU && dns.qry.name==\"web.b.example\" && dns.count.answers==4" 1
eq $F "glue-less delegation: the resolver resolves ns1.hosting.test from the root" \
	"ip.src==$RES && ip.dst==127.0.0.2 && dns.qry.name==\"ns1.hosting.test\"" 1
eq $F "glue-less referral from lab. has no additional A" \
	"$REFERRAL && ip.src==127.0.0.4 && dns.qry.name==\"www.glueless.lab\" && dns.count.add_rr<=1" 1
eq $F "PTR via the reverse tree (ns1.reverse.lab)" \
	"ip.src==127.0.0.6 && dns.resp.type==12" 1

# --- dns-client-view.pcap -----------------------------------------------------
F=dns-client-view.pcap
eq $F "only client <-> resolver packets" "!(ip.addr==$STU && ip.addr==$RES)" 0
eq $F "20 questions, 20 answers" "dns" 40
eq $F "no referral in the client's view" "$REFERRAL" 0
eq $F "TC=1 then a TCP retry" "dns.flags.truncated==1" 1

# --- dns-iterative-client.pcap ------------------------------------------------
F=dns-iterative-client.pcap
eq $F "three non-recursive queries by hand" \
	"ip.src==$STU && dns.flags.recdesired==0 && dns.qry.name==\"www.a.example\"" 3
eq $F "root and example. refer the client" \
	"$REFERRAL && ip.dst==$STU && dns.qry.name==\"www.a.example\"" 2
eq $F "ns1.a.example answers authoritatively" \
	"ip.src==127.0.0.31 && dns.flags.authoritative==1 && dns.count.answers==1" 1
eq $F "dig +trace starts with . NS at the fake root" \
	"ip.src==$STU && ip.dst==127.0.0.2 && dns.qry.type==2 && dns.qry.name==\"<Root>\"" 1
eq $F "dig +trace follows root -> example. -> b.example" \
	"ip.src==$STU && dns.flags.response==0 && dns.qry.name==\"www.b.example\"" 3
eq $F "the traced answer is the CNAME from ns1.b.example" \
	"ip.src==127.0.0.32 && dns.flags.authoritative==1 && dns.resp.type==5" 1

# --- dns-forwarder.pcap ---------------------------------------------------------
F=dns-forwarder.pcap
eq $F "client asks the forwarder three times" "ip.src==$STU && ip.dst==127.0.0.54 && dns.flags.response==0" 3
eq $F "the forwarder asks the resolver (recursion desired)" \
	"ip.src==127.0.0.54 && ip.dst==$RES && dns.flags.response==0 && dns.flags.recdesired==1" 4
eq $F "the forwarder never asks an authoritative server" \
	"ip.src==127.0.0.54 && !(ip.dst==$RES || ip.dst==$STU)" 0
ge $F "the resolver iterates" "$REFERRAL && ip.dst==$RES" 3

# --- dns-qname-min.pcap ---------------------------------------------------------
F=dns-qname-min.pcap
eq $F "the root is asked only for the TLD" \
	"ip.dst==127.0.0.2 && dns.flags.response==0 && dns.qry.name contains \".\"" 0
eq $F "example. is asked for b.example, not www.b.example" \
	"ip.dst==127.0.0.3 && dns.flags.response==0 && dns.qry.name==\"b.example\"" 1
eq $F "label-by-label: _tcp.mail.a.example then _25._tcp.mail.a.example" \
	"ip.src==$RES && dns.flags.response==0 && (dns.qry.name==\"_tcp.mail.a.example\" || dns.qry.name==\"_25._tcp.mail.a.example\")" 3

# --- smtp-submission.pcap ---------------------------------------------------------
F=smtp-submission.pcap
eq $F "only Alice <-> mail.a.example:587" "!(ip.addr==127.0.0.11 && ip.addr==127.0.0.25 && tcp.port==587)" 0
eq $F "two sessions" "tcp.flags.syn==1 && tcp.flags.ack==0" 2
eq $F "AUTH PLAIN and AUTH LOGIN" "smtp.req.command==\"AUTH\"" 2
eq $F "two successful authentications" "smtp.response.code==235" 2
out=$(fields $F 'smtp.req.command' smtp.req.command)
has "$out" "$F: pipelined MAIL, 3 RCPT and DATA in one segment" '^MAIL,RCPT,RCPT,RCPT,DATA$'
eq $F "two messages queued" "smtp.response.code==250 && smtp.rsp.parameter contains \"queued as\"" 2
eq $F "subjects" "imf.subject==\"Lunch on Friday?\" || imf.subject==\"Holiday photo\"" 2
eq $F "Message-IDs set by the client" "imf.message_id==\"<lunch-0001@a.example>\" || imf.message_id==\"<photo-0002@a.example>\"" 2
ge $F "dot-stuffed body lines" 'tcp.payload contains "\x0d\x0a..this line begins with one dot"' 1
ge $F "the attachment" 'tcp.payload contains "filename=\"holiday.png\""' 1

# --- smtp-relay.pcap ------------------------------------------------------------
F=smtp-relay.pcap
eq $F "mail.a.example asks the resolver for MX b.example" \
	"ip.src==127.0.0.25 && dns.flags.response==0 && dns.qry.type==15 && dns.qry.name==\"b.example\"" 2
eq $F "two relay sessions to mail.b.example:25" "tcp.dstport==25 && tcp.flags.syn==1 && tcp.flags.ack==0" 2
eq $F "mail.b.example checks the client's PTR" \
	"ip.src==127.0.0.26 && dns.flags.response==0 && dns.qry.type==12" 2
eq $F "nosuchuser is rejected with 550 5.1.1" \
	"smtp.response.code==550 && smtp.rsp.parameter contains \"5.1.1 <nosuchuser@b.example>\"" 1
out=$(fields $F 'smtp.req.command' smtp.req.command)
has "$out" "$F: the relay pipelines the envelope" '^MAIL,RCPT,RCPT,RCPT,DATA$'
eq $F "two messages accepted by mail.b.example" "smtp.rsp.parameter contains \"queued as\"" 2

# --- smtp-starttls.pcap -----------------------------------------------------------
F=smtp-starttls.pcap
# (Wireshark 4.0 names the command by its first four letters, "STAR".)
eq $F "STARTTLS" "smtp.command_line contains \"STARTTLS\"" 1
eq $F "220 Ready to start TLS" "smtp.response.code==220 && smtp.rsp.parameter contains \"TLS\"" 1
eq $F "TLS ClientHello" "tls.handshake.type==1" 1
eq $F "no AUTH or MAIL in the clear" "smtp.req.command==\"AUTH\" || smtp.req.command==\"MAIL\"" 0

# --- pop3-retrieve.pcap ------------------------------------------------------------
F=pop3-retrieve.pcap
out=$(fields $F 'pop.request.command' pop.request.command | tr '\n' ' ')
has "$out" "$F: USER PASS STAT LIST UIDL RETR RETR QUIT" '^USER PASS STAT LIST UIDL RETR RETR QUIT $'
eq $F "STAT: 2 messages" "pop.response.description matches \"^2 [0-9]+$\"" 1
eq $F "no DELE" "pop.request.command==\"DELE\"" 0
eq $F "from Bob's laptop to mail.b.example" "!(ip.addr==127.0.0.12 && ip.addr==127.0.0.26)" 0

# --- imap-retrieve.pcap ---------------------------------------------------------------
F=imap-retrieve.pcap
out=$(fields $F 'imap.request.command' imap.request.command | tr '\n' ' ')
has "$out" "$F: CAPABILITY LOGIN SELECT FETCH FETCH FETCH LOGOUT" '^CAPABILITY LOGIN SELECT FETCH FETCH FETCH LOGOUT $'
eq $F "FETCH n (BODY[]) for each message" 'imap.request contains "(BODY[])"' 2
eq $F "the messages come back (headers of both, then each BODY[])" "imf.message_id==\"<lunch-0001@a.example>\" || imf.message_id==\"<photo-0002@a.example>\"" 3
eq $F "from Bob's laptop to mail.b.example" "!(ip.addr==127.0.0.12 && ip.addr==127.0.0.26)" 0

# --- alice-to-bob.pcap -----------------------------------------------------------------
F=alice-to-bob.pcap
eq $F "Alice's laptop looks up mail.a.example" \
	"ip.src==127.0.0.11 && dns.flags.response==0 && dns.qry.name==\"mail.a.example\"" 1
eq $F "Bob's laptop looks up mail.b.example" \
	"ip.src==127.0.0.12 && dns.flags.response==0 && dns.qry.name==\"mail.b.example\"" 1
eq $F "the resolver walks root -> example. -> a.example" "$REFERRAL && ip.dst==$RES && dns.qry.name==\"mail.a.example\"" 2
eq $F "MX lookups by mail.a.example" "ip.src==127.0.0.25 && dns.qry.type==15 && dns.flags.response==0" 2
eq $F "submission sessions" "tcp.dstport==587 && tcp.flags.syn==1 && tcp.flags.ack==0" 2
eq $F "relay sessions" "tcp.dstport==25 && tcp.flags.syn==1 && tcp.flags.ack==0" 2
eq $F "POP3 session" "tcp.dstport==110 && tcp.flags.syn==1 && tcp.flags.ack==0" 1
eq $F "IMAP session" "tcp.dstport==143 && tcp.flags.syn==1 && tcp.flags.ack==0" 1
eq $F "the 550 5.1.1" "smtp.response.code==550" 1
eq $F "RETR" "pop.request.command==\"RETR\"" 2
eq $F "FETCH" "imap.request.command==\"FETCH\"" 3
eq $F "no packet from outside the scenario's addresses" \
	"!(ip.src==127.0.0.2 || ip.src==127.0.0.3 || ip.src==127.0.0.6 || ip.src==127.0.0.11 || ip.src==127.0.0.12 || ip.src==127.0.0.25 || ip.src==127.0.0.26 || ip.src==127.0.0.31 || ip.src==127.0.0.32 || ip.src==127.0.0.53)" 0

flush
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
