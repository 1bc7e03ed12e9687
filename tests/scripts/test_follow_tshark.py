#!/usr/bin/env python3
# \summary: differential test: wiretale's TCP reassembly and flow records against tshark's
#
# For every capture under $WT_SRC/captures (recursively) and, when present,
# under $WT_CORPUS (public third-party captures; never copied into the
# repository), this test
#
#   1. runs `wiretale follow F --stream all --out-dir D` once and compares,
#      for every TCP stream N, D/N.client and D/N.server byte for byte with
#      the two directions of tshark's `-z follow,tcp,raw,N` (one tshark run
#      per file with one -z per stream);
#   2. runs `wiretale analyze -F json F` and compares each "flow" record
#      with the frames tshark puts in the tcp.stream / udp.stream of the
#      same number (frames and frame bytes in each direction, exactly), and
#      the totals per pair of endpoints with tshark's conversation tables
#      (`-z conv,tcp -z conv,udp`);
#   3. checks that every wiretale flow numbered N joins the same two
#      endpoints as Wireshark's tcp.stream / udp.stream N.
#
# Where tshark and wiretale legitimately differ the rule that accepts the
# difference is next to the code that applies it, tagged ACCEPT-n; the list
# is kept small on purpose:
#   ACCEPT-1  tshark 4.0 writes "[N bytes missing in capture file]" into the
#             follow output for a hole; wiretale writes nothing for a gap
#             (it reports gaps on stderr and in the flow record).
#   ACCEPT-2  segments overlapping with DIFFERENT bytes: tshark's follow
#             lets a later in-order segment replace buffered out-of-order
#             data, wiretale keeps the first data received for every byte
#             (docs/reassembly.md).  Those directions are checked against a
#             first-wins model built from tshark's own per-segment decode.
#   ACCEPT-3  a damaged file (wiretale exit status 4): wiretale stops at the
#             damage while tshark may read on (Wireshark guesses among pcap
#             variants); wiretale's bytes must be a prefix of tshark's and
#             streams and conversations after the stop are not compared.
#   ACCEPT-4  conversation bytes that tshark's table prints cut to a unit
#             ("12 kB" = 12000..12999) are compared within the cut; and the
#             table is compared as totals per pair of endpoints, because
#             tshark 4.0 can put a frame in another conversation of the same
#             endpoints than its own tcp.stream decode does (a SYN retried
#             with a new sequence number: corpus arkime/
#             tcp_handshake_synthetic.pcap); per stream, the exact reference
#             is the tcp.stream / udp.stream of each frame.
#   ACCEPT-6  KNOWN below: corpus files whose difference is a deliberate
#             policy of wiretale's, one reason each; any OTHER problem in
#             such a file still fails, and an entry whose file now passes
#             without it is STALE and fails the test (remove it).
#   ACCEPT-5  frames of a link type wiretale does not decode (FDDI, PKTAP,
#             ...: its summary counts them in "link_unsupported"): streams
#             and conversations tshark finds there and wiretale does not
#             are not failures; everything wiretale did decode is compared.
#
# Which files (fixed, so that every run compares the same ones): every
# capture under $WT_SRC/captures, and every corpus file whose row in
# $WT_CORPUS/MANIFEST.tsv says it carries TCP payload -- SMTP or IMAP/POP
# frames (has_smtp / has_imap_pop "y:N"), or notes naming mail, a TCP edge
# case (why=...tcp-edge, "tcp edge-case"), DNS or LLMNR over TCP, TLS or
# "real TCP traffic" -- at most MAX_FILE bytes, ordered by path, at most
# MAX_CORPUS of them (all 230 of today's corpus).  Files are compared in
# parallel worker processes (WT_FOLLOW_WORKERS, default: the number of
# CPUs, at most 4); nothing depends on time, so a slow machine compares the
# same files, only later.  At most WT_FOLLOW_MAX_STREAMS (200) streams per
# file are followed.
#
# Exit: 0 all compared files passed, 1 some failed, 77 when wiretale or
# tshark is missing.  The closing line is "N passed, M failed".
import concurrent.futures
import csv
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("WT_BIN", "")
SRC = os.path.normpath(os.environ["WT_SRC"]) if os.environ.get("WT_SRC") else ""
CORPUS = os.path.normpath(os.environ["WT_CORPUS"]) if os.environ.get("WT_CORPUS") else ""
MAX_FILE = 5 * 1024 * 1024
MAX_CORPUS = 300
MAX_STREAMS = int(os.environ.get("WT_FOLLOW_MAX_STREAMS", "200"))
WORKERS = int(os.environ.get("WT_FOLLOW_WORKERS", "0")) or max(1, min(4, os.cpu_count() or 1))
RUN_TIMEOUT = 120

# Wireshark never ends a conversation for idleness; neither may wiretale
# here, or its stream numbers would drift from tshark's.
NO_TIMEOUTS = ["--tcp-timeout", "1000000000", "--udp-timeout", "1000000000"]

PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1",  # microseconds
    b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1",  # nanoseconds
    b"\xa1\xb2\xcd\x34", b"\x34\xcd\xb2\xa1",  # Kuznetzov's modified pcap
    b"\x0a\x0d\x0d\x0a",                       # pcapng
}

GAP_RE = re.compile(rb"^\[(\d+) bytes missing in capture file\]\x00?$")


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=RUN_TIMEOUT, **kw)


def norm_ep(text):
    """'192.0.2.1:25', '[2001:db8::1]:25' or '2001:db8::1:25' -> (ip, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    try:
        return (str(ipaddress.ip_address(host)), int(port))
    except ValueError:
        return (host, int(port) if port.isdigit() else -1)


def json_ep(e):
    return (str(ipaddress.ip_address(e["ip"])), int(e["port"]))


# ------------------------------------------------------------------ tshark

def tshark_fields(path, follow_streams=()):
    """Per-packet decode: TCP segments by stream and direction, the
    conversation tables, and the follow output of follow_streams -- one
    tshark run, as tshark's start-up is most of its cost on small files.
    TCP reassembly is off so tcp.payload is always the segment's own
    (captured) bytes; the follow tap is fed every segment whatever that
    preference says (the result equals a run of its own: checked on every
    file of the selection when this was written)."""
    fields = ["frame.number", "tcp.stream", "ip.src", "ipv6.src",
              "tcp.srcport", "tcp.seq_raw", "tcp.payload", "udp.stream",
              "ip.dst", "ipv6.dst", "tcp.dstport", "udp.srcport",
              "udp.dstport", "frame.len"]
    cmd = ["tshark", "-n", "-r", path, "-o", "tcp.desegment_tcp_streams:FALSE",
           "-T", "fields", "-E", "separator=\t", "-E", "occurrence=l"]
    for f in fields:
        cmd += ["-e", f]
    cmd += ["-z", "conv,tcp", "-z", "conv,udp"]
    for n in follow_streams:
        cmd += ["-z", "follow,tcp,raw,%d" % n]
    p = run(cmd)
    segs = {}    # (stream, (ip, port)) -> [(seq, bytes, frame)]
    nstreams = 0
    pairs = {"tcp": {}, "udp": {}}  # stream -> {endpoint, endpoint}
    # stream -> {sending endpoint: [frames, bytes]}, as tshark attributes
    # each frame to a tcp.stream / udp.stream
    acct = {"tcp": {}, "udp": {}}
    conv_text = []
    in_conv = False
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("====") or in_conv:
            in_conv = True
            conv_text.append(line)
            continue
        cols = line.split("\t")
        if len(cols) != len(fields):
            continue
        try:
            src = str(ipaddress.ip_address(cols[2] or cols[3]))
            dst = str(ipaddress.ip_address(cols[8] or cols[9]))
        except ValueError:
            continue
        flen = int(cols[13]) if cols[13].isdigit() else 0
        if cols[7].isdigit() and cols[11].isdigit() and cols[12].isdigit():
            pairs["udp"].setdefault(int(cols[7]), frozenset(
                ((src, int(cols[11])), (dst, int(cols[12])))))
            a = acct["udp"].setdefault(int(cols[7]), {}).setdefault(
                (src, int(cols[11])), [0, 0])
            a[0] += 1
            a[1] += flen
        if not cols[1].isdigit() or not cols[4].isdigit() \
                or not cols[10].isdigit():
            continue
        stream = int(cols[1])
        nstreams = max(nstreams, stream + 1)
        pairs["tcp"].setdefault(stream, frozenset(
            ((src, int(cols[4])), (dst, int(cols[10])))))
        a = acct["tcp"].setdefault(stream, {}).setdefault(
            (src, int(cols[4])), [0, 0])
        a[0] += 1
        a[1] += flen
        if not cols[6] or not cols[5]:
            continue
        try:
            key = (stream, (src, int(cols[4])))
            data = bytes.fromhex(cols[6].replace(":", ""))
            segs.setdefault(key, []).append((int(cols[5]), data, int(cols[0])))
        except ValueError:
            continue
    return {"rc": p.returncode, "stderr": p.stderr.decode("utf-8", "replace"),
            "nstreams": nstreams, "segs": segs, "pairs": pairs,
            "acct": acct,
            "conv": parse_conv("\n".join(conv_text)),
            "follow": parse_follow("\n".join(conv_text))}


CONV_RE = re.compile(
    r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+([\d,]+ \w+)\s+(\d+)\s+([\d,]+ \w+)"
    r"\s+(\d+)\s+([\d,]+ \w+)\s+(-?[\d.]+)\s+([\d.]+)\s*$")
UNITS = {"bytes": 1, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


def parse_bytes(text):
    """'1,234 bytes' -> (1234, 0); '12 kB' -> (12000, 999): tshark 4.0
    truncates to the unit, so 12 kB is 12000..12999 bytes (ACCEPT-4)."""
    num, unit = text.split()
    n = int(num.replace(",", ""))
    mul = UNITS.get(unit, 1)
    return n * mul, mul - 1


def parse_conv(text):
    """tshark's conv tables: {'tcp': [...], 'udp': [...]} in table order.
    Columns: A <-> B, then "<-" (B to A), "->" (A to B), total."""
    out = {"tcp": [], "udp": []}
    cur = None
    for line in text.splitlines():
        if line.startswith("TCP Conversations"):
            cur = "tcp"
        elif line.startswith("UDP Conversations"):
            cur = "udp"
        m = CONV_RE.match(line)
        if cur and m:
            out[cur].append({
                "a": norm_ep(m.group(1)), "b": norm_ep(m.group(2)),
                "b2a_frames": int(m.group(3)), "b2a_bytes": parse_bytes(m.group(4)),
                "a2b_frames": int(m.group(5)), "a2b_bytes": parse_bytes(m.group(6)),
                "start": float(m.group(9)),
            })
    return out


def tshark_follow(path, streams):
    """{stream: {"nodes": [ep0, ep1], "data": [bytes0, bytes1], "gaps": n}}."""
    if not streams:
        return {}, ""
    cmd = ["tshark", "-n", "-r", path, "-q"]
    for n in streams:
        cmd += ["-z", "follow,tcp,raw,%d" % n]
    p = run(cmd)
    return parse_follow(p.stdout.decode("ascii", "replace")), p.stderr.decode("utf-8", "replace")


def parse_follow(text):
    """tshark's -z follow,tcp,raw blocks."""
    res = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("Follow: tcp,raw"):
            cur = {"nodes": [None, None], "chunks": [[], []], "gaps": 0}
        elif cur is None:
            continue
        elif line.startswith("Filter: tcp.stream eq "):
            cur["stream"] = int(line.split()[-1])
        elif line.startswith("Node 0: ") or line.startswith("Node 1: "):
            ep = line[8:]
            cur["nodes"][int(line[5])] = None if ep == ":0" else norm_ep(ep)
        elif line.startswith("===="):
            if "stream" in cur:
                res[cur["stream"]] = {
                    "nodes": cur["nodes"],
                    "data": [b"".join(cur["chunks"][0]), b"".join(cur["chunks"][1])],
                    "gaps": cur["gaps"]}
            cur = None
        elif line.strip():
            d = 1 if line.startswith("\t") else 0
            try:
                chunk = bytes.fromhex(line.strip())
            except ValueError:
                continue
            # ACCEPT-1: tshark's hole marker is not stream data.
            if GAP_RE.match(chunk):
                cur["gaps"] += 1
                continue
            cur["chunks"][d].append(chunk)
    return res


# ------------------------------------------------------- first-wins model

def rel_offsets(segs):
    """Sequence numbers relative to the first segment, unwrapped."""
    base = segs[0][0]
    out = []
    for seq, data, frame in segs:
        r = (seq - base) % (1 << 32)
        if r >= 1 << 31:
            r -= 1 << 32
        out.append((r, data, frame))
    return out


def find_conflict(segs):
    """First pair of segments whose overlapping bytes differ, or None."""
    rel = sorted(rel_offsets(segs), key=lambda s: (s[0], s[2]))
    active = []
    for off, data, frame in rel:
        active = [a for a in active if a[0] + len(a[1]) > off]
        for aoff, adata, aframe in active:
            lo, hi = off, min(aoff + len(adata), off + len(data))
            if adata[lo - aoff:hi - aoff] != data[lo - off:hi - off]:
                return (min(frame, aframe), max(frame, aframe))
        active.append((off, data, frame))
    return None


def first_wins(segs):
    """The bytes a first-data-wins receiver delivers, holes left out."""
    rel = rel_offsets(segs)
    lo = min(o for o, _, _ in rel)
    hi = max(o + len(d) for o, d, _ in rel)
    if hi - lo > 64 * 1024 * 1024:
        return None
    buf = bytearray(hi - lo)
    have = bytearray(hi - lo)
    for off, data, _ in rel:  # arrival order
        s = off - lo
        for i, b in enumerate(data):
            if not have[s + i]:
                buf[s + i] = b
                have[s + i] = 1
    return bytes(b for b, h in zip(buf, have) if h)


# ---------------------------------------------------------------- wiretale

def wt_follow(path, outdir):
    cmd = [BIN, "follow", path, "--stream", "all", "--out-dir", outdir]
    p = run(cmd + NO_TIMEOUTS)
    if p.returncode == 2:  # the timeout options are analyze-only
        p = run(cmd)
    return p


def wt_flows(path):
    p = run([BIN, "analyze", "-F", "json"] + NO_TIMEOUTS + [path])
    flows = []
    summary = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("type") == "flow":
            flows.append(rec)
        elif rec.get("type") == "summary":
            summary = rec
    return p, merge_continued(flows), summary


def merge_continued(flows):
    """A flow record with "continued" carries late packets of a flow that
    had ended (same stream number, as Wireshark keeps it): add it to the
    record it continues, so one record stands for one tcp/udp.stream."""
    first = {}
    out = []
    for f in flows:
        key = (f.get("transport"), f.get("stream"))
        if f.get("continued") and key in first:
            base = first[key]
            for k in ("packets", "bytes"):
                for d in ("to_server", "to_client"):
                    base[k][d] += f[k][d]
            base["last_frame"] = max(base["last_frame"], f["last_frame"])
            continue
        first[key] = f
        out.append(f)
    return out


def read_or_empty(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def show(data, at):
    return data[max(0, at - 8):at + 24]


# ------------------------------------------------------------- per file

def compare_streams(path, ts, follow, wt_dir, flows_by_stream, damaged,
                    unsupported, probs):
    """Returns how many stream directions were compared."""
    compared = 0
    for n in sorted(follow):
        t = follow[n]
        wt = [read_or_empty(os.path.join(wt_dir, "%d.client" % n)),
              read_or_empty(os.path.join(wt_dir, "%d.server" % n))]
        flow = flows_by_stream.get(n)
        if flow is None:
            if damaged or unsupported or \
                    (not t["data"][0] and not t["data"][1] and not any(wt)):
                continue  # ACCEPT-3, ACCEPT-5, or nothing to compare
            probs.append("stream %d: tshark has it, wiretale has no flow "
                         "record for it" % n)
            continue
        client = json_ep(flow["client"])
        # Which tshark node is wiretale's client?
        if t["nodes"][0] == client:
            tdir = {0: 0, 1: 1}
        elif t["nodes"][1] == client:
            tdir = {0: 1, 1: 0}
        elif t["nodes"][0] is None:
            tdir = {0: 0, 1: 1}  # tshark saw no payload at all
        else:
            probs.append("stream %d: endpoints differ: tshark %s <-> %s, "
                         "wiretale client %s (stream numbering?)"
                         % (n, t["nodes"][0], t["nodes"][1], client))
            continue
        for d, name in ((0, "client"), (1, "server")):
            mine, theirs = wt[d], t["data"][tdir[d]]
            compared += 1
            if mine == theirs:
                continue
            if damaged and theirs.startswith(mine):
                continue  # ACCEPT-3
            # ACCEPT-2: conflicting overlaps in this direction.
            src = client if d == 0 else json_ep(flow["server"])
            segs = ts["segs"].get((n, src))
            conflict = find_conflict(segs) if segs else None
            if conflict:
                model = first_wins(segs)
                if model == mine:
                    continue
                at = first_diff(mine, model or b"")
                probs.append(
                    "stream %d %s->: overlapping segments differ (frames %d and "
                    "%d) and wiretale's bytes match neither tshark nor the "
                    "first-wins model: first difference at offset %d "
                    "(wiretale %d bytes, model %s bytes): wiretale %r model %r"
                    % (n, name, conflict[0], conflict[1], at, len(mine),
                       len(model) if model is not None else "?",
                       show(mine, at), show(model or b"", at)))
                continue
            at = first_diff(mine, theirs)
            probs.append(
                "stream %d %s->: first differing byte at offset %d (wiretale "
                "%d bytes, tshark %d bytes%s): wiretale %r tshark %r"
                % (n, name, at, len(mine), len(theirs),
                   ", tshark saw %d holes" % t["gaps"] if t["gaps"] else "",
                   show(mine, at), show(theirs, at)))
    return compared


def flow_label(tr, f):
    c, v = json_ep(f["client"]), json_ep(f["server"])
    return "%s stream %s %s:%d <-> %s:%d" % (tr, f.get("stream"), c[0], c[1],
                                             v[0], v[1])


def compare_flows(acct, flows, damaged, unsupported, probs):
    """Each wiretale flow record against the frames tshark puts in the
    tcp.stream / udp.stream of the same number: frames and frame bytes in
    each direction, exactly."""
    compared = 0
    seen = {"tcp": set(), "udp": set()}
    for f in flows:
        tr, n = f.get("transport"), f.get("stream")
        if tr not in acct or n not in acct[tr]:
            continue  # compare_numbers reports it
        seen[tr].add(n)
        compared += 1
        per = acct[tr][n]
        for label, ep, key in (("to_server", json_ep(f["client"]), "to_server"),
                               ("to_client", json_ep(f["server"]), "to_client")):
            frames, nbytes = per.get(ep, [0, 0])
            wf, wb = f["packets"][key], f["bytes"][key]
            if damaged and wf <= frames:
                continue  # ACCEPT-3
            if wf != frames or wb != nbytes:
                probs.append("%s %s: tshark %d frames %d bytes, wiretale %d "
                             "frames %d bytes" % (flow_label(tr, f), label,
                                                  frames, nbytes, wf, wb))
    if not damaged and not unsupported:  # ACCEPT-3, ACCEPT-5
        for tr in ("tcp", "udp"):
            for n in sorted(set(acct[tr]) - seen[tr])[:5]:
                probs.append("%s.stream %d (%s): no wiretale flow record"
                             % (tr, n, sorted(acct[tr][n])))
    return compared


def compare_conv(conv, flows, damaged, unsupported, probs):
    """tshark's conversation tables against the flow records, as totals per
    pair of endpoints.  Totals, because tshark 4.0's table can put a frame
    in another conversation of the same endpoints than its own tcp.stream
    decode does (a SYN retried with a new sequence number); the per-stream
    comparison above is the exact one."""
    for tr in ("tcp", "udp"):
        tot_t, tot_w = {}, {}
        for c in conv[tr]:
            t = tot_t.setdefault(frozenset((c["a"], c["b"])), {})
            for src, fr, (by, tol) in ((c["a"], c["a2b_frames"], c["a2b_bytes"]),
                                       (c["b"], c["b2a_frames"], c["b2a_bytes"])):
                x = t.setdefault(src, [0, 0, 0])
                x[0] += fr
                x[1] += by
                x[2] += tol
        for f in flows:
            if f.get("transport") != tr:
                continue
            cli, srv = json_ep(f["client"]), json_ep(f["server"])
            w = tot_w.setdefault(frozenset((cli, srv)), {})
            for src, key in ((cli, "to_server"), (srv, "to_client")):
                x = w.setdefault(src, [0, 0])
                x[0] += f["packets"][key]
                x[1] += f["bytes"][key]
        for pair in sorted(set(tot_t) | set(tot_w), key=str):
            t, w = tot_t.get(pair, {}), tot_w.get(pair, {})
            for src in sorted(set(t) | set(w)):
                fr, by, tol = t.get(src, [0, 0, 0])
                wf, wb = w.get(src, [0, 0])
                if damaged and wf <= fr:
                    continue  # ACCEPT-3
                if unsupported and pair not in tot_w:
                    continue  # ACCEPT-5
                if wf != fr or not by <= wb <= by + tol:
                    dst = sorted(e for e in pair if e != src) or [src]
                    probs.append("%s conversation %s:%d -> %s:%d: tshark's "
                                 "table %d frames %d%s bytes, wiretale %d "
                                 "frames %d bytes"
                                 % (tr, src[0], src[1], dst[0][0], dst[0][1],
                                    fr, by, "+" if tol else "", wf, wb))


def compare_numbers(pairs, flows, damaged, probs):
    """Stream numbers: wiretale's tcp/udp stream N must join the same two
    endpoints as Wireshark's tcp.stream / udp.stream N."""
    for f in flows:
        tr, n = f.get("transport"), f.get("stream")
        if tr not in pairs or n is None:
            continue
        want = pairs[tr].get(n)
        got = frozenset((json_ep(f["client"]), json_ep(f["server"])))
        if want is None:
            if not damaged:
                probs.append("%s stream %d (%s): tshark has no %s.stream %d"
                             % (tr, n, sorted(got), tr, n))
        elif want != got:
            probs.append("%s stream %d: wiretale %s, tshark %s (numbering "
                         "differs from Wireshark's)" % (tr, n, sorted(got),
                                                       sorted(want)))


def check_file(path):
    """Returns (status, summary, problems); status 'pass'/'fail'/'skip'."""
    probs = []
    with tempfile.TemporaryDirectory(prefix="wt-follow-") as d:
        # wiretale first (cheap): the streams it saw payload on are followed
        # in tshark's one decoding run; streams only tshark saw payload on
        # are followed in a second run (rare).  A stream without payload on
        # either side has nothing to follow.
        pf = wt_follow(path, d)
        if pf.returncode not in (0, 4):
            return "fail", "wiretale follow exit %d" % pf.returncode, \
                [pf.stderr.decode("utf-8", "replace").strip()[-600:]]
        pa, flows, wsum = wt_flows(path)
        if pa.returncode not in (0, 4):
            return "fail", "wiretale analyze exit %d" % pa.returncode, \
                [pa.stderr.decode("utf-8", "replace").strip()[-600:]]
        wt_payload = set()
        for fn in os.listdir(d):
            n, _, ext = fn.partition(".")
            if n.isdigit() and ext in ("client", "server") and \
                    os.path.getsize(os.path.join(d, fn)) > 0:
                wt_payload.add(int(n))
        ts = tshark_fields(path, sorted(n for n in wt_payload if n < MAX_STREAMS))
        if ts["nstreams"] == 0 and not ts["conv"]["tcp"] and not ts["conv"]["udp"] \
                and ts["rc"] != 0:
            return "skip", "tshark cannot read it", []
        t_payload = {k[0] for k in ts["segs"]}
        more = sorted(n for n in t_payload - set(ts["follow"]) if n < MAX_STREAMS)
        if more:
            ts["follow"].update(tshark_follow(path, more)[0])
        # the first MAX_STREAMS of tshark's streams, as before
        follow = {n: v for n, v in ts["follow"].items() if n < min(ts["nstreams"], MAX_STREAMS)}
        damaged = pf.returncode == 4 or pa.returncode == 4
        unsupported = (wsum.get("counters") or {}).get("link_unsupported", 0) > 0
        by_stream = {f["stream"]: f for f in flows if f.get("transport") == "tcp"}
        ndir = compare_streams(path, ts, follow, d, by_stream, damaged,
                               unsupported, probs)
    nconv = compare_flows(ts["acct"], flows, damaged, unsupported, probs)
    compare_conv(ts["conv"], flows, damaged, unsupported, probs)
    compare_numbers(ts["pairs"], flows, damaged, probs)
    summary = "%d TCP streams (%d directions%s), %d flows%s" % (
        ts["nstreams"], ndir,
        ", first %d only" % MAX_STREAMS if ts["nstreams"] > MAX_STREAMS else "",
        nconv, ", damaged file" if damaged else "",
        ) + (", unsupported link type frames" if unsupported else "")
    return ("fail" if probs else "pass"), summary, probs


# ------------------------------------------------------------ file lists

def is_capture(p):
    """A pcap/pcapng file of at most MAX_FILE bytes."""
    try:
        if os.path.getsize(p) > MAX_FILE or os.path.getsize(p) < 24:
            return False
        with open(p, "rb") as f:
            return f.read(4) in PCAP_MAGICS
    except OSError:
        return False


def capture_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in sorted(filenames):
            p = os.path.join(dirpath, fn)
            if is_capture(p):
                out.append(p)
    return out


def tcp_row(row):
    """True when a MANIFEST.tsv row says the file carries TCP payload."""
    notes = row.get("notes", "")
    return ((row.get("has_smtp") or "n").startswith("y")
            or (row.get("has_imap_pop") or "n").startswith("y")
            or any(k in notes for k in ("why=mail", "mail:", "tcp-edge", "tcp edge-case",
                                        "DNS over TCP", "over TCP", "TLS",
                                        "real TCP traffic")))


def corpus_selection(root):
    """The corpus files compared (see the head of this file)."""
    out = []
    try:
        with open(os.path.join(root, "MANIFEST.tsv"), encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if tcp_row(row) and int(row.get("bytes") or 0) <= MAX_FILE:
                    out.append(row["local_path"])
    except OSError:
        return []
    return [p for p in (os.path.join(root, lp) for lp in sorted(out)[:MAX_CORPUS]) if is_capture(p)]


# ACCEPT-6: corpus file -> (what differs, the substring every problem of the
# file must contain to be accepted, why wiretale is right or chooses so).
KNOWN = {
    "corpus/zeek/tcp__reassembly.pcap": (
        "client direction from offset 11894",
        "stream 0 client->",
        "the server acknowledged bytes the capture had not shown yet, so "
        "wiretale declared them lost (a gap, reported) and drops the late "
        "retransmission that carries them: a record never changes after "
        "it was written (docs/reassembly.md, Gaps)"),
    "corpus/arkime/tcpseq_synthetic.pcap": (
        "client direction from offset 8",
        "stream 0 client->",
        "a crafted segment 240 MB ahead of the stream: tshark's follow "
        "never shows data after a hole that is never filled; wiretale "
        "reports the hole as a gap and hands up the data after it"),
}


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("SKIP: WT_BIN is not set or not executable")
        return 77
    if not shutil.which("tshark"):
        print("SKIP: tshark is not installed")
        return 77
    own = capture_files(os.path.join(SRC, "captures")) if SRC else []
    corpus = []
    if CORPUS and os.path.isdir(CORPUS):
        corpus = corpus_selection(CORPUS)
    if not own and not corpus:
        print("SKIP: no captures found")
        return 77

    start = time.monotonic()
    queue = own + corpus
    if len(sys.argv) > 1:  # by hand: compare only the files named (as printed)
        queue = [p for p in queue if label(p) in sys.argv[1:]]
    with concurrent.futures.ProcessPoolExecutor(WORKERS) as ex:
        results = dict(zip(queue, ex.map(safe_check, queue)))

    passed = failed = skipped = 0
    for path in queue:
        status, summary, probs = results[path]
        name = label(path)
        if status == "skip":
            skipped += 1
            print("SKIP %s: %s" % (name, summary))
            continue
        if status == "pass":
            passed += 1
            print("PASS %s: %s" % (name, summary))
        elif name in KNOWN and probs and all(KNOWN[name][1] in pr for pr in probs):
            passed += 1
            print("KNOWN %s: %s: %s" % (name, KNOWN[name][0], KNOWN[name][2]))
        else:
            failed += 1
            print("FAIL %s: %s" % (name, summary))
            for pr in probs[:12]:
                print("    " + pr)
            if len(probs) > 12:
                print("    ... and %d more" % (len(probs) - 12))
    # A KNOWN entry whose file was compared and passed without it no longer
    # describes wiretale: it must go.
    stale = [n for n in sorted(KNOWN)
             if any(label(p) == n and results[p][0] == "pass" for p in queue)]
    for n in stale:
        print("STALE KNOWN entry %s: its difference (%s) no longer happens; remove it"
              % (n, KNOWN[n][0]))
    print("%d files compared in %.0f s with %d workers" % (len(queue), time.monotonic() - start,
                                                          WORKERS))
    failed += len(stale)
    print("%d passed, %d failed (%d skipped)" % (passed, failed, skipped))
    return 1 if failed else 0


def label(path):
    """A file as printed: captures/... or corpus/..."""
    if CORPUS and path.startswith(os.path.join(CORPUS, "")):
        return "corpus/" + os.path.relpath(path, CORPUS)
    return os.path.relpath(path, SRC)


def safe_check(path):
    try:
        return check_file(path)
    except subprocess.TimeoutExpired as e:
        return "fail", "timed out: %s" % " ".join(e.cmd[:3]), []
    except Exception as e:  # a bug in this test must not hide the others
        return "fail", "test error: %r" % (e,), []


if __name__ == "__main__":
    sys.exit(main())
