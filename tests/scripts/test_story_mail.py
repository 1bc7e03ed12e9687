#!/usr/bin/env python3
# \summary: the mail flows of the real captures against hand-checked stories, and the diagrams
#
# For each captures/<name>.pcap with a tests/golden/story/<name>.mail.json,
# `wiretale analyze -F json` must give the "mail" records listed there, in
# that order, field by field (every field the golden names; hops and claimed
# paths element by element).  The goldens were written by hand from tshark's
# view of each capture (SYN and last FIN frames, DNS query and response
# frames, the frame completing each message) and the scenario in
# scripts/make-captures, not copied from wiretale's output.
#
# Then `wiretale diagram` on alice-to-bob.pcap: the Mermaid text has an
# arrow for every hop with its frame number, and the SVG parses as XML and
# has one arrow per step.
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

WT_BIN = os.environ.get("WT_BIN")
WT_SRC = os.environ.get("WT_SRC")
if not WT_BIN or not WT_SRC:
    print("WT_BIN and WT_SRC must be set (ctest sets them)")
    sys.exit(2)
CAPTURES = os.path.join(WT_SRC, "captures")
GOLDEN = os.path.join(WT_SRC, "tests", "golden", "story")

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


def compare(want, got, path, diffs):
    """Every field of want must be in got with the same value."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            diffs.append("%s: expected an object, got %r" % (path, got))
            return
        for k, v in want.items():
            if k not in got:
                diffs.append("%s.%s: missing" % (path, k))
            else:
                compare(v, got[k], "%s.%s" % (path, k), diffs)
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            diffs.append("%s: expected %d elements, got %s" % (
                path, len(want), len(got) if isinstance(got, list) else repr(got)))
            return
        for i, (w, g) in enumerate(zip(want, got)):
            compare(w, g, "%s[%d]" % (path, i), diffs)
    elif want != got:
        diffs.append("%s: expected %r, got %r" % (path, want, got))


def run(args):
    return subprocess.run([WT_BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def records(pcap, kind):
    p = run(["analyze", "-F", "json", "--no-progress", pcap])
    check(p.returncode == 0, "%s: analyze exit status %d: %s" % (
        pcap, p.returncode, p.stderr.decode(errors="replace")[:300]))
    out = []
    for line in p.stdout.decode().splitlines():
        r = json.loads(line)
        if r.get("type") == kind:
            out.append(r)
    return out


goldens = sorted(f for f in os.listdir(GOLDEN) if f.endswith(".mail.json")) \
    if os.path.isdir(GOLDEN) else []
if not goldens or not os.path.exists(os.path.join(CAPTURES, "alice-to-bob.pcap")):
    print("no mail captures or goldens: skipped")
    sys.exit(77)

for g in goldens:
    name = g[: -len(".mail.json")]
    pcap = os.path.join(CAPTURES, name + ".pcap")
    if not os.path.exists(pcap):
        check(False, "%s: capture missing for golden %s" % (pcap, g))
        continue
    want = json.load(open(os.path.join(GOLDEN, g)))
    got = records(pcap, "mail")
    diffs = []
    compare(want, got, name, diffs)
    check(not diffs, "%s: %d difference(s):\n  %s" % (name, len(diffs), "\n  ".join(diffs[:30])))
    # Every mail record is self-consistent: hops in frame order, roles known.
    roles = {"submission", "mx-lookup", "address-lookup", "relay", "delivery", "retrieval"}
    for m in got:
        frames = [h["first_frame"] for h in m["hops"]]
        check(frames == sorted(frames), "%s %s: hops not in frame order" % (name, m.get("message_id")))
        check(all(h["role"] in roles for h in m["hops"]), "%s: unknown role" % name)

# The text report tells each message's story.
p = run(["analyze", "--no-progress", os.path.join(CAPTURES, "alice-to-bob.pcap")])
text = p.stdout.decode(errors="replace")
check(p.returncode == 0, "analyze text exit status %d" % p.returncode)
for needle in ("Message <lunch-0001@a.example>", "Message <photo-0002@a.example>",
               "submission", "mx-lookup", "relay", "retrieval",
               "The claimed path agrees with the trace."):
    check(needle in text, "text report lacks %r" % needle)

# Diagrams of alice-to-bob.pcap.
pcap = os.path.join(CAPTURES, "alice-to-bob.pcap")
mails = records(pcap, "mail")
p = run(["diagram", pcap])
mer = p.stdout.decode(errors="replace")
check(p.returncode == 0, "diagram (all) exit status %d" % p.returncode)
check(mer.count("```mermaid") >= len(mails), "not one Mermaid block per mail flow")
for i, m in enumerate(mails, 1):
    p = run(["diagram", pcap, "--mail", str(i)])
    check(p.returncode == 0, "diagram --mail %d exit status %d" % (i, p.returncode))
    one = p.stdout.decode(errors="replace")
    check(one.startswith("sequenceDiagram\n"), "mail %d: not a sequenceDiagram" % i)
    arrows = [l for l in one.splitlines() if "->>" in l]
    check(len(arrows) == 2 * len(m["hops"]),
          "mail %d: %d arrows for %d hops" % (i, len(arrows), len(m["hops"])))
    for h in m["hops"]:
        # The request arrow of each hop names its frame (Mermaid's #35; is '#').
        f = h["first_frame"] if h["protocol"] != "smtp" else h["message_frame"]
        check(any(("#35;%d " % f) in a for a in arrows),
              "mail %d: no arrow for the %s hop at frame %d" % (i, h["role"], f))

    p = run(["diagram", pcap, "--mail", str(i), "--format", "svg"])
    check(p.returncode == 0, "diagram --mail %d --format svg exit status %d" % (i, p.returncode))
    try:
        root = ET.fromstring(p.stdout)
        ns = "{http://www.w3.org/2000/svg}"
        check(root.tag == ns + "svg", "mail %d: the root is not <svg>" % i)
        groups = [e for e in root.iter(ns + "g") if e.get("class", "").split()[:1] == ["arrow"]]
        check(len(groups) == 2 * len(m["hops"]),
              "mail %d: SVG has %d arrows for %d hops" % (i, len(groups), len(m["hops"])))
        check(all(g.find(ns + "line") is not None and g.find(ns + "line").get("marker-end")
                  for g in groups), "mail %d: an arrow without a line and head" % i)
        labels = " ".join("".join(g.itertext()) for g in groups)
        for h in m["hops"]:
            f = h["first_frame"] if h["protocol"] != "smtp" else h["message_frame"]
            check(("#%d " % f) in labels, "mail %d SVG: no arrow for frame %d" % (i, f))
    except ET.ParseError as e:
        check(False, "mail %d: the SVG does not parse: %s" % (i, e))

p = run(["diagram", pcap, "--mail", str(len(mails) + 1)])
check(p.returncode == 2, "diagram --mail past the end: exit status %d, not 2" % p.returncode)
p = run(["diagram", pcap, "--format", "png"])
check(p.returncode == 2, "diagram --format png: exit status %d, not 2" % p.returncode)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
