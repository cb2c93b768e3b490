#!/usr/bin/env python3
"""Adds up what the test programs ran, from meson's JSON test logs.

Arguments: KIND=PATH, one per kind of run (unit+integration, the same under
ASan, fuzz, packages, e2e), each PATH a meson JSON test log of this run
(scripts/test removes them first, so none is left from an earlier run).  A
missing log is a kind that did not run: one failure, said so.

CUnit programs print a "Run Summary" whose "tests" row counts their cases;
other programs print "N passed, N failed".  A program that printed neither
counts as one case, passed or failed by its exit.  Prints one line per
program and a closing line with each kind's count apart,
"tests: unit+integration N, the same under ASan N, ...: N passed, N failed";
exits 1 if anything failed or nothing ran.  (Python because meson, which CI
already needs, is Python.)
"""
import json
import re
import sys

CUNIT = re.compile(r"^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", re.M)
PLAIN = re.compile(r"^(?:\w+: )?(\d+) passed, (\d+) failed", re.M)


def count(entry):
    out = entry.get("stdout") or ""
    rows = CUNIT.findall(out)
    if rows:
        # total, ran, passed, failed, inactive; a case that did not run is a failure
        passed = sum(int(r[2]) for r in rows)
        failed = sum(int(r[3]) + (int(r[0]) - int(r[1])) for r in rows)
    else:
        plain = PLAIN.findall(out)
        if plain:
            passed, failed = (sum(int(p[i]) for p in plain) for i in (0, 1))
        else:
            passed, failed = 0, 0
    if entry.get("result") not in ("OK", "EXPECTEDFAIL") and failed == 0:
        failed = 1  # crashed, timed out or exited non-zero after its summary
    if passed == 0 and failed == 0:
        passed = 1
    return passed, failed


def main(args):
    total_p = total_f = 0
    kinds = []
    for arg in args:
        kind, sep, path = arg.partition("=")
        if not sep:
            print(f"test-summary: {arg}: expected KIND=PATH", file=sys.stderr)
            return 2
        try:
            with open(path, encoding="utf-8") as f:
                lines = [l for l in f if l.strip()]
        except FileNotFoundError:
            print(f"{kind}: did not run ({path} missing)")
            kinds.append(f"{kind} not run")
            total_f += 1
            continue
        kind_n = 0
        print(f"{kind}:")
        for line in lines:
            entry = json.loads(line)
            p, f_ = count(entry)
            total_p += p
            total_f += f_
            kind_n += p + f_
            print(f"  {entry['name']:<40} {entry['result']:<8} {p:5d} passed {f_:4d} failed")
        kinds.append(f"{kind} {kind_n}")
    print(f"tests: {', '.join(kinds)}: {total_p} passed, {total_f} failed")
    return 0 if total_f == 0 and total_p > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
