#!/usr/bin/env python3
# \summary: differential test of the pop3/imap records against tshark's POP and IMAP dissectors
"""
For every capture under $WT_SRC/captures (recursively) and $WT_CORPUS that
carries POP3 or IMAP, compare, per TCP stream and in order, what wiretale
and tshark 4.0 say the client asked and the server answered:

  POP3  client: (frame, command, parameter)   tshark pop.request.command/.parameter
        server: (frame, +OK|-ERR)              tshark pop.response.indicator
  IMAP  client: (frame, tag, command)          tshark imap.request_tag/.request.command
        server: (frame, tag, OK|NO|BAD)        tshark imap.response_tag/.response.status

wiretale runs with --show-secrets so that the credentials tshark shows are
there to compare.  Accepted differences, each for a documented reason:

  TSHARK_IMAP_LITERAL_TAIL  tshark 4.0 skips the bytes of a literal {N} but
      then dissects the rest of the line that announced it (the ")" closing a
      FETCH, or " ENVELOPE ..." after a literal) as a new response whose "tag"
      is its first word and whose status is empty.  Such pseudo-responses
      have no status, so only responses with a status OK/NO/BAD are compared.
  TSHARK_IMAP_LITERAL_SPLIT  when a client command carries a literal
      (LOGIN {5}), tshark reports the text after the literal as a separate
      request; wiretale joins the command across literals.  A tshark request
      whose tag wiretale has no command for is accepted as such only when
      wiretale's next client line, at or after that frame, holds a literal.
  TSHARK_SASL  the continuation "+ ..." of a SASL exchange has no indicator
      in tshark, and the client's SASL responses (base64) are reported by
      tshark's POP dissector as commands.  wiretale keeps them as dialogue
      lines too, so with --show-secrets they compare equal.  IMAP SASL
      responses (and IDLE's "DONE") are untagged lines, which tshark reports
      as requests with the line as "tag": accepted only when wiretale has a
      client line in that very frame that is not a tagged command.
  TSHARK_UID  tshark reports "UID FETCH" as command "UID" (or FETCH with
      imap.request.command.uid set, depending on the line); both are
      normalised to the first word.
  ENCRYPTED  after STARTTLS/STLS is accepted tshark hands the stream to TLS;
      so does wiretale: nothing to compare.

tshark's items are attributed to a wiretale record by port pair and frame
range, not by stream index, so that this test is about the dissectors; a
record whose "stream" differs from tshark's tcp.stream is counted as
STREAM_INDEX (the flow layer's own differential test owns that number:
tshark 4.0, for one, keeps a SYN retransmitted with the same ISN after a
RST in the same stream).

Exit 0 when every compared item matches, 77 when there is nothing to
compare (no tshark, no captures), 1 otherwise.  Bounded: files under 2 MB,
about three minutes in all.
"""
import json
import os
import shutil
import subprocess
import sys
import time

MAX_BYTES = 2 * 1024 * 1024
BUDGET_S = 170
EXTS = (".pcap", ".pcapng", ".cap", ".pcap.gz")


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def candidates():
    """Capture files to look at: all of captures/, and the corpus files its
    MANIFEST marks as carrying IMAP/POP (or all, without a MANIFEST)."""
    out, known = [], []
    src = os.environ.get("WT_SRC")
    if src and os.path.isdir(os.path.join(src, "captures")):
        for root, _, names in os.walk(os.path.join(src, "captures")):
            for n in sorted(names):
                if n.endswith(EXTS):
                    out.append(os.path.join(root, n))
    corpus = os.environ.get("WT_CORPUS")
    if corpus and os.path.isdir(corpus):
        manifest = os.path.join(corpus, "MANIFEST.tsv")
        if os.path.exists(manifest):
            with open(manifest, encoding="utf-8", errors="replace") as f:
                head = f.readline().rstrip("\n").split("\t")
                col = head.index("has_imap_pop") if "has_imap_pop" in head else -1
                for line in f:
                    cells = line.rstrip("\n").split("\t")
                    if col < 0 or (len(cells) > col and cells[col].startswith("y")):
                        out.append(os.path.join(corpus, cells[0]))
                        if col >= 0:
                            known.append(out[-1])
        else:
            for root, _, names in os.walk(corpus):
                for n in sorted(names):
                    if n.endswith(EXTS):
                        out.append(os.path.join(root, n))
    keep = [p for p in out if os.path.isfile(p) and os.path.getsize(p) < MAX_BYTES]
    return keep, [p for p in known if p in keep]


def run(cmd, timeout=60):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def wiretale_records(wt, path):
    p = run([wt, "analyze", "--format", "json", "--show-secrets", path])
    recs = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("type") in ("pop3", "imap"):
            recs.append(r)
    return recs


def tshark_rows(path, fields, display_filter):
    cmd = ["tshark", "-r", path, "-Y", display_filter, "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\x01"]
    for f in fields:
        cmd += ["-e", f]
    p = run(cmd)
    rows = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        cells = line.split("\t")
        cells += [""] * (len(fields) - len(cells))
        rows.append([c.split("\x01") if c else [] for c in cells])
    return rows


def first_word(s):
    return s.split(" ", 1)[0] if s else ""


def belongs(r, ports, frame):
    """Is this tshark row (its two ports, its frame) inside record r?"""
    want = {r["client"]["port"], r["server"]["port"]}
    return set(ports) == want and r["first_frame"] <= frame <= r["last_frame"]


def select(r, rows, stats):
    """tshark's items of the connection of record r."""
    out = {"c": [], "s": [], "pseudo": 0}
    streams = set()
    for ports, stream, fr, s in rows:
        if belongs(r, ports, fr):
            out["c"] += s["c"]
            out["s"] += s["s"]
            out["pseudo"] += s.get("pseudo", 0)
            streams.add(stream)
    if streams and streams != {r["stream"]}:
        stats["STREAM_INDEX"] = stats.get("STREAM_INDEX", 0) + 1
    return out


def pop3_compare(path, recs, stats, fails):
    raw = tshark_rows(path, ["tcp.stream", "tcp.srcport", "tcp.dstport",
                             "frame.number", "pop.request.command",
                             "pop.request.parameter", "pop.response.indicator"],
                      "pop")
    rows = []
    for stream, sp, dp, frame, cmds, params, inds in raw:
        if not stream:
            continue
        fr = int(frame[0])
        s = {"c": [], "s": []}
        rows.append(((int(sp[0]), int(dp[0])), int(stream[0]), fr, s))
        for i, c in enumerate(cmds):
            p = params[i] if i < len(params) else ""
            s["c"].append((fr, c.upper(), p))
        for ind in inds:
            s["s"].append((fr, ind.upper()))
    for r in recs:
        if r["type"] != "pop3" or r.get("tls") and not r.get("starttls"):
            continue
        mine_c, mine_s = [], []
        for d in r["dialogue"]:
            t = d["text"]
            if d["from"] == "client":
                verb, _, rest = t.partition(" ")
                mine_c.append((d["frame"], verb.upper(), rest))
            elif t[:3].upper() == "+OK" or t[:4].upper() == "-ERR":
                mine_s.append((d["frame"], first_word(t).upper()))
        theirs = select(r, rows, stats)
        # tshark splits "CMD param" at the first space and trims; do the same
        theirs_c = [(f, c, p.strip()) for f, c, p in theirs["c"]]
        mine_c = [(f, c, p.strip()) for f, c, p in mine_c]
        if r.get("starttls"):
            # TLS after the STLS answer: neither side decodes more
            cut = r.get("starttls_frame") or 0
            theirs_c = [x for x in theirs_c if x[0] <= cut]
            theirs["s"] = [x for x in theirs["s"] if x[0] <= cut]
            stats["ENCRYPTED"] = stats.get("ENCRYPTED", 0) + 1
        check(path, r["stream"], "pop3 client", mine_c, theirs_c, stats, fails)
        check(path, r["stream"], "pop3 server", mine_s, theirs["s"], stats, fails)


def imap_compare(path, recs, stats, fails):
    raw = tshark_rows(path, ["tcp.stream", "tcp.srcport", "tcp.dstport",
                             "frame.number", "imap.request_tag",
                             "imap.request.command", "imap.response_tag",
                             "imap.response.status"], "imap")
    rows = []
    for stream, sp, dp, frame, rtags, rcmds, stags, sstat in raw:
        if not stream:
            continue
        fr = int(frame[0])
        s = {"c": [], "s": [], "pseudo": max(0, len(stags) - len(sstat))}
        rows.append(((int(sp[0]), int(dp[0])), int(stream[0]), fr, s))
        for i, t in enumerate(rtags):
            c = rcmds[i] if i < len(rcmds) else ""
            s["c"].append((fr, t, first_word(c).upper()))
        # statuses are only present for lines that have one: pair them with
        # the tags that precede them in the same frame, from the end
        j = len(stags) - 1
        for st in reversed(sstat):
            while j >= 0 and stags[j] in (")", "*", "+"):
                j -= 1
            if j < 0:
                break
            s["s"].append((fr, stags[j], st.upper()))
            j -= 1
        s["s"].sort()
    for r in recs:
        if r["type"] != "imap" or r.get("tls") and not r.get("starttls"):
            continue
        tags = set()
        mine_c, mine_s = [], []
        for c in r["commands"]:
            if c.get("command") is not None and c.get("frame") is not None:
                tags.add(c["tag"])
                mine_c.append((c["frame"], c["tag"], first_word(c["command"])))
            if c.get("status") in ("OK", "NO", "BAD") and c.get("response_frame"):
                mine_s.append((c["response_frame"], c["tag"], c["status"]))
        mine_c.sort()
        mine_s.sort()
        theirs = select(r, rows, stats)
        theirs["s"].sort()
        client_lines = sorted((d["frame"], d["text"]) for d in r["dialogue"]
                              if d["from"] == "client")
        cmd_frames = {c["frame"] for c in r["commands"] if c.get("frame")}
        theirs_c = []
        for x in theirs["c"]:
            if x[1] in tags:
                theirs_c.append(x)
                continue
            nxt = next((cl for cl in client_lines if cl[0] >= x[0]), None)
            if nxt and " bytes}" in nxt[1]:
                stats["TSHARK_IMAP_LITERAL_SPLIT"] = stats.get("TSHARK_IMAP_LITERAL_SPLIT", 0) + 1
            elif nxt and nxt[0] == x[0] and (x[0] not in cmd_frames or
                                             not nxt[1].startswith(x[1] + " ")):
                stats["TSHARK_SASL"] = stats.get("TSHARK_SASL", 0) + 1
            else:
                theirs_c.append(x)
        theirs_s = [x for x in theirs["s"] if x[2] in ("OK", "NO", "BAD")]
        stats["TSHARK_IMAP_LITERAL_TAIL"] = stats.get("TSHARK_IMAP_LITERAL_TAIL", 0) + \
            theirs["pseudo"]
        if r.get("starttls") or r.get("compressed"):
            cut = r.get("starttls_frame") or r.get("compress_frame") or 0
            theirs_c = [x for x in theirs_c if x[0] <= cut]
            theirs_s = [x for x in theirs_s if x[0] <= cut]
            stats["ENCRYPTED"] = stats.get("ENCRYPTED", 0) + 1
        check(path, r["stream"], "imap client", mine_c, theirs_c, stats, fails)
        check(path, r["stream"], "imap server", mine_s, theirs_s, stats, fails)


def check(path, stream, what, mine, theirs, stats, fails):
    stats["compared"] = stats.get("compared", 0) + max(len(mine), len(theirs))
    if mine == theirs:
        return
    # report the first difference with some context
    i = 0
    while i < min(len(mine), len(theirs)) and mine[i] == theirs[i]:
        i += 1
    fails.append("%s stream %d %s: first difference at item %d:\n"
                 "    wiretale: %s\n    tshark:   %s"
                 % (os.path.basename(path), stream, what, i,
                    mine[i:i + 3], theirs[i:i + 3]))


def main():
    wt = os.environ.get("WT_BIN")
    if not wt or not os.access(wt, os.X_OK):
        skip("WT_BIN is not set")
    if not shutil.which("tshark"):
        skip("tshark is not installed")
    files, known = candidates()
    if not files:
        skip("no captures (WT_SRC/captures, WT_CORPUS)")
    start = time.time()
    stats, fails = {}, []
    nfiles = 0
    for path in files:
        if time.time() - start > BUDGET_S:
            print("time budget reached after %d files" % nfiles)
            break
        recs = wiretale_records(wt, path)
        if not recs:
            continue
        nfiles += 1
        if any(r["type"] == "pop3" for r in recs):
            pop3_compare(path, recs, stats, fails)
        if any(r["type"] == "imap" for r in recs):
            imap_compare(path, recs, stats, fails)
    if nfiles == 0:
        if known:
            # the corpus MANIFEST says these carry POP3/IMAP
            print("FAIL: no pop3/imap record from %d captures known to carry "
                  "POP3 or IMAP (e.g. %s)" % (len(known), known[0]))
            print("0 passed, 1 failed")
            return 1
        skip("no capture carries POP3 or IMAP")
    for f in fails:
        print("FAIL " + f)
    accepted = ", ".join("%s=%d" % (k, v) for k, v in sorted(stats.items())
                         if k != "compared")
    print("%d files, %d items compared; accepted differences: %s"
          % (nfiles, stats.get("compared", 0), accepted or "none"))
    print("%d passed, %d failed" % (nfiles - len({f.split(' ')[0] for f in fails}),
                                    len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
