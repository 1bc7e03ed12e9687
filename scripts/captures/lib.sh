# \summary: the servers of the real captures, shared by scripts/make-captures
# and tests/scripts/test_live.sh: a private network namespace with only
# loopback, a fake DNS hierarchy (one nsd per name server, each on its own
# 127.0.0.x), unbound resolvers, two Postfix instances and Dovecot, policy
# routes by uid, and cleanup by PID.  Sourced (bash, as root, Debian 12).
#
# A script that sources this file has two halves:
#   outer: install_packages; wt_ns_run SCRIPT ARGS... creates the network
#          namespace and a scratch directory $WORK, runs
#          "bash SCRIPT --inner $WORK ARGS..." inside it (and inside a private
#          mount namespace), then stops whatever is left in the namespace
#          by PID and deletes it (EXIT trap).
#   inner: W=$1; trap inner_cleanup EXIT; setup_namespace; then build_zones,
#          start_authoritative, fresh_resolver MODE, start_mail ... as needed.
#          Every server is started with spawn, so that inner_cleanup and stop
#          end it by its PID.
#
# Set WT_LOG_TAG before sourcing to name the messages' origin.

CAPLIB_ASSETS=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")

# Fixed addresses of the scenario (documented in captures/README.md).
IP_ROOT=127.0.0.2        # a.root-servers.lab   .
IP_TLD_EXAMPLE=127.0.0.3 # ns1.nic.example      example.
IP_TLD_LAB=127.0.0.4     # ns1.nic.lab          lab.
IP_TLD_TEST=127.0.0.5    # ns1.nic.test         test.
IP_REVERSE=127.0.0.6     # ns1.reverse.lab      in-addr.arpa.
IP_STUDENT=127.0.0.10    # student-laptop.lab   the DNS client
IP_ALICE=127.0.0.11      # alice-laptop.a.example
IP_BOB=127.0.0.12        # bob-laptop.b.example
IP_MAIL_A=127.0.0.25     # mail.a.example       Postfix (submission 587)
IP_MAIL_B=127.0.0.26     # mail.b.example       Postfix (25), Dovecot (110, 143)
IP_NS_A=127.0.0.31       # ns1.a.example        a.example (signed)
IP_NS_B=127.0.0.32       # ns1.b.example        b.example
IP_HOSTING=127.0.0.33    # ns1.hosting.test     hosting.test, glueless.lab
IP_RESOLVER=127.0.0.53   # resolver.lab         unbound, recursive
IP_FORWARDER=127.0.0.54  # forwarder.lab        unbound, forwards to the resolver
UID_MTA_A=60025          # owner of mail.a.example's Postfix (policy route)
UID_MTA_B=60026          # owner of mail.b.example's Postfix (policy route)
UID_VMAIL=60100          # owner of the mailboxes
UID_STUDENT=60010        # the clients on each laptop run as these uids,
UID_ALICE=60011          # so a policy route gives their system resolver
UID_BOB=60012            # lookups the laptop's address

log() { printf '[%s] %s\n' "${WT_LOG_TAG:-make-captures}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Outer part: packages, namespace.
# ---------------------------------------------------------------------------

PACKAGES=(nsd unbound ldnsutils bind9-dnsutils postfix dovecot-core
	dovecot-imapd dovecot-pop3d swaks libnet-ssleay-perl tcpdump openssl
	iproute2 util-linux python3 procps)

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
			|| missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	# A policy-rc.d that exits 101 keeps the packages' system daemons from
	# starting; remove it only if we created it.
	local made_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	echo "postfix postfix/main_mailer_type select No configuration" \
		| debconf-set-selections
	local rc=0
	DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
	[ $rc -eq 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" || rc=$?; }
	[ $made_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || die "apt-get failed"
}

# wt_ns_run SCRIPT ARGS...: runs "bash SCRIPT --inner WORK ARGS..." inside a
# new network namespace and a private mount namespace.  Sets WORK (scratch
# directory, mode 755) and NS; installs outer_cleanup as the EXIT trap.
# Returns the inner script's exit status (124 when WT_NS_TIMEOUT, seconds,
# is set and the inner script ran longer: then it is sent SIGTERM).
wt_ns_run() {
	local script=$1
	shift
	WORK=$(mktemp -d -t wt-captures.XXXXXX)
	chmod 755 "$WORK"
	NS=wtcap$$
	trap outer_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NS"
	log "namespace $NS, scratch $WORK"
	local rc=0 limit=()
	[ -n "${WT_NS_TIMEOUT:-}" ] && limit=(timeout -k 10 "$WT_NS_TIMEOUT")
	"${limit[@]}" ip netns exec "$NS" unshare --mount --propagation private \
		bash "$script" --inner "$WORK" "$@" || rc=$?
	return $rc
}

outer_cleanup() {
	local rc=$? pid
	if [ -n "${NS:-}" ] && ip netns list | grep -qw "$NS"; then
		# Anything still in our namespace was started by this script.
		for pid in $(ip netns pids "$NS" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null || true
		done
		sleep 0.5
		for pid in $(ip netns pids "$NS" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$NS" || true
	fi
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if [ "${WT_CAPTURE_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
			log "scratch directory kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit $rc
}

# ---------------------------------------------------------------------------
# Inner part: runs inside the network namespace and a private mount namespace.
# ---------------------------------------------------------------------------

PIDS=()

# Start a background process, remember its PID. $1 = log name.
spawn() {
	local name=$1
	shift
	"$@" >"$W/log/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_${name//[-.]/_}=$!"
}

# Stop one process started with spawn, by name.
stop() {
	local var="PID_${1//[-.]/_}" pid
	pid=${!var:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	eval "$var="
}

inner_cleanup() {
	local rc=$? pid i
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for i in $(seq 50); do
		local alive=0
		for pid in "${PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	exit $rc
}

# Wait until something listens on ADDR:PORT (proto u or t).
wait_listen() {
	local proto=$1 addr=$2 port=$3 i
	for i in $(seq 100); do
		if [ -n "$(ss -Hln"$proto" "src $addr:$port" 2>/dev/null)" ]; then
			return 0
		fi
		sleep 0.1
	done
	die "nothing listens on $addr:$port/$proto"
}

# A DNS client query: q SOURCE SERVER dig-args...  dig runs as the laptop's
# own uid, so that the lookups it makes through the system resolver (dig
# +trace looks up each name server's address) also leave from the laptop's
# address (policy route by uid, see setup_namespace).
q() {
	local src=$1 server=$2
	shift 2
	as_laptop "$src" dig -b "$src" @"$server" +time=4 +tries=1 "$@" >>"$W/log/dig.log" 2>&1 || true
}

# Run a client program as the uid of the laptop with address $1.
as_laptop() {
	local uid
	uid=$(laptop_uid "$1")
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

laptop_uid() {
	case $1 in
	"$IP_STUDENT") echo $UID_STUDENT ;;
	"$IP_ALICE") echo $UID_ALICE ;;
	"$IP_BOB") echo $UID_BOB ;;
	*) die "no uid for $1" ;;
	esac
}

# ----- private /etc, routing ------------------------------------------------

setup_namespace() {
	ip link set lo up
	# All of 127/8 is local already, but Postfix wants its inet_interfaces
	# address on an interface: give every host of the scenario its address.
	local a
	for a in $IP_ROOT $IP_TLD_EXAMPLE $IP_TLD_LAB $IP_TLD_TEST $IP_REVERSE \
		$IP_STUDENT $IP_ALICE $IP_BOB $IP_MAIL_A $IP_MAIL_B $IP_NS_A $IP_NS_B \
		$IP_HOSTING $IP_RESOLVER $IP_FORWARDER; do
		ip addr add "$a/32" dev lo
	done
	mkdir -p "$W/etc" "$W/log"
	cp /etc/passwd "$W/etc/passwd"
	cp /etc/group "$W/etc/group"
	cat >>"$W/etc/passwd" <<-EOF
	wtmta-a:x:$UID_MTA_A:$UID_MTA_A:mail.a.example Postfix:/nonexistent:/usr/sbin/nologin
	wtmta-b:x:$UID_MTA_B:$UID_MTA_B:mail.b.example Postfix:/nonexistent:/usr/sbin/nologin
	wtvmail:x:$UID_VMAIL:$UID_VMAIL:mailboxes:/nonexistent:/usr/sbin/nologin
	student:x:$UID_STUDENT:$UID_STUDENT:student-laptop.lab:/nonexistent:/usr/sbin/nologin
	alice:x:$UID_ALICE:$UID_ALICE:alice-laptop.a.example:/nonexistent:/usr/sbin/nologin
	bob:x:$UID_BOB:$UID_BOB:bob-laptop.b.example:/nonexistent:/usr/sbin/nologin
	EOF
	cat >>"$W/etc/group" <<-EOF
	wtmta-a:x:$UID_MTA_A:
	wtmta-b:x:$UID_MTA_B:
	wtvmail:x:$UID_VMAIL:
	student:x:$UID_STUDENT:
	alice:x:$UID_ALICE:
	bob:x:$UID_BOB:
	EOF
	printf 'nameserver %s\noptions timeout:4 attempts:2\n' "$IP_RESOLVER" \
		>"$W/etc/resolv.conf"
	# The machine's own name resolves from this file, so that no client
	# (swaks looks it up) asks the scenario's DNS about it.
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$(hostname)" >"$W/etc/hosts"
	local f
	for f in passwd group resolv.conf hosts; do
		mount --bind "$W/etc/$f" "/etc/$f"
	done
	# Postfix's resolver cannot choose its source address: a policy route by
	# uid gives each MTA's DNS queries its own address.  The rule must come
	# before the "local" table, which would otherwise pick 127.0.0.1.
	local pair uid addr table=200
	for pair in $UID_MTA_A:$IP_MAIL_A $UID_MTA_B:$IP_MAIL_B \
		$UID_STUDENT:$IP_STUDENT $UID_ALICE:$IP_ALICE $UID_BOB:$IP_BOB; do
		uid=${pair%%:*} addr=${pair#*:} table=$((table + 1))
		ip rule add pref 10 uidrange "$uid-$uid" lookup $table
		ip route add local 127.0.0.0/8 dev lo src "$addr" table $table
	done
	ip rule add pref 100 lookup local
	ip rule del pref 0 lookup local
}

# The clients run as unprivileged uids: give them copies of their programs
# and messages ($W/clients) they can read wherever the checkout lives.
copy_clients() {
	mkdir -p "$W/clients"
	cp "$CAPLIB_ASSETS"/messages/*.eml "$CAPLIB_ASSETS"/*.py "$W/clients/"
	chmod -R a+rX "$W/clients"
}

# ----- authoritative servers --------------------------------------------------

sign_zone() { # sign_zone ZONE-NAME FILE-STEM
	local zone=$1 stem=$2 key
	(cd "$W/keys" && ldns-keygen -a ECDSAP256SHA256 -k "$zone" >"$stem.keyname")
	key=$(cat "$W/keys/$stem.keyname")
	# example. gets the DS of a.example, the root gets the DS of example.
	ldns-signzone -o "$zone" -f "$W/zones/$stem.zone.signed" \
		"$W/zones/$stem.zone" "$W/keys/$key"
	cp "$W/keys/$key.ds" "$W/keys/$stem.ds"
}

build_zones() {
	mkdir -p "$W/zones" "$W/keys"
	cp "$CAPLIB_ASSETS"/zones/*.zone "$W/zones/"
	# Sign the chain a.example -> example. -> . ; the root's DS is the
	# resolver's trust anchor.
	sign_zone a.example a.example
	cat "$W/keys/a.example.ds" >>"$W/zones/example.zone"
	sign_zone example example
	cat "$W/keys/example.ds" >>"$W/zones/root.zone"
	sign_zone . root
	cp "$W/keys/root.ds" "$W/root.anchor"
	printf '.\t3600000\tIN\tNS\ta.root-servers.lab.\na.root-servers.lab.\t3600000\tIN\tA\t%s\n' \
		"$IP_ROOT" >"$W/root.hints"
}

start_nsd() { # start_nsd NAME ADDR ZONE:FILE...
	local name=$1 addr=$2 conf=$W/nsd-$1.conf z
	shift 2
	cat >"$conf" <<-EOF
	server:
	  ip-address: $addr
	  port: 53
	  server-count: 1
	  do-ip6: no
	  username: ""
	  chroot: ""
	  zonesdir: "$W/zones"
	  database: ""
	  zonelistfile: "$W/nsd-$name.zonelist"
	  xfrdfile: "$W/nsd-$name.xfrd"
	  xfrdir: "$W"
	  pidfile: "$W/nsd-$name.pid"
	  zonefiles-write: 0
	  hide-version: yes
	  refuse-any: yes
	  round-robin: no
	  minimal-responses: no
	  verbosity: 1
	remote-control:
	  control-enable: no
	EOF
	for z in "$@"; do
		printf 'zone:\n  name: "%s"\n  zonefile: "%s"\n' "${z%%:*}" "${z#*:}" >>"$conf"
	done
	nsd-checkconf "$conf"
	spawn "nsd-$name" nsd -d -c "$conf"
}

start_authoritative() {
	start_nsd root "$IP_ROOT" .:root.zone.signed
	start_nsd example "$IP_TLD_EXAMPLE" example:example.zone.signed
	start_nsd lab "$IP_TLD_LAB" lab:lab.zone
	start_nsd test "$IP_TLD_TEST" test:test.zone
	start_nsd reverse "$IP_REVERSE" in-addr.arpa:in-addr.arpa.zone
	start_nsd a "$IP_NS_A" a.example:a.example.zone.signed
	start_nsd b "$IP_NS_B" b.example:b.example.zone
	start_nsd hosting "$IP_HOSTING" hosting.test:hosting.test.zone \
		glueless.lab:glueless.lab.zone
	local a
	for a in $IP_ROOT $IP_TLD_EXAMPLE $IP_TLD_LAB $IP_TLD_TEST $IP_REVERSE \
		$IP_NS_A $IP_NS_B $IP_HOSTING; do
		wait_listen u "$a" 53
		wait_listen t "$a" 53
	done
	# Check each server answers for its zone before any capture.
	local z
	for z in .:$IP_ROOT example:$IP_TLD_EXAMPLE lab:$IP_TLD_LAB \
		test:$IP_TLD_TEST in-addr.arpa:$IP_REVERSE a.example:$IP_NS_A \
		b.example:$IP_NS_B hosting.test:$IP_HOSTING glueless.lab:$IP_HOSTING; do
		dig -b 127.0.0.1 @"${z#*:}" +norec +short +time=2 +tries=3 "${z%%:*}" SOA \
			| grep -q . || die "nsd on ${z#*:} does not serve ${z%%:*}"
	done
}

# ----- resolvers ----------------------------------------------------------------

# start_unbound NAME ADDR MODE  (MODE: recursive | qmin | forward)
start_unbound() {
	local name=$1 addr=$2 mode=$3 conf=$W/unbound-$1.conf qmin=no
	[ "$mode" = qmin ] && qmin=yes
	# A copy of the binary: an enforced AppArmor profile would only allow
	# configurations under /etc/unbound.
	[ -x "$W/bin/unbound" ] || { mkdir -p "$W/bin"; cp /usr/sbin/unbound "$W/bin/unbound"; }
	cat >"$conf" <<-EOF
	server:
	  interface: $addr
	  port: 53
	  outgoing-interface: $addr
	  do-ip4: yes
	  do-ip6: no
	  do-udp: yes
	  do-tcp: yes
	  access-control: 127.0.0.0/8 allow
	  username: ""
	  chroot: ""
	  directory: "$W"
	  pidfile: "$W/unbound-$name.pid"
	  use-syslog: no
	  logfile: ""
	  verbosity: 1
	  num-threads: 1
	  so-reuseport: no
	  outgoing-range: 64
	  do-not-query-localhost: no
	  qname-minimisation: $qmin
	  qname-minimisation-strict: no
	  prefetch: no
	  prefetch-key: no
	  target-fetch-policy: "0 0 0 0 0"
	  use-caps-for-id: no
	  harden-glue: yes
	  aggressive-nsec: no
	  minimal-responses: yes
	  edns-buffer-size: 1232
	  trust-anchor-signaling: no
	  root-key-sentinel: no
	  val-log-level: 2
	  local-zone: "test." nodefault
	  local-zone: "127.in-addr.arpa." nodefault
	  hide-identity: yes
	  hide-version: yes
	EOF
	if [ "$mode" = forward ]; then
		cat >>"$conf" <<-EOF
		  module-config: "iterator"
		forward-zone:
		  name: "."
		  forward-addr: $IP_RESOLVER
		EOF
	else
		cat >>"$conf" <<-EOF
		  module-config: "validator iterator"
		  root-hints: "$W/root.hints"
		  trust-anchor-file: "$W/root.anchor"
		EOF
	fi
	printf 'remote-control:\n  control-enable: no\n' >>"$conf"
	unbound-checkconf "$conf" >"$W/log/unbound-checkconf-$name.log" 2>&1 \
		|| die "bad unbound configuration $conf"
	spawn "unbound-$name" "$W/bin/unbound" -d -c "$conf"
	wait_listen u "$addr" 53
	wait_listen t "$addr" 53
}

# A fresh resolver with only the root primed (from 127.0.0.1, not captured).
fresh_resolver() { # fresh_resolver MODE
	stop unbound-resolver
	start_unbound resolver "$IP_RESOLVER" "$1"
	dig -b 127.0.0.1 @"$IP_RESOLVER" +time=4 +tries=2 . NS >/dev/null \
		|| die "resolver does not answer"
	sleep 0.5
}

# ----- mail ------------------------------------------------------------------------

make_tls() {
	mkdir -p "$W/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 30 -subj "/CN=mail.a.example" -addext "subjectAltName=DNS:mail.a.example" \
		-keyout "$W/tls/mail.a.example.key" -out "$W/tls/mail.a.example.crt" \
		>/dev/null 2>&1
	chmod 644 "$W/tls/mail.a.example.crt"
	chmod 600 "$W/tls/mail.a.example.key"
}

# write_dovecot NAME LISTEN PROTOCOLS PASSWD-LINES
write_dovecot() {
	local name=$1 listen=$2 protocols=$3 users=$4 d=$W/dovecot-$1
	mkdir -p "$d/run" "$d/state"
	printf '%s\n' "$users" >"$d/users"
	chmod 644 "$d/users"
	cat >"$d/dovecot.conf" <<-EOF
	base_dir = $d/run
	state_dir = $d/state
	instance_name = wt-$name
	log_path = $W/log/dovecot-$name-mail.log
	protocols = $protocols
	listen = $listen
	ssl = no
	disable_plaintext_auth = no
	auth_mechanisms = plain login
	first_valid_uid = $UID_VMAIL
	last_valid_uid = $UID_VMAIL
	mail_location = maildir:$W/mail/%d/%n/Maildir
	pop3_uidl_format = %08Xu%08Xv
	passdb {
	  driver = passwd-file
	  args = scheme=PLAIN username_format=%u $d/users
	}
	userdb {
	  driver = static
	  args = uid=$UID_VMAIL gid=$UID_VMAIL home=$W/mail/%d/%n
	}
	service auth {
	  unix_listener auth-client {
	    mode = 0666
	  }
	}
	service imap-login {
	  inet_listener imap {
	    address = $listen
	    port = 143
	  }
	  inet_listener imaps {
	    port = 0
	  }
	}
	service pop3-login {
	  inet_listener pop3 {
	    address = $listen
	    port = 110
	  }
	  inet_listener pop3s {
	    port = 0
	  }
	}
	EOF
	spawn "dovecot-$name" dovecot -F -c "$d/dovecot.conf"
}

# write_postfix NAME ADDR DOMAIN OWNER EXTRA-MAIN.CF MASTER-SERVICES
write_postfix() {
	local name=$1 addr=$2 domain=$3 owner=$4 extra=$5 services=$6 d=$W/postfix-$1
	mkdir -p "$d/conf" "$d/queue" "$d/data"
	chown "$owner" "$d/data"
	cat >"$d/conf/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $d/queue
	data_directory = $d/data
	mail_owner = $owner
	setgid_group = postdrop
	maillog_file_prefixes = $W
	maillog_file = $W/log/postfix-$name-mail.log
	myhostname = mail.$domain
	mydomain = $domain
	myorigin = \$mydomain
	mydestination =
	inet_interfaces = $addr
	inet_protocols = ipv4
	mynetworks = $addr/32
	smtp_bind_address = $addr
	smtp_helo_name = \$myhostname
	smtpd_banner = \$myhostname ESMTP
	alias_maps =
	alias_database =
	local_recipient_maps =
	biff = no
	append_dot_mydomain = no
	virtual_mailbox_domains = $domain
	virtual_mailbox_base = $W/mail
	virtual_mailbox_maps = texthash:$d/conf/vmailbox
	virtual_uid_maps = static:$UID_VMAIL
	virtual_gid_maps = static:$UID_VMAIL
	smtp_tls_security_level = none
	smtp_connection_cache_on_demand = no
	smtpd_error_sleep_time = 0
	delay_warning_time = 0
	$extra
	EOF
	printf '%s\n' "$services" >"$d/conf/master.cf"
	cat >>"$d/conf/master.cf" <<-'EOF'
	pickup    unix  n       -       n       60      1       pickup
	cleanup   unix  n       -       n       -       0       cleanup
	qmgr      unix  n       -       n       300     1       qmgr
	tlsmgr    unix  -       -       n       1000?   1       tlsmgr
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	flush     unix  n       -       n       1000?   0       flush
	proxymap  unix  -       -       n       -       -       proxymap
	smtp      unix  -       -       n       -       -       smtp
	relay     unix  -       -       n       -       -       smtp
	showq     unix  n       -       n       -       -       showq
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	local     unix  -       n       n       -       -       local
	virtual   unix  -       n       n       -       -       virtual
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
	printf '%s\n' "$7" >"$d/conf/vmailbox"
	if ! postfix -c "$d/conf" check >>"$W/log/postfix-$name.log" 2>&1; then
		# Postfix writes its diagnostics to stderr only when it is a tty.
		script -qc "postfix -c $d/conf check" /dev/null >>"$W/log/postfix-$name.log" 2>&1 || true
		die "postfix check failed for $name: $(tail -3 "$W/log/postfix-$name.log")"
	fi
	spawn "postfix-$name" /usr/lib/postfix/sbin/master -c "$d/conf" -s
}

start_mail() {
	make_tls
	mkdir -p "$W/mail/a.example" "$W/mail/b.example"
	chown -R $UID_VMAIL:$UID_VMAIL "$W/mail"
	# Alice's side: Dovecot only authenticates (SASL for Postfix submission).
	write_dovecot a "$IP_MAIL_A" none 'alice@a.example:{PLAIN}alice-secret::::::'
	# Bob's side: Dovecot serves IMAP and POP3 from the Maildirs.
	write_dovecot b "$IP_MAIL_B" "imap pop3" \
		"$(printf '%s\n' 'bob@b.example:{PLAIN}bob-secret::::::' 'carol@b.example:{PLAIN}carol-secret::::::')"
	local i
	for i in $(seq 100); do
		[ -S "$W/dovecot-a/run/auth-client" ] && break
		sleep 0.1
	done
	wait_listen t "$IP_MAIL_B" 110
	wait_listen t "$IP_MAIL_B" 143
	write_postfix a "$IP_MAIL_A" a.example wtmta-a "
smtpd_sasl_type = dovecot
smtpd_sasl_path = $W/dovecot-a/run/auth-client
smtpd_tls_cert_file = $W/tls/mail.a.example.crt
smtpd_tls_key_file = $W/tls/mail.a.example.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination" \
		"submission inet n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject" \
		"alice@a.example a.example/alice/Maildir/"
	write_postfix b "$IP_MAIL_B" b.example wtmta-b "" \
		"smtp      inet  n       -       n       -       -       smtpd" \
		"$(printf '%s\n' 'bob@b.example b.example/bob/Maildir/' 'carol@b.example b.example/carol/Maildir/')"
	wait_listen t "$IP_MAIL_A" 587
	wait_listen t "$IP_MAIL_B" 25
}

maildir_count() { # maildir_count DOMAIN USER
	local d=$W/mail/$1/$2/Maildir
	{ ls "$d/new" "$d/cur" 2>/dev/null || true; } | grep -c -v -e '^$' -e ':$' || true
}

queue_empty() { # queue_empty NAME
	[ -z "$(find "$W/postfix-$1/queue/incoming" "$W/postfix-$1/queue/active" \
		"$W/postfix-$1/queue/deferred" "$W/postfix-$1/queue/maildrop" -type f 2>/dev/null)" ]
}

wait_delivered() { # wait_delivered DOMAIN USER COUNT
	local i
	for i in $(seq 300); do
		if [ "$(maildir_count "$1" "$2")" -ge "$3" ] && queue_empty a && queue_empty b; then
			return 0
		fi
		sleep 0.1
	done
	die "mail for $2@$1 not delivered (see $W/log/postfix-*-mail.log)"
}

swaks_send() { # swaks_send MESSAGE-FILE swaks-args...
	local msg=$1
	shift
	as_laptop "$IP_ALICE" swaks --server "$IP_MAIL_A" --port 587 --local-interface "$IP_ALICE" \
		--helo alice-laptop.a.example --from alice@a.example \
		--timeout 20 --data "@$W/clients/$msg" "$@" \
		>>"$W/log/swaks.log" 2>&1 || die "swaks failed for $msg (see $W/log/swaks.log)"
}

