#!/usr/bin/env python3
"""Every record wiretale writes, on every capture we have, validates against
its JSON Schema in docs/schema/<type>.schema.json.

Reads the project's captures (captures/, recursively) and, where present, the
shared public corpus (WT_CORPUS), which is skipped cleanly when absent.  A
record type without a schema file is a failure: the schema is the contract.
"""
import json
import os
import pathlib
import subprocess
import sys

try:
    import jsonschema
except ImportError:  # scripts/test installs python3-jsonschema
    print("python3-jsonschema is not installed: skipped")
    sys.exit(77)

BIN = os.environ["WT_BIN"]
SRC = pathlib.Path(os.environ["WT_SRC"])
CORPUS = pathlib.Path(os.environ.get("WT_CORPUS", "/nonexistent"))
MAX_CORPUS_BYTES = 2 << 20


def captures():
    for p in sorted((SRC / "captures").rglob("*")):
        if p.suffix in (".pcap", ".pcapng", ".cap") and p.is_file():
            yield p
    if CORPUS.is_dir():
        yield from corpus_selection()


def corpus_selection():
    """Every corpus capture that carries DNS or mail (MANIFEST.tsv says
    which), and every fourth of the others (link types, damaged files, TCP
    edge cases), so the test stays within a few minutes on two cores."""
    manifest = CORPUS / "MANIFEST.tsv"
    rows = []
    if manifest.is_file():
        lines = manifest.read_text().splitlines()
        head = lines[0].split("\t")
        for line in lines[1:]:
            rows.append(dict(zip(head, line.split("\t"))))
    else:
        rows = [{"local_path": str(p.relative_to(CORPUS))} for p in sorted(CORPUS.rglob("*.pcap*"))]
    others = 0
    for row in rows:
        p = CORPUS / row["local_path"]
        if not p.is_file() or p.stat().st_size > MAX_CORPUS_BYTES:
            continue
        proto = any(row.get(k, "").startswith("y") for k in ("has_dns", "has_smtp", "has_imap_pop"))
        if not proto:
            others += 1
            if others % 4:
                continue
        yield p


def main():
    schemas = {}
    for f in (SRC / "docs" / "schema").glob("*.schema.json"):
        s = json.loads(f.read_text())
        jsonschema.Draft7Validator.check_schema(s)
        schemas[f.name[: -len(".schema.json")]] = jsonschema.Draft7Validator(s)
    passed = failed = 0
    seen_types = {}
    for cap in captures():
        r = subprocess.run([BIN, "analyze", "-F", "json", "--no-progress", str(cap)],
                           capture_output=True, timeout=300)
        if r.returncode not in (0, 3, 4):
            print(f"FAIL {cap}: exit {r.returncode}: {r.stderr[-500:]!r}")
            failed += 1
            continue
        errors = []
        lines = r.stdout.decode("utf-8").splitlines()
        if r.returncode != 3 and (not lines or json.loads(lines[-1]).get("type") != "summary"):
            errors.append("the last record is not the summary")
        for n, line in enumerate(lines, 1):
            rec = json.loads(line)
            t = rec.get("type")
            seen_types[t] = seen_types.get(t, 0) + 1
            v = schemas.get(t)
            if v is None:
                errors.append(f"line {n}: no schema for type {t!r}")
                continue
            for e in v.iter_errors(rec):
                errors.append(f"line {n} ({t}): {'/'.join(map(str, e.path))}: {e.message[:200]}")
        if errors:
            failed += 1
            print(f"FAIL {cap}:")
            for e in errors[:10]:
                print("   ", e)
        else:
            passed += 1
    print("record types seen:", json.dumps(seen_types, sort_keys=True))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
