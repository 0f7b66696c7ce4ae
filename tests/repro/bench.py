#!/usr/bin/env python3
"""Measures `faultmux repro` on the evidence set of tests/repro/cases/: for
each case, repro is given only its evidence files and the target (and legacy
bugs) of case.json, never the scenario that made them. Prints a table (case,
evidence kinds, reproduced, rate, time) and the totals.

  tests/repro/bench.py [--faultmux PATH] [--only REGEX] [--budget-min N] [--jobs N]
"""
import argparse, glob, json, os, re, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--faultmux", default=os.path.join(ROOT, "build/release/harness/faultmux"))
    ap.add_argument("--only", default="")
    ap.add_argument("--budget-min", default="8")
    ap.add_argument("--jobs", default="1")
    a = ap.parse_args()
    out_dir = tempfile.mkdtemp(prefix="repro-bench-")
    rows = []
    for d in sorted(glob.glob(os.path.join(HERE, "cases", "*"))):
        name = os.path.basename(d)
        if a.only and not re.search(a.only, name):
            continue
        case = json.load(open(os.path.join(d, "case.json")))
        evidence = sorted(f for f in glob.glob(os.path.join(d, "*")) if not f.endswith("case.json"))
        cmd = [a.faultmux, "repro", *evidence, "--target", case["target"],
               "--budget-min", a.budget_min, "--jobs", a.jobs,
               "--out", os.path.join(out_dir, name + ".toml")]
        for b in case.get("legacy_bugs", []):
            cmd += ["--legacy-bug", b]
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        secs = time.monotonic() - t0
        with open(os.path.join(out_dir, name + ".log"), "w") as fh:
            fh.write(p.stdout + p.stderr)
        kinds = sorted({m for m in re.findall(r"taken as (.+)", p.stdout)})
        rate = re.findall(r"reproduced (\d+/\d+)", p.stdout)
        best = re.search(r"^\s+(\d+/\d+)\s", p.stdout, re.M)
        rows.append((name, ", ".join(kinds), p.returncode == 0,
                     rate[-1] if rate and p.returncode == 0 else (best.group(1) if best else "-"),
                     secs, p.returncode))
        r = rows[-1]
        print(f"| {r[0]} | {r[1]} | {'yes' if r[2] else 'no (exit %d)' % r[5]} | {r[3]} | {r[4]:.0f} s |",
              flush=True)
    if not rows:
        return 1
    ok = sum(1 for r in rows if r[2])
    median = statistics.median(r[4] for r in rows)
    print(f"\nreproduced {ok}/{len(rows)} ({100 * ok / len(rows):.0f}%), median time "
          f"{median:.0f} s; logs in {out_dir}")
    # The target: at least 80% reproduced, median under 8 minutes.
    return 0 if ok * 5 >= len(rows) * 4 and median < 480 else 1


if __name__ == "__main__":
    sys.exit(main())
