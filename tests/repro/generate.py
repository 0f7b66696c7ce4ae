#!/usr/bin/env python3
"""Makes the evidence set `faultmux repro` is measured on (tests/repro/cases/).

Each case is a failing configuration of the suite: a legacy-bug mutant on the
scenario that catches it, or Mitogen 0.3.3 (--target mitogen) on a scenario it
fails. The scenario is run once, its run directory kept, and only the evidence
a user would have from the field is copied: the mux's log (its stderr), the
clients' error output, and for one Mitogen case an `strace -f` of the mux
alone. The scenario itself is hidden: cases/NAME/case.json names the target
and legacy bugs to reproduce against, and answers.json (never read by the
runner) which scenario made each case.

  tests/repro/generate.py [--faultmux PATH] [--only REGEX]
"""
import argparse, glob, json, os, re, shutil, subprocess, sys, tempfile, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASES = os.path.join(HERE, "cases")


def catchers():
    """(bug, scenario file) for each scenario's `catches`."""
    out = []
    for f in sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.toml"))):
        with open(f, "rb") as fh:
            for bug in tomllib.load(fh).get("catches", []):
                out.append((bug, f))
    return out


def run(faultmux, scenario, target, bugs, tmp, wrap=()):
    cmd = list(wrap) + [faultmux, "run", scenario, "-v", "--target", target]
    for b in bugs:
        cmd += ["--legacy-bug", b]
    env = dict(os.environ, TMPDIR=tmp)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    m = re.search(r"run directory kept: (\S+)", p.stdout)
    return p.returncode, (m.group(1) if m else None), p.stdout


def client_errors(run_dir):
    """The workers' stderr lines, as a user would paste them."""
    lines = []
    for f in sorted(glob.glob(os.path.join(run_dir, "worker-*.stderr"))):
        with open(f, errors="replace") as fh:
            lines += [l for l in fh.read().splitlines() if l.strip()]
    return lines


def mux_threads(trace_lines):
    """The strace lines of the process that listens, and of its threads."""
    pid_of = lambda l: (re.match(r"^(\d+)\s", l) or [None, None])[1]
    mux = {pid_of(l) for l in trace_lines if re.search(r"\blisten\(", l)}
    pending = {}  # pid -> an unfinished clone's first half
    for l in trace_lines:  # its threads: clone with CLONE_THREAD, made by a thread of it
        pid = pid_of(l)
        if "<unfinished ...>" in l:
            pending[pid] = l
            continue
        if "resumed>" in l and pid in pending:
            l = pending.pop(pid) + l
        m = re.search(r"clone3?\(.*CLONE_THREAD.*= (\d+)", l)
        if m and pid in mux:
            mux.add(m.group(1))
    return [l for l in trace_lines if pid_of(l) in mux]


def write_case(name, target, bugs, scenario, files, answers):
    d = os.path.join(CASES, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for fname, lines in files.items():
        if not lines:
            continue  # an empty file is no evidence
        with open(os.path.join(d, fname), "w") as fh:
            fh.write("\n".join(lines) + "\n")
    with open(os.path.join(d, "case.json"), "w") as fh:
        json.dump({"target": target, "legacy_bugs": bugs}, fh, indent=1)
        fh.write("\n")
    answers[name] = os.path.basename(scenario)
    print(f"{name}: {', '.join(f for f, lines in files.items() if lines)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--faultmux", default=os.path.join(ROOT, "build/release/harness/faultmux"))
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    answers_path = os.path.join(HERE, "answers.json")
    answers = json.load(open(answers_path)) if os.path.exists(answers_path) else {}
    tmp = tempfile.mkdtemp(prefix="repro-gen-")
    configs = [(f"{bug}-{os.path.basename(f)[:-5]}", f, "builtin", [bug]) for bug, f in catchers()]
    for f in sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.toml"))):
        configs.append((f"mitogen-{os.path.basename(f)[:-5]}", f, "mitogen", []))
    for name, f, target, bugs in configs:
        if a.only and not re.search(a.only, name):
            continue
        rc, run_dir, out = run(a.faultmux, f, target, bugs, tmp)
        if rc != 1 or not run_dir:
            continue  # passes (or not applicable) there: no failure to reproduce
        files = {}
        with open(os.path.join(run_dir, "mux.stderr"), errors="replace") as fh:
            files["mux.log"] = [l for l in fh.read().splitlines() if l.strip()]
        if client_errors(run_dir):
            files["clients.txt"] = client_errors(run_dir)
        if not any(re.search(r"\b(error|ERROR|CRITICAL|critical):?|Traceback", l)
                   for lines in files.values() for l in lines):
            print(f"{name}: skipped: its mux log and clients show no error (only the driver saw it fail)")
            continue
        write_case(name, target, bugs, f, files, answers)
    # An strace of Mitogen alone, failing to read a client's identity: no log.
    if not a.only or re.search(a.only, "mitogen-short-pid-strace"):
        f = os.path.join(ROOT, "scenarios", "short-pid.toml")
        trace = os.path.join(tmp, "trace")
        rc, run_dir, out = run(a.faultmux, f, "mitogen", [], tmp,
                               ["strace", "-f", "-tt", "-o", trace])
        with open(trace, errors="replace") as fh:
            lines = mux_threads(fh.read().splitlines())
        write_case("mitogen-short-pid-strace", "mitogen", [], f, {"mux.strace": lines}, answers)
    with open(answers_path, "w") as fh:
        json.dump(answers, fh, indent=1, sort_keys=True)
        fh.write("\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
