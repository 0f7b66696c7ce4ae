#!/usr/bin/env python3
"""Checks tools/source_mutants.py's catalogue without building anything:
every mutant changes its one line of a copy of mux/, ids are unique and
stable, every operator is represented, and the equivalent list names only
mutants that exist.

    source_mutants_test.py SOURCE_ROOT
"""

import pathlib
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import source_mutants as sm  # noqa: E402

OPERATORS = {"error-line-to-debug", "negate-error-check", "drop-error-call", "drop-dead-reply",
             "drop-deadline", "return-after-errno"}


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else sm.ROOT)
    mutants = sm.catalogue(root)
    failures = []
    ids = [m["id"] for m in mutants]
    if len(set(ids)) != len(ids):
        failures.append("mutant ids are not unique")
    missing = OPERATORS - {m["operator"] for m in mutants}
    if missing:
        failures.append("no mutant of operator(s): " + ", ".join(sorted(missing)))
    if sm.catalogue(root) != mutants:
        failures.append("the catalogue is not the same on a second read")
    for cond, errorish in (("n < 0", True), ("err == EAGAIN", True), ("ec", True),
                           ("c < 0x80", False), ("count < 10", False)):
        if bool(sm.ERRORISH.search(cond)) != errorish:
            failures.append(f"`{cond}` is {'not ' if errorish else ''}taken for an error check")
    order = sm.likely_killers_first(
        [pathlib.Path(n + ".toml") for n in ("b", "a", "c")], {"c": 2, "b": 2, "a": 0})
    if [p.stem for p in order] != ["b", "c", "a"]:
        failures.append(f"scenarios not ordered by kills, then name: {[p.stem for p in order]}")
    unknown = set(sm.equivalent_list(root)) - set(ids)
    if unknown:
        failures.append("equivalent.txt names unknown mutants: " + ", ".join(sorted(unknown)))
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp)
        for rel in sm.FILES:
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / rel, copy / rel)
        for m in mutants:
            path = copy / m["file"]
            before = path.read_text()
            sm.apply(copy, m)
            after = path.read_text()
            path.write_text(before)
            b, a = before.split("\n"), after.split("\n")
            changed = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
            if changed[:1] != [m["line"] - 1]:
                failures.append(f"{m['id']}: changes line(s) {changed[:3]}, not {m['line']}")
            if b[m["line"] - 1].strip() != m["original"]:
                failures.append(f"{m['id']}: its original text is not at line {m['line']}")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(mutants)} mutants checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
