#!/usr/bin/env python3
"""Differential test: every DNS message as wiretale decodes it versus tshark.

For every capture under $WT_SRC/captures (recursively) and, when present,
the DNS captures of $WT_CORPUS (files under 2 MB, whole run capped at about
three minutes), both tools decode the DNS messages and, frame by frame, we
compare: the header (ID, QR, opcode, AA, TC, RD, RA, AD, CD, rcode), the
section counts, the question (name, type, class) and every RR of the three
sections (name, type, class, TTL, and for A, AAAA, NS, CNAME, PTR, MX,
TXT, SOA and SRV the rdata).  wiretale's side comes from its "dns"
transaction records: the query side (query_frames, questions,
query_counts, query_flags) and the response side (response_frame, flags,
rcode, counts, answers, authority, additional).

Known differences where tshark is the one that is wrong, or where the two
tools legitimately decide differently, are listed in KNOWN with a reason;
any other difference fails the test.
Exit 0 pass, 77 skip (no tshark or no wiretale), 1 fail.
"""
import json
import os
import subprocess
import sys
import time

WT_BIN = os.environ.get("WT_BIN")
WT_SRC = os.environ.get("WT_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
WT_CORPUS = os.environ.get("WT_CORPUS")
MAX_SIZE = 2 * 1024 * 1024
BUDGET = 170.0  # seconds for the whole test

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

# (capture file name, frame or None for the whole file, what): reason.
KNOWN = {
    ("dns-compression-loop.pcap", 2):
        "the answer's owner name loops: wiretale stops decoding the section at that RR (its "
        "warning gives the offset); tshark keeps the RR under the placeholder name "
        "'<name contains a pointer that loops>'",
    ("dns-tcp-gap.pcap", 6): "after a TCP hole the flow layer holds the out-of-order segment until the "
        "gap is declared with the next segment, so wiretale dates the message one frame later",
    ("dns-tcp-gap.pcap", 7): "same message as frame 6 (see there)",
    ("dnso1tcp-midmiss.pcap", 14): "same as dns-tcp-gap.pcap: the message after the hole is dated "
        "by the frame that declares the gap",
    ("dnso1tcp-midmiss.pcap", 15): "same message as frame 14",
    ("v6.pcap", 137): "tshark decodes the DNS header quoted inside an ICMPv6 error; that is not a "
        "DNS message on the wire and wiretale does not treat it as one",
    ("filter__arcnet-rfc1051-arp-icmp-http.pcap", None): "ARCNET link type: not decoded by wiretale's "
        "capture layer (no DNS reaches the dissector)",
    ("filter__arcnet-rfc1201-arp-icmp-http.pcap", None): "ARCNET link type, as above",
    ("filter__http_PPI.pcap", None): "PPI link type: not decoded by wiretale's capture layer",
    ("default__dns.pcap", 4): "DNS inside PPPoE over two VLAN tags: PPPoE is not decoded by "
        "wiretale's capture layer",
    ("default__dns.pcap", 5): "as frame 4",
    ("default__fuzz-2006-06-26-2594.pcap", None): "a fuzzed capture: tshark decodes as DNS datagrams "
        "between two non-DNS ports (it follows port pairs it saw carry DNS), and keeps questions whose "
        "names use the obsolete label types 01/10 under '<unknown extended label>' where wiretale "
        "reports the name as malformed",
    ("default__malformed_dns.pcap", None): "names over 255 octets: tshark keeps the RRs under "
        "'<name too long>' and goes on; wiretale stops the message there with a warning",
    ("default__vxlan.pcap", None): "DNS inside VXLAN: wiretale's capture layer does not decapsulate "
        "VXLAN",
    ("default__someip_sd_sample.pcap", None): "SOME/IP-SD on UDP 30490 inside PPI: tshark's DNS "
        "heuristic claims it (tshark is wrong: it is not DNS), and the PPI link type is not decoded "
        "by wiretale's capture layer",
    ("default__avast_securedns.pcapng", None): "DNS-formatted payload on UDP port 443: tshark's "
        "heuristics call it DNS; wiretale decodes DNS only on 53, 5353, 5355 and --dns-port",
}


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


def unescape(name):
    """Presentation name to a comparable form: \\DDD and \\X undone, lower case."""
    if name in (".", "<Root>", ""):
        return "."
    out, i = [], 0
    while i < len(name):
        c = name[i]
        if c == "\\" and i + 3 < len(name) + 0 and name[i + 1:i + 4].isdigit():
            out.append(chr(int(name[i + 1:i + 4])))
            i += 4
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
        return unescape(g("dns.ns", ""))
    if t == 5:
        return unescape(g("dns.cname", ""))
    if t == 12:
        return unescape(g("dns.ptr.domain_name", ""))
    if t == 15:
        return "%s %s" % (g("dns.mx.preference"), unescape(g("dns.mx.mail_exchange", "")))
    if t == 33:
        return "%s %s %s %s" % (g("dns.srv.priority"), g("dns.srv.weight"), g("dns.srv.port"),
                                unescape(g("dns.srv.target", g("dns.srv.name", ""))))
    if t == 6:
        return "%s %s %s %s %s %s %s" % (unescape(g("dns.soa.mname", "")), unescape(g("dns.soa.rname", "")),
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
    """{frame: [message dict, ...]} from tshark -T json."""
    r = subprocess.run(["tshark", "-n", "-r", path, "-T", "json", "-J", "frame dns mdns llmnr"],
                       capture_output=True, text=True, timeout=120)
    try:
        pkts = json.loads(r.stdout or "[]", object_pairs_hook=pairs_hook)
    except ValueError:
        return None
    out = {}
    for p in pkts:
        layers = p["_source"]["layers"]
        frame = int(layers["frame"]["frame.number"])
        # tshark names the layer mdns on 5353 and llmnr on 5355 (same fields)
        for dns in as_list(layers.get("dns")) + as_list(layers.get("mdns")) + as_list(layers.get("llmnr")):
            if isinstance(dns, dict) and "dns.id" in dns:
                out.setdefault(frame, []).append(dns)
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


def tshark_view(dns):
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
    hdr["questions"] = sorted((unescape(one(q, "dns.qry.name", "")), int(one(q, "dns.qry.type", 0)),
                               int(one(q, "dns.qry.class", "0"), 16) & 0x7fff) for q in qs if isinstance(q, dict))
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
            rrs.append((s, unescape(one(rr, "dns.resp.name", "")), t,
                        int(cls, 16) & 0x7fff if cls else None,
                        int(one(rr, "dns.resp.ttl")) if "dns.resp.ttl" in rr else None,
                        rdata_tshark(rr, t)))
    hdr["rrs"] = rrs
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


def wiretale_records(path):
    args = [WT_BIN, "analyze", "--format", "json"]
    if "port-5300" in path:
        args += ["--dns-port", "5300"]
    r = subprocess.run(args + [path], capture_output=True, text=True, timeout=120)
    recs = []
    for line in r.stdout.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") == "dns":
            recs.append(o)
    return recs, r.returncode


def candidates():
    files = []
    base = os.path.join(WT_SRC, "captures")
    for root, _d, fs in os.walk(base):
        for f in sorted(fs):
            if f.endswith((".pcap", ".pcapng", ".cap")):
                files.append(os.path.join(root, f))
    if WT_CORPUS and os.path.isdir(WT_CORPUS):
        manifest = os.path.join(WT_CORPUS, "MANIFEST.tsv")
        listed = []
        if os.path.exists(manifest):
            with open(manifest) as fh:
                head = fh.readline().rstrip("\n").split("\t")
                for line in fh:
                    row = dict(zip(head, line.rstrip("\n").split("\t")))
                    if row.get("has_dns", "n:0") not in ("n:0", "") and int(row.get("bytes", "0") or 0) < MAX_SIZE:
                        listed.append(os.path.join(WT_CORPUS, row["local_path"]))
        files += sorted(listed)
    return [f for f in files if os.path.getsize(f) < MAX_SIZE]


def main():
    if not WT_BIN or not os.path.exists(WT_BIN):
        print("WT_BIN not set or missing: skipped")
        return 77
    if subprocess.run(["which", "tshark"], capture_output=True).returncode != 0:
        print("tshark not installed: skipped")
        return 77
    start = time.time()
    passed = failed = skipped = 0
    known_seen = 0
    for path in candidates():
        if time.time() - start > BUDGET:
            skipped += 1
            continue
        name = os.path.basename(path)
        theirs = tshark_messages(path)
        if theirs is None or not theirs:
            continue
        recs, _rc = wiretale_records(path)
        ours = our_views(recs)
        problems = []
        for frame in sorted(set(theirs) | set(ours)):
            t_msgs = [tshark_view(d) for d in theirs.get(frame, [])]
            o_msgs = list(ours.get(frame, []))
            for tm in t_msgs:
                match = None
                best = None
                for om in o_msgs:
                    if om["id"] == tm["id"] and om["qr"] == tm["qr"]:
                        d = compare_msg(om, tm)
                        if best is None or len(d) < len(best[1]):
                            best = (om, d)
                if best is not None:
                    match, d = best
                    o_msgs.remove(match)
                    for x in d:
                        problems.append((frame, x))
                else:
                    problems.append((frame, "message id %d qr %d only in tshark" % (tm["id"], tm["qr"])))
            for om in o_msgs:
                problems.append((frame, "message id %d qr %d only in wiretale" % (om["id"], om["qr"])))
        real = []
        for frame, what in problems:
            reason = KNOWN.get((name, frame)) or KNOWN.get((name, None))
            if reason:
                known_seen += 1
            else:
                real.append((frame, what))
        if real:
            failed += 1
            print("FAIL %s" % path)
            for frame, what in real[:15]:
                print("   frame %s: %s" % (frame, what))
            if len(real) > 15:
                print("   ... %d more" % (len(real) - 15))
        else:
            passed += 1
    print("%d known differences (documented in KNOWN)" % known_seen)
    if skipped:
        print("%d captures not compared: time budget reached" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
