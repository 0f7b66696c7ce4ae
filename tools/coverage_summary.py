#!/usr/bin/env python3
"""Summarises a gcovr JSON report (`./faultmux coverage` writes one): line
and branch coverage per folder and per file, and the error branches of mux/
that nothing took, for the coverage report's summary.md.

    coverage_summary.py COVERAGE.json
"""

import collections
import json
import re
import sys

# A line about an error: an error code, errno, a failure, a log line at
# warning and above, a dead reply, a disconnect.
ERRORISH = re.compile(r"\b(ec|err|errno|error|fail\w*|dead|disconnect\w*)\b|< 0|E[A-Z]{3,}|spdlog::(warn|error|critical)")


def counts(f):
    """(lines covered, lines, branches taken, branches) of one gcovr file entry."""
    lc = lt = bc = bt = 0
    for line in f["lines"]:
        if line.get("gcovr/noncode"):
            continue
        lt += 1
        lc += line["count"] > 0
        for b in line.get("branches", []):
            bt += 1
            bc += b["count"] > 0
    return lc, lt, bc, bt


def pct(a, b):
    return f"{100 * a / b:.1f}%" if b else "-"


def uncovered_error_branches(f, source):
    """(line, text) of mux/ lines about errors with a branch never taken."""
    out = []
    for line in f["lines"]:
        branches = line.get("branches", [])
        if not branches or all(b["count"] > 0 for b in branches):
            continue
        n = line["line_number"]
        text = source[n - 1].strip() if n <= len(source) else ""
        if ERRORISH.search(text):
            out.append((n, text))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    data = json.load(open(sys.argv[1]))
    root = data.get("root", ".")
    folders = collections.defaultdict(lambda: [0, 0, 0, 0])
    rows = []
    for f in sorted(data["files"], key=lambda f: f["file"]):
        c = counts(f)
        folder = f["file"].split("/")[0]
        for i in range(4):
            folders[folder][i] += c[i]
        rows.append((f["file"], c))
    print("| folder | lines | branches |\n|---|---|---|")
    for folder, (lc, lt, bc, bt) in sorted(folders.items()):
        print(f"| {folder}/ | {pct(lc, lt)} ({lc}/{lt}) | {pct(bc, bt)} ({bc}/{bt}) |")
    print("\n| file | lines | branches |\n|---|---|---|")
    for name, (lc, lt, bc, bt) in rows:
        print(f"| {name} | {pct(lc, lt)} | {pct(bc, bt)} |")
    print("\nError branches of mux/ never taken (line: source):")
    for f in data["files"]:
        if not f["file"].startswith("mux/"):
            continue
        try:
            source = open(f"{root}/{f['file']}").read().split("\n")
        except OSError:
            continue
        for n, text in uncovered_error_branches(f, source):
            print(f"  {f['file']}:{n}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
