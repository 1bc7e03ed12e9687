#!/usr/bin/env python3
# \summary: differential test: every DNS message as wiretale decodes it versus tshark
"""Differential test: every DNS message as wiretale decodes it versus tshark.

Which files (fixed, so that every run compares the same ones):
  * every capture under $WT_SRC/captures (recursively, .pcap/.pcapng/.cap);
  * when $WT_CORPUS is present, every file its MANIFEST.tsv lists with DNS
    content (has_dns "y:N", i.e. tshark saw N > 0 DNS frames) and under
    MAX_SIZE bytes, ordered by path, at most MAX_CORPUS of them (all 240 of
    today's corpus).  Files are compared in parallel worker processes
    (WT_DNS_WORKERS, default: the number of CPUs, at most 4); nothing depends
    on time, so a slow machine compares the same files, only later.

For each file both tools decode the DNS messages and, frame by frame, we
compare: the header (ID, QR, opcode, AA, TC, RD, RA, AD, CD, rcode), the
section counts, the question (name, type, class) and every RR of the three
sections (name, type, class, TTL, and for A, AAAA, NS, CNAME, PTR, MX,
TXT, SOA and SRV the rdata).  wiretale's side comes from its "dns"
transaction records: the query side (query_frames, questions,
query_counts, query_flags) and the response side (response_frame, flags,
rcode, counts, answers, authority, additional).

A difference is accepted only by
  * a RULE (RULE-ENCAP, RULE-PORT below, each next to the code applying
    it): a general reason wiretale legitimately does not see a message
    tshark shows; every rule says how many differences it accepted;
  * a KNOWN entry: one file (and frames), the text the difference must
    contain, and why.  A KNOWN entry that no longer matches anything in a
    file that was compared is STALE and fails the test: the behaviour it
    excused changed, so the entry must go (or be corrected).
Any other difference fails the test.
Exit 0 pass, 77 skip (no tshark or no wiretale), 1 fail.
"""
import concurrent.futures
import csv
import json
import os
import subprocess
import sys
import time

WT_BIN = os.environ.get("WT_BIN")
WT_SRC = os.environ.get("WT_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
WT_CORPUS = os.environ.get("WT_CORPUS")
MAX_SIZE = 2 * 1024 * 1024
MAX_CORPUS = 300
WORKERS = int(os.environ.get("WT_DNS_WORKERS", "0")) or max(1, min(4, os.cpu_count() or 1))
RUN_TIMEOUT = 300

# The ports wiretale decodes as DNS without being told (RFC 1035, RFC 6762
# mDNS, RFC 4795 LLMNR); others need --dns-port.
WT_DNS_PORTS = {53, 5353, 5355}

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "NULL": 10, "WKS": 11, "PTR": 12, "HINFO": 13,
         "MINFO": 14, "MX": 15, "TXT": 16, "RP": 17, "AFSDB": 18, "SIG": 24, "KEY": 25, "AAAA": 28,
         "LOC": 29, "NXT": 30, "SRV": 33, "NAPTR": 35, "KX": 36, "CERT": 37, "A6": 38, "DNAME": 39,
         "OPT": 41, "APL": 42, "DS": 43, "SSHFP": 44, "IPSECKEY": 45, "RRSIG": 46, "NSEC": 47,
         "DNSKEY": 48, "DHCID": 49, "NSEC3": 50, "NSEC3PARAM": 51, "TLSA": 52, "SMIMEA": 53,
         "HIP": 55, "CDS": 59, "CDNSKEY": 60, "OPENPGPKEY": 61, "CSYNC": 62, "ZONEMD": 63,
         "SVCB": 64, "HTTPS": 65, "SPF": 99, "EUI48": 108, "EUI64": 109, "TKEY": 249,
         "TSIG": 250, "IXFR": 251, "AXFR": 252, "MAILB": 253, "MAILA": 254, "ANY": 255,
         "URI": 256, "CAA": 257, "TA": 32768, "DLV": 32769, "MD": 3, "MF": 4, "MB": 7, "MG": 8,
         "MR": 9, "X25": 19, "ISDN": 20, "RT": 21, "NSAP": 22, "NSAP-PTR": 23, "PX": 26,
         "GPOS": 27, "EID": 31, "NIMLOC": 32, "ATMA": 34, "SINK": 40, "NINFO": 56, "RKEY": 57,
         "TALINK": 58, "UINFO": 100, "UID": 101, "GID": 102, "UNSPEC": 103, "NID": 104,
         "L32": 105, "L64": 106, "LP": 107, "AVC": 258, "DOA": 259, "AMTRELAY": 260}
CLASSES = {"IN": 1, "CH": 3, "HS": 4, "NONE": 254, "ANY": 255}

# KNOWN: differences specific to one file, each with the text every accepted
# difference must contain and the reason.  (path as printed: captures/... for
# the project's own captures, corpus/... for $WT_CORPUS; frames None = any)
KNOWN = [
    # Label types 01 and 10 (RFC 6891 5 / RFC 2673, obsolete): wiretale rejects
    # them (docs/dns.md, Name rules), and rightly stops the message there: the
    # label's length is unknown, so nothing after it can be located.  tshark
    # writes '<unknown extended label>' and reads a type and class from bytes
    # it cannot locate either (types 25441, 17953 ... are noise).
    ("corpus/ndpi/default__fuzz-2006-06-26-2594.pcap", None, "<unknown extended label>",
     "label type 01/10: wiretale rejects the name and stops the message (its length is "
     "unknown); tshark keeps a placeholder and reads on from an arbitrary offset"),

    # The entries below are a wiretale BUG (reported to the DNS parser's
    # owner, src/proto/dns_msg.c read_name): on a name fault whose extent on
    # the wire IS known -- a pointer that does not point backwards (the name's
    # in-place part ends at the pointer), a name over 255 octets made of
    # in-place labels -- the parser stops the whole message, dropping that
    # question/RR and every later one, where tshark keeps the entry under a
    # placeholder name and decodes the rest.  When that is fixed these
    # entries turn STALE and must be removed.
    ("captures/crafted/dns/dns-compression-loop.pcap", {2}, "",
     "BUG: answer owner c0 1e at offset 30 points at itself: wiretale drops the answer "
     "(A 192.0.2.1) and the rest of the message; tshark keeps it under "
     "'<name contains a pointer that loops>'"),
    ("corpus/zeek/dns__dns-invalid-names.pcap", {2}, "<name contains a pointer that loops>",
     "BUG: the query's only question is c0 0c (a pointer to itself) type A class IN: wiretale "
     "drops the question, tshark keeps it under a placeholder"),
    ("corpus/ndpi/default__malformed_dns.pcap", {2, 3, 5, 6}, "",
     "BUG: the 2nd question's name is in-place labels past 255 octets (extent known): wiretale "
     "stops there and loses the answers (www.xt.com A 66.66.66.66 and a CNAME); tshark keeps "
     "the question as '<name too long>' and decodes both answers"),
    ("corpus/tcpdump/dns-badlabel.pcap", {1}, "<name too long>",
     "BUG: the first question's name is over 255 octets: wiretale drops the question "
     "section; tshark keeps '<name too long>' (the message is garbage anyway: qdcount 64259)"),
    ("corpus/tcpdump/dns_fwdptr.pcap", {1}, "<name too long>",
     "BUG: the first question's name ends in a forward pointer (offset 46, to 15107): wiretale "
     "drops the question section; tshark keeps thousands of '<name too long>' questions"),
]


# ------------------------------------------------------------------ rules

# Protocol names (as tshark's frame.protocols spells them) of every layer
# wiretale's capture layer decodes on the way to a DNS message: Ethernet with
# VLAN / QinQ tags, Linux cooked v1/v2, BSD null/loopback, raw IP; IPv4,
# IPv6 with its extension headers, IP-in-IP and IPv6-in-IP; UDP and TCP.
WT_PATH_LAYERS = {"eth", "ethertype", "vlan", "ieee8021ad", "sll", "null", "loop", "raw", "ip", "ipv6",
                  "ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "ah",
                  "udp", "tcp", "vssmonitoring", "eth.fcs"}
DNS_LAYERS = ("dns", "mdns", "llmnr")


def undecoded_layer(protocols):
    """(where, layer) for the first layer on the way to the DNS message that
    wiretale does not decode: where is "link" (before any IP header),
    "ip" (an IP payload protocol: GRE, ICMP ...) or "transport" (carried in
    UDP/TCP: VXLAN, Geneve ...); None when wiretale decodes the whole path."""
    prev = None
    seen_ip = False
    for layer in protocols.split(":"):
        if layer in DNS_LAYERS:
            return None
        if layer not in WT_PATH_LAYERS:
            if prev in ("udp", "tcp"):
                return ("transport", layer)
            return ("ip" if seen_ip else "link", layer)
        seen_ip = seen_ip or layer in ("ip", "ipv6")
        prev = layer
    return None


def rule_encap(ctx, counters):
    """RULE-ENCAP: a message tshark finds in a frame whose path to the DNS
    layer (frame.protocols) goes through a protocol wiretale's capture layer
    does not decode -- a link type (ARCNET, PKTAP, NFLOG, 802.11, PPI ...) or
    a non-IP ethertype (PPPoE, MPLS ...) before the first IP header, an IP
    payload protocol (GRE and ERSPAN, ICMP/ICMPv6 errors quoting a DNS
    datagram ...), or a protocol carried in UDP/TCP that wraps the DNS
    message (VXLAN, Geneve, Teredo tunnels; DNS over HTTP/2).  Accepted only
    if wiretale's own summary of the file agrees it saw such frames and left
    them undecoded: link_unsupported or not_ip for a link-level layer,
    ip_other_proto for an IP payload protocol; a wrapper inside UDP/TCP
    needs no counter (wiretale sees a plain UDP/TCP flow on a port that is
    not DNS's, and the inner message is behind the wrapper's header).
    Returns the reason, or None."""
    und = undecoded_layer(ctx.get("protocols", ""))
    if und is None:
        return None
    where, layer = und
    if where == "link" and counters.get("link_unsupported", 0) + counters.get("not_ip", 0) > 0:
        return "behind %s (link level; wiretale counts link_unsupported/not_ip frames)" % layer
    if where == "ip" and counters.get("ip_other_proto", 0) > 0:
        return "behind %s (an IP payload protocol; wiretale counts ip_other_proto frames)" % layer
    if where == "transport":
        return "wrapped in %s over UDP/TCP" % layer
    return None


def rule_port(ctx, dns_ports):
    """RULE-PORT: a message tshark finds on a datagram/segment neither of
    whose ports (the innermost UDP/TCP header) is a DNS port wiretale knows
    (53, 5353, 5355, or the --dns-port given): tshark called it DNS by
    heuristics (its UDP heuristic dissectors, or a conversation it saw
    carry DNS before); wiretale decodes DNS there only with --dns-port.
    Returns the reason, or None."""
    ports = ctx.get("ports")
    if not ports or any(p in dns_ports for p in ports):
        return None
    return "ports %d/%d (wiretale needs --dns-port)" % ports


def rule_short(ctx):
    """RULE-SHORT: a message tshark shows although the DNS payload is
    shorter than the 12-byte header (tshark's tree has the ID and flags but
    not all four section counts, and the frame is Malformed): wiretale makes
    no message of it and says so.  Accepted only if wiretale warned for that
    frame that the message is shorter than the 12-byte header."""
    if ctx.get("short") and any("shorter than the 12-byte header" in w for w in ctx.get("warnings", ())):
        return "header cut short (wiretale warned DNS_TRUNCATED)"
    return None


def rule_tshark_stop(ctx, what):
    """RULE-TSHARK-STOP: an RR only wiretale shows, in a message tshark
    stopped dissecting early: the frame is Malformed for tshark (an
    exception, e.g. an rdata or EDNS option it reads past its RDLENGTH) and
    tshark shows fewer RRs than the header announces.  wiretale bounds every
    rdata by its RDLENGTH (RFC 1035 4.1.3), shows a bad or undecoded one
    generically (flagged when it finds a fault) and goes on with the next
    RR, which tshark never reaches (corpus zeek/dns__dns-edns-bad-length: an
    OPT of RDLENGTH 1 whose option tshark reads 4 bytes long; ndpi/
    default__fuzz-2006-06-26-2594 frame 684: an NS rdata under type A6)."""
    return bool(what.startswith("RR only in wiretale") and ctx.get("malformed") and ctx.get("cut"))


def type_num(s):
    if s in TYPES:
        return TYPES[s]
    if s.startswith("TYPE"):
        return int(s[4:])
    raise ValueError(s)


def class_num(s):
    if s in CLASSES:
        return CLASSES[s]
    if s.startswith("CLASS"):
        return int(s[5:])
    raise ValueError(s)


C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def unescape(name, tshark=False):
    """Presentation name to a comparable form, lower case.  wiretale writes
    a byte as BIND does, \\DDD in DECIMAL, and other escapes as \\X;
    tshark 4.0 (format_text) writes \\a \\b \\f \\n \\r \\t \\v and other
    non-printable bytes as \\ooo in OCTAL (0x1a is wiretale's \\026, tshark's
    \\032)."""
    if name in (".", "<Root>", ""):
        return "."
    out, i = [], 0
    while i < len(name):
        c = name[i]
        if c == "\\" and i + 3 < len(name) and name[i + 1:i + 4].isdigit():
            out.append(chr(int(name[i + 1:i + 4], 8 if tshark else 10)))
            i += 4
        elif c == "\\" and tshark and name[i + 1:i + 2] in C_ESCAPES:
            out.append(C_ESCAPES[name[i + 1]])
            i += 2
        elif c == "\\" and i + 1 < len(name):
            out.append(name[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    # tshark shows bytes that are not UTF-8 as U+FFFD; we escape them as
    # \\DDD: compare both as '?'
    # (tshark folds a run of bad bytes into one U+FFFD: so do we)
    folded = "".join(ch if ord(ch) < 0x7f else "?" for ch in "".join(out)).lower()
    while "??" in folded:
        folded = folded.replace("??", "?")
    return folded


def tunescape(name):
    return unescape(name, tshark=True)


def pairs_hook(pairs):
    """tshark repeats keys (several messages in one frame, several RRs of the
    same name): keep every value."""
    d = {}
    for k, v in pairs:
        if k in d:
            if not isinstance(d[k], list) or not getattr(d[k], "_multi", False):
                m = Multi([d[k]])
                d[k] = m
            d[k].append(v)
        else:
            d[k] = v
    return d


class Multi(list):
    _multi = True


def as_list(v):
    if v is None:
        return []
    if isinstance(v, Multi):
        return list(v)
    return [v]


def one(d, k, default=None):
    v = d.get(k, default)
    if isinstance(v, Multi):
        return v[0]
    return v


def rdata_tshark(rr, t):
    def g(k, default=None):
        return one(rr, k, default)
    if t == 1:
        return g("dns.a")
    if t == 28:
        return g("dns.aaaa")
    if t == 2:
        return tunescape(g("dns.ns", ""))
    if t == 5:
        return tunescape(g("dns.cname", ""))
    if t == 12:
        return tunescape(g("dns.ptr.domain_name", ""))
    if t == 15:
        return "%s %s" % (g("dns.mx.preference"), tunescape(g("dns.mx.mail_exchange", "")))
    if t == 33:
        return "%s %s %s %s" % (g("dns.srv.priority"), g("dns.srv.weight"), g("dns.srv.port"),
                                tunescape(g("dns.srv.target", g("dns.srv.name", ""))))
    if t == 6:
        return "%s %s %s %s %s %s %s" % (tunescape(g("dns.soa.mname", "")), tunescape(g("dns.soa.rname", "")),
                                         g("dns.soa.serial_number"), g("dns.soa.refresh_interval"),
                                         g("dns.soa.retry_interval"), g("dns.soa.expire_limit"),
                                         g("dns.soa.minimum_ttl"))
    if t == 16:
        return tuple(as_list(rr.get("dns.txt")))
    return None


def txt_strings(data):
    """Our TXT presentation ("a" "b") back to a tuple of strings as tshark shows them."""
    out, i, cur, inq = [], 0, [], False
    while i < len(data):
        c = data[i]
        if not inq:
            if c == '"':
                inq, cur = True, []
            i += 1
            continue
        if c == "\\" and data[i + 1:i + 4].isdigit():
            cur.append(chr(int(data[i + 1:i + 4])))
            i += 4
        elif c == "\\":
            cur.append(data[i + 1])
            i += 2
        elif c == '"':
            out.append("".join(cur))
            inq = False
            i += 1
        else:
            cur.append(c)
            i += 1
    return tuple(out)


def rdata_ours(rr, t):
    d = rr["data"]
    if rr.get("malformed"):
        return None
    if t in (1, 28):
        return d
    if t in (2, 5, 12):
        return unescape(d)
    if t == 15:
        p, n = d.split(" ", 1)
        return "%s %s" % (p, unescape(n))
    if t == 33:
        a = d.split(" ")
        return "%s %s %s %s" % (a[0], a[1], a[2], unescape(a[3]))
    if t == 6:
        a = d.split(" ")
        return " ".join([unescape(a[0]), unescape(a[1])] + a[2:])
    if t == 16:
        return txt_strings(d)
    return None


def tshark_messages(path):
    """{frame: {"msgs": [(layer, message dict), ...], "protocols": frame.protocols,
    "ports": (src, dst) of the innermost UDP/TCP header, "malformed": bool}}
    from tshark -T json
    (single pass, as the test always ran it); None if tshark's output is
    not JSON."""
    r = subprocess.run(["tshark", "-n", "-r", path, "-Y", "dns or mdns or llmnr", "-T", "json",
                        "-J", "frame udp tcp dns mdns llmnr _ws.malformed"],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    try:
        pkts = json.loads(r.stdout or "[]", object_pairs_hook=pairs_hook)
    except ValueError:
        return None
    out = {}
    for p in pkts:
        layers = p["_source"]["layers"]
        frame_layer = one(layers, "frame")
        frame = int(one(frame_layer, "frame.number"))
        protocols = one(frame_layer, "frame.protocols", "")
        # the transport header nearest to the DNS layer (a tunnel or an ICMP
        # error quoting a datagram can add more)
        path = protocols.split(":")
        cut = min([path.index(x) for x in DNS_LAYERS if x in path] or [len(path)])
        inner = [x for x in path[:cut] if x in ("udp", "tcp")]
        ports = None
        if inner:
            a, b = inner[-1] + ".srcport", inner[-1] + ".dstport"
            hdrs = [h for h in as_list(layers.get(inner[-1])) if isinstance(h, dict) and a in h]
            if hdrs:
                ports = (int(one(hdrs[-1], a)), int(one(hdrs[-1], b)))
        msgs = []
        # tshark names the layer mdns on 5353 and llmnr on 5355 (same fields)
        for lay in DNS_LAYERS:
            for dns in as_list(layers.get(lay)):
                if isinstance(dns, dict) and "dns.id" in dns:
                    msgs.append((lay, dns))
        if msgs:
            out[frame] = {"msgs": msgs, "protocols": protocols, "ports": ports,
                          # tshark's dissection of the frame threw (an
                          # exception ends the message where it happened)
                          "malformed": "_ws.malformed" in layers}
    return out


def tshark_sections(dns):
    secs = {}
    for key, name in (("Answers", "an"), ("Authoritative nameservers", "ns"), ("Additional records", "ar"),
                      ("Prerequisites", "an"), ("Updates", "ns")):
        rrs = []
        for block in as_list(dns.get(key)):
            if not isinstance(block, dict):
                continue
            for _k, rr in block.items():
                for one in as_list(rr):
                    rrs.append(one)
        secs.setdefault(name, []).extend(rrs)
    qs = []
    for block in as_list(dns.get("Queries")) + as_list(dns.get("Zone")):
        if not isinstance(block, dict):
            continue
        for _k, q in block.items():
            qs.extend(as_list(q))
    return qs, secs


def tshark_view(dns, mdns):
    """One message as comparable fields.  Classes: the top bit of an mDNS
    class is the unicast-response / cache-flush flag (RFC 6762 5.4, 10.2),
    which both tools take out; in unicast DNS it is part of the class."""
    cmask = 0x7fff if mdns else 0xffff
    fl = dns.get("dns.flags_tree", {})
    qs, secs = tshark_sections(dns)
    hdr = {
        "id": int(dns["dns.id"], 16),
        "qr": fl.get("dns.flags.response") == "1",
        # RFC 2136 2.2: UPDATE names the counts zones, prerequisites, updates
        "counts": (int(dns.get("dns.count.queries", dns.get("dns.count.zones", -1))),
                   int(dns.get("dns.count.answers", dns.get("dns.count.prerequisites", -1))),
                   int(dns.get("dns.count.auth_rr", dns.get("dns.count.updates", -1))),
                   int(dns.get("dns.count.add_rr", -1))),
    }
    for f, k in (("aa", "dns.flags.authoritative"), ("tc", "dns.flags.truncated"), ("rd", "dns.flags.recdesired"),
                 ("ra", "dns.flags.recavail"), ("ad", "dns.flags.authenticated"), ("cd", "dns.flags.checkdisable")):
        if k in fl:
            hdr[f] = fl[k] == "1"
    if "dns.flags.rcode" in fl:
        hdr["rcode4"] = int(fl["dns.flags.rcode"])
    hdr["questions"] = sorted((tunescape(one(q, "dns.qry.name", "")), int(one(q, "dns.qry.type", 0)),
                               int(one(q, "dns.qry.class", "0"), 16) & cmask) for q in qs if isinstance(q, dict))
    rrs = []
    for s, lst in secs.items():
        for rr in lst:
            if not isinstance(rr, dict):
                continue
            t = int(one(rr, "dns.resp.type", 0))
            if t == 41:
                continue
            cls = one(rr, "dns.resp.class")
            if "dns.resp.name" not in rr and "dns.srv.service" in rr:
                # tshark 4.0 splits an SRV owner into service, proto and name
                rr = dict(rr)
                rr["dns.resp.name"] = "%s.%s.%s" % (one(rr, "dns.srv.service"), one(rr, "dns.srv.proto"),
                                                    one(rr, "dns.srv.name"))
            rrs.append((s, tunescape(one(rr, "dns.resp.name", "")), t,
                        int(cls, 16) & cmask if cls else None,
                        int(one(rr, "dns.resp.ttl")) if "dns.resp.ttl" in rr else None,
                        rdata_tshark(rr, t)))
    hdr["rrs"] = rrs
    # the header ended before its 12 bytes (no section counts), or tshark
    # shows fewer RRs (OPT included) than the header announces
    hdr["short"] = -1 in hdr["counts"]
    shown = sum(1 for lst in secs.values() for rr in lst if isinstance(rr, dict))
    hdr["cut"] = shown < sum(max(0, n) for n in hdr["counts"][1:])
    return hdr


RCODE4 = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5,
          "YXDOMAIN": 6, "YXRRSET": 7, "NXRRSET": 8, "NOTAUTH": 9, "NOTZONE": 10, "DSOTYPENI": 11,
          "BADVERS": 16, "BADKEY": 17, "BADTIME": 18, "BADMODE": 19, "BADNAME": 20, "BADALG": 21,
          "BADTRUNC": 22, "BADCOOKIE": 23}


def our_views(records):
    """{frame: [view, ...]} from the dns records."""
    out = {}
    for r in records:
        qs = sorted((unescape(q["name"]), type_num(q["type"]), class_num(q["class"])) for q in r["questions"])
        if r.get("query_frames"):
            c = r["query_counts"]
            for i, f in enumerate(r["query_frames"]):
                # The record describes the first query; a retransmission
                # only shares its ID and question (compared on the first).
                if i == 0:
                    v = {"id": r["id"], "qr": False, "counts": (c["qd"], c["an"], c["ns"], c["ar"]),
                         "questions": qs}
                    v.update({k: r["query_flags"][k] for k in ("aa", "tc", "rd", "ra", "ad", "cd")})
                else:
                    v = {"id": r["id"], "qr": False, "questions": None}
                out.setdefault(f, []).append(v)
        if r.get("response_frame") is not None:
            c = r["counts"]
            rc = r["rcode"]
            rc = RCODE4.get(rc, rc) if isinstance(rc, str) else rc
            v = {"id": r["id"], "qr": True, "counts": (c["qd"], c["an"], c["ns"], c["ar"]),
                 "rcode4": rc & 15, "questions": qs if r["status"] == "unsolicited" else None}
            v.update({k: r["flags"][k] for k in ("aa", "tc", "rd", "ra", "ad", "cd")})
            rrs = []
            for s, key in (("an", "answers"), ("ns", "authority"), ("ar", "additional")):
                for rr in r[key]:
                    t = type_num(rr["type"])
                    if t == 41:
                        continue  # an OPT outside the additional section
                    rrs.append((s, unescape(rr["name"]), t, class_num(rr["class"]), rr["ttl"], rdata_ours(rr, t)))
            v["rrs"] = rrs
            out.setdefault(r["response_frame"], []).append(v)
    return out


def compare_msg(ours, theirs):
    """Differences between one of our views and tshark's view of a message."""
    diffs = []
    for k in ("qr", "counts", "aa", "tc", "rd", "ra", "ad", "cd", "rcode4"):
        if k in ours and k in theirs and ours[k] != theirs[k]:
            diffs.append("%s: wiretale %r, tshark %r" % (k, ours[k], theirs[k]))
    if ours.get("questions") is not None and ours["questions"] != theirs["questions"]:
        diffs.append("questions: wiretale %r, tshark %r" % (ours["questions"], theirs["questions"]))
    if "rrs" in ours:
        a, b = list(ours["rrs"]), list(theirs["rrs"])
        for rr in list(a):
            for cand in b:
                if (rr[:5] == cand[:5] or (rr[:3] == cand[:3] and (cand[3] is None or cand[3] == rr[3])
                                          and (cand[4] is None or cand[4] == rr[4]))) and \
                        (rr[5] is None or cand[5] is None or rr[5] == cand[5]):
                    a.remove(rr)
                    b.remove(cand)
                    break
        for rr in a:
            diffs.append("RR only in wiretale (or different): %r" % (rr,))
        for rr in b:
            diffs.append("RR only in tshark (or different): %r" % (rr,))
    return diffs


def wiretale_records(path, dns_ports):
    """wiretale's dns records, its summary counters and its DNS warnings
    by frame."""
    args = [WT_BIN, "analyze", "--format", "json"]
    for p in sorted(dns_ports - WT_DNS_PORTS):
        args += ["--dns-port", str(p)]
    r = subprocess.run(args + [path], capture_output=True, text=True, timeout=RUN_TIMEOUT)
    recs, counters, warnings = [], {}, {}
    for line in r.stdout.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") == "dns":
            recs.append(o)
        elif o.get("type") == "warning" and o.get("proto") == "dns":
            warnings.setdefault(o.get("frame"), []).append(o.get("message", ""))
        elif o.get("type") == "summary":
            counters = o.get("counters") or {}
    return recs, counters, warnings, r.returncode


def dns_ports_for(path):
    """The crafted capture of a DNS server on port 5300 is read with
    --dns-port 5300, as its README says."""
    return WT_DNS_PORTS | ({5300} if "port-5300" in os.path.basename(path) else set())


def candidates():
    """[(path, name)]: the project's captures, then the corpus's DNS files
    (see the docstring: MANIFEST.tsv has_dns, < MAX_SIZE, by path, at most
    MAX_CORPUS)."""
    files = []
    base = os.path.join(WT_SRC, "captures")
    for root, dirs, fs in os.walk(base):
        dirs.sort()
        for f in sorted(fs):
            if f.endswith((".pcap", ".pcapng", ".cap")):
                p = os.path.join(root, f)
                files.append((p, os.path.relpath(p, WT_SRC)))
    if WT_CORPUS and os.path.isdir(WT_CORPUS):
        listed = []
        manifest = os.path.join(WT_CORPUS, "MANIFEST.tsv")
        if os.path.exists(manifest):
            with open(manifest, encoding="utf-8") as fh:
                for row in csv.DictReader(fh, delimiter="\t"):
                    if not (row.get("has_dns") or "n").startswith("y"):
                        continue
                    if int(row.get("bytes") or 0) >= MAX_SIZE:
                        continue
                    p = os.path.join(WT_CORPUS, row["local_path"])
                    if os.path.isfile(p):
                        listed.append((p, "corpus/" + row["local_path"]))
        files += sorted(listed, key=lambda x: x[1])[:MAX_CORPUS]
    return files


def check_file(path):
    """Compare one file.  Returns (status, problems) with status "pass",
    "fail" or "none" (tshark finds no DNS message) and problems a list of
    (frame, kind, text, ctx, counters) -- kind "only-tshark",
    "only-wiretale" or "differs"; the rules and KNOWN are applied by the
    caller."""
    try:
        theirs = tshark_messages(path)
        if not theirs:
            return "none", []
        dns_ports = dns_ports_for(path)
        recs, counters, warnings, _rc = wiretale_records(path, dns_ports)
    except subprocess.TimeoutExpired as e:
        return "fail", [(0, "error", "timed out: %s" % " ".join(e.cmd[:3]), {}, {})]
    ours = our_views(recs)
    problems = []
    for frame in sorted(set(theirs) | set(ours)):
        ctx = theirs.get(frame, {})
        ctx_small = {"protocols": ctx.get("protocols", ""), "ports": ctx.get("ports"),
                     "malformed": ctx.get("malformed", False), "warnings": warnings.get(frame, [])}
        t_msgs = [tshark_view(d, lay == "mdns") for lay, d in ctx.get("msgs", [])]
        o_msgs = list(ours.get(frame, []))
        for tm in t_msgs:
            best = None
            for om in o_msgs:
                if om["id"] == tm["id"] and om["qr"] == tm["qr"]:
                    d = compare_msg(om, tm)
                    if best is None or len(d) < len(best[1]):
                        best = (om, d)
            mctx = dict(ctx_small, short=tm["short"], cut=tm["cut"])
            if best is not None:
                o_msgs.remove(best[0])
                for x in best[1]:
                    problems.append((frame, "differs", x, mctx))
            else:
                problems.append((frame, "only-tshark", "message id %d qr %d only in tshark"
                                 % (tm["id"], tm["qr"]), mctx))
        for om in o_msgs:
            problems.append((frame, "only-wiretale", "message id %d qr %d only in wiretale"
                             % (om["id"], om["qr"]), ctx_small))
    return ("fail" if problems else "pass"), [p + (counters,) for p in problems]


def safe_check(path):
    try:
        return check_file(path)
    except Exception as e:  # a bug in this test must not hide the other files
        return "fail", [(0, "error", "test error: %r" % (e,), {}, {})]


def main():
    if not WT_BIN or not os.path.exists(WT_BIN):
        print("WT_BIN not set or missing: skipped")
        return 77
    if subprocess.run(["which", "tshark"], capture_output=True).returncode != 0:
        print("tshark not installed: skipped")
        return 77
    start = time.monotonic()
    files = candidates()
    if len(sys.argv) > 1:  # by hand: compare only the files named (paths as printed)
        files = [f for f in files if f[1] in sys.argv[1:]]
    with concurrent.futures.ProcessPoolExecutor(WORKERS) as ex:
        results = list(ex.map(safe_check, [p for p, _ in files]))
    passed = failed = no_dns = 0
    rule_hits = {"RULE-ENCAP": 0, "RULE-PORT": 0, "RULE-SHORT": 0, "RULE-TSHARK-STOP": 0}
    rule_files = {r: set() for r in rule_hits}
    known_hits = [0] * len(KNOWN)
    compared = set()
    for (path, name), (status, problems) in zip(files, results):
        if status == "none":
            no_dns += 1
            continue
        compared.add(name)
        real = []
        for frame, kind, what, ctx, counters in problems:
            if kind == "only-tshark":
                # RULE-ENCAP and RULE-PORT apply only to a message wiretale
                # did not see at all; a message both decode must agree.
                why = rule_encap(ctx, counters)
                if why:
                    rule_hits["RULE-ENCAP"] += 1
                    rule_files["RULE-ENCAP"].add(name)
                    continue
                why = rule_port(ctx, dns_ports_for(path))
                if why:
                    rule_hits["RULE-PORT"] += 1
                    rule_files["RULE-PORT"].add(name)
                    continue
                why = rule_short(ctx)
                if why:
                    rule_hits["RULE-SHORT"] += 1
                    rule_files["RULE-SHORT"].add(name)
                    continue
            if kind == "differs" and rule_tshark_stop(ctx, what):
                rule_hits["RULE-TSHARK-STOP"] += 1
                rule_files["RULE-TSHARK-STOP"].add(name)
                continue
            k = next((i for i, (f, frames, text, _w) in enumerate(KNOWN)
                      if f == name and (frames is None or frame in frames) and text in what), None)
            if k is not None:
                known_hits[k] += 1
                continue
            real.append((frame, what, ctx))
        if real:
            failed += 1
            print("FAIL %s" % name)
            for frame, what, ctx in real[:15]:
                line = "   frame %s: %s%s" % (frame, what,
                                                 "  [%s]" % ctx["protocols"] if ctx.get("protocols") else "")
                print(line if len(line) < 400 else line[:400] + " ...")
            if len(real) > 15:
                print("   ... %d more" % (len(real) - 15))
        else:
            passed += 1
    stale = 0
    for i, (f, frames, text, why) in enumerate(KNOWN):
        if known_hits[i]:
            print("KNOWN %s%s: %d differences: %s" % (f, " frames %s" % sorted(frames) if frames else "",
                                                      known_hits[i], why))
        elif f not in compared:
            print("KNOWN entry %s not used: the file was not compared in this run (corpus absent, or files named by hand)" % f)
        else:
            stale += 1
            print("STALE KNOWN entry %s%s: no such difference any more; remove it: %s"
                  % (f, " frames %s" % sorted(frames) if frames else "", why))
    for r in sorted(rule_hits):
        print("%s accepted %d differences in %d files%s" % (
            r, rule_hits[r], len(rule_files[r]),
            (": " + ", ".join(sorted(rule_files[r]))) if rule_files[r] else ""))
    print("%d files compared (%d had no DNS message for tshark) in %.0f s with %d workers"
          % (len(files), no_dns, time.monotonic() - start, WORKERS))
    if stale:
        print("%d stale KNOWN entries" % stale)
    print("%d passed, %d failed" % (passed, failed + stale))
    return 1 if failed or stale else 0


if __name__ == "__main__":
    sys.exit(main())
