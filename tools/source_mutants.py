#!/usr/bin/env python3
"""Source mutation score of the scenario suite over the mux's error handling.

    tools/source_mutants.py [--list] [--only ID,...] [--shard K/N]
                            [--out FILE] [--timeout-s N] [--keep-work]

Each mutant is one small change to an error path of mux/: an error line
turned into a debug line, an error check negated, a call in an error branch
dropped, a dead reply dropped, a deadline pushed out of reach, an early
return right after an errno is read. The tool copies the checkout to
build/source-mutants/src, builds `faultmux` there (ccache makes a mutant one
file and a link), runs the baseline suite (`faultmux run scenarios`, which
must pass), then for each mutant: apply, build, run the suite, restore.
Against a mutant the scenarios run one at a time, those that killed the
most mutants so far first, and the run stops at the first that fails: a
killed mutant costs seconds, and only a survivor the whole suite.

A mutant is *killed* when a scenario fails against it (the first that did
is named), *survived* when the suite passes, *stillborn* when it does not
compile, *equivalent* when tools/mutants/equivalent.txt argues it cannot be
told apart from the original. The score is killed / (killed + survived).

Mutant ids are FILE:OPERATOR:HASH, where HASH is of the mutated line's
text and its occurrence, so they stay the same when other lines move.
--list prints the catalogue without building anything. --shard K/N runs
every N-th mutant starting at K (1-based), so CI can spread a run; each
shard writes its own --out and the score is the sum.
"""

import argparse
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The files whose error handling the suite is meant to guard: streams, the
# listener, the router, the node, the children and their channels, the
# broker loop, the client connect, calls and the context dispatcher. The
# codecs (pickle, frame, value, latin1) are parsers judged by their unit
# tests and fuzz replays, not by scenarios, and are left out.
FILES = [
    "mux/broker.cpp",
    "mux/call.cpp",
    "mux/child.cpp",
    "mux/children.cpp",
    "mux/connect.cpp",
    "mux/dispatcher.cpp",
    "mux/listener.cpp",
    "mux/log_forward.cpp",
    "mux/node.cpp",
    "mux/router.cpp",
    "mux/stream.cpp",
]

# A condition that is about an error: an error code, errno, a failed call
# (`< 0`, not `< 0x80`, a byte's range).
ERRORISH = re.compile(r"\b(ec|err|errno|error|failed|fail)\b|< 0\b|E[A-Z]{3,}")
LOG_LINE = re.compile(r"spdlog::(error|warn|critical)\(")
DEAD_CALL = re.compile(r"^\s*(route\(message::dead\(|maybe_send_dead\().*\);\s*$")
DEADLINE = re.compile(r"(\bafter\()([^,()]+(?:\([^()]*\))?[^,()]*),")
ERRNO_READ = re.compile(r"^\s*int err = errno;\s*$")
# A one-line statement that is a call (or returns one), not a declaration or jump.
CALL_STATEMENT = re.compile(r"^\s*(?:return\s+)?(?!return\b|break\b|continue\b|throw\b)[\w:.>\-]+\s*\(.*\);\s*$")


def condition_of(line, start):
    """The text between the parenthesis at `start` and its match, or None."""
    depth = 0
    for i in range(start, len(line)):
        if line[i] == "(":
            depth += 1
        elif line[i] == ")":
            depth -= 1
            if depth == 0:
                return start, i
    return None


def if_condition(line):
    m = re.match(r"^\s*(?:\}\s*else\s+)?if \(", line)
    if not m:
        return None
    span = condition_of(line, m.end() - 1)
    if not span:
        return None
    cond = line[span[0] + 1 : span[1]]
    return span if ERRORISH.search(cond) and "legacy" not in cond else None


def block_end(lines, i):
    """The index of the line closing the block opened at the end of lines[i]."""
    depth = 0
    for j in range(i, len(lines)):
        depth += lines[j].count("{") - lines[j].count("}")
        if depth <= 0 and j > i:
            return j
    return None


def starts_statement(lines, i):
    """Whether lines[i] begins a statement (is not the tail of the one above)."""
    above = lines[i - 1].split("//")[0].rstrip() if i else ""
    return not above or above.endswith((";", "{", "}", ":"))


def mutants_of(path, text):
    """Yields (operator, line index, new line text or None to drop it, what)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        # Comments say nothing to the compiler; legacy switches are bugs on purpose.
        if line.lstrip().startswith("//") or "legacy" in line:
            continue
        if LOG_LINE.search(line):
            yield "error-line-to-debug", i, LOG_LINE.sub("spdlog::debug(", line, 1), "log at debug"
        span = if_condition(line)
        if span:
            a, b = span
            yield "negate-error-check", i, line[: a + 1] + "!(" + line[a + 1 : b] + ")" + line[b:], "negated"
            rest = line[b + 1 :].strip()
            if line[a + 1 :].startswith("!ec"):
                pass  # the success path, not an error branch
            elif rest.endswith("{"):
                end = block_end(lines, i)
                for j in range(i + 1, end or i + 1):
                    if (CALL_STATEMENT.match(lines[j]) and starts_statement(lines, j)
                            and not LOG_LINE.search(lines[j]) and "legacy" not in lines[j]):
                        yield "drop-error-call", j, None, "dropped in an error branch"
            elif rest.endswith(";") and CALL_STATEMENT.match(" " + rest):
                yield "drop-error-call", i, line[: b + 1] + " {}", "dropped in an error branch"
        if DEAD_CALL.match(line):
            yield "drop-dead-reply", i, None, "dead reply dropped"
        m = DEADLINE.search(line)
        if m and "after(" in line and ("deadline" in line or "timeout" in line):
            new = line[: m.start(2)] + "std::chrono::hours(24)" + line[m.end(2) :]
            yield "drop-deadline", i, new, "deadline out of reach"
        if ERRNO_READ.match(line):
            yield "return-after-errno", i, line.rstrip() + " return;", "returns at once"


def catalogue(root):
    out = []
    for rel in FILES:
        text = (root / rel).read_text()
        lines = text.split("\n")
        seen = {}
        for op, i, new, what in mutants_of(rel, text):
            key = (op, lines[i].strip())
            seen[key] = seen.get(key, 0) + 1
            digest = hashlib.sha1(f"{op}\0{lines[i].strip()}\0{seen[key]}".encode()).hexdigest()[:8]
            out.append(
                {
                    "id": f"{pathlib.Path(rel).name}:{op}:{digest}",
                    "file": rel,
                    "line": i + 1,
                    "operator": op,
                    "what": what,
                    "original": lines[i].strip(),
                    "mutated": None if new is None else " ".join(new.split()),
                    "_new": new,
                }
            )
    return out


def apply(root, m):
    path = root / m["file"]
    lines = path.read_text().split("\n")
    lines[m["line"] - 1] = "" if m["_new"] is None else m["_new"]
    path.write_text("\n".join(lines))


def equivalent_list(root):
    """id -> the argument why the mutant cannot be told apart from the original."""
    out = {}
    path = root / "tools" / "mutants" / "equivalent.txt"
    if path.exists():
        for n, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            ident, _, why = line.partition(" ")
            if not why.strip():
                sys.exit(f"{path}:{n}: {ident} needs its argument after the id")
            out[ident] = why.strip()
    return out


def run(cmd, cwd, env, timeout=None, quiet=True):
    return subprocess.run(
        cmd, cwd=cwd, env=env, timeout=timeout, text=True,
        stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None,
    )


def copy_checkout(work):
    """The tracked and new files of the checkout, copied fresh (the build dir kept)."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, check=True,
    ).stdout.split("\n")
    for rel in filter(None, files):
        src, dst = ROOT / rel, work / rel
        if not src.is_file():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        # A fresh mtime: a copy keeping its source's older one would look
        # older than the objects built from the last copy, and ninja would not rebuild.
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copy(src, dst)


def build(work, env):
    if not (work / "build" / "release" / "build.ninja").exists():
        r = run(["cmake", "--preset", "release"], work, env)
        if r.returncode:
            sys.exit("configuring the mutant build failed:\n" + r.stdout)
    # What `faultmux run` starts: the mux (in faultmux), the workers and the shim.
    return run(["cmake", "--build", "--preset", "release", "--target", "faultmux",
                "--target", "faultmux-worker", "--target", "faultmux_shim"], work, env)


def suite(work, env, timeout_s, report):
    """(passed, failing scenario names, seconds)."""
    shutil.rmtree(report, ignore_errors=True)
    binary = work / "build" / "release" / "harness" / "faultmux"
    start = time.monotonic()
    try:
        r = run([str(binary), "run", str(work / "scenarios"), "--report", str(report)], work, env,
                timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, ["(the suite ran past its time limit)"], time.monotonic() - start
    failing = []
    results = report / "results.json"
    if results.exists():
        data = json.loads(results.read_text())
        for s in data.get("scenarios", []):
            if s.get("verdict") not in ("pass", None):
                failing.append(s.get("name", "?"))
    if r.returncode and not failing:
        failing = [f"(faultmux run exited {r.returncode})"]
    return r.returncode == 0, failing, time.monotonic() - start


def suite_until_killed(work, env, timeout_s, order):
    """(passed, [the scenario that failed], seconds): the scenarios of
    `order` one at a time, stopping at the first that fails."""
    binary = work / "build" / "release" / "harness" / "faultmux"
    start = time.monotonic()
    for path in order:
        left = timeout_s - (time.monotonic() - start)
        try:
            if left <= 0:
                raise subprocess.TimeoutExpired(path.name, timeout_s)
            r = run([str(binary), "run", str(path)], work, env, timeout=left)
        except subprocess.TimeoutExpired:
            return False, [f"(the suite ran past its time limit, at {path.stem})"], time.monotonic() - start
        if r.returncode:
            return False, [path.stem], time.monotonic() - start
    return True, [], time.monotonic() - start


def likely_killers_first(scenarios, kills):
    """The scenario files, those that killed more mutants first, then by name."""
    return sorted(scenarios, key=lambda p: (-kills.get(p.stem, 0), p.name))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="print the catalogue and exit")
    ap.add_argument("--only", default="", help="comma-separated mutant ids")
    ap.add_argument("--shard", default="1/1", help="K/N: every N-th mutant from the K-th")
    ap.add_argument("--out", default="", help="write the results as JSON here")
    ap.add_argument("--timeout-s", type=int, default=900, help="a suite run longer than this kills the mutant")
    args = ap.parse_args()

    mutants = catalogue(ROOT)
    equivalent = equivalent_list(ROOT)
    unknown = set(equivalent) - {m["id"] for m in mutants}
    if unknown:
        sys.exit("tools/mutants/equivalent.txt names mutants that no longer exist: " + ", ".join(sorted(unknown)))
    if args.list:
        for m in mutants:
            tag = "  [equivalent]" if m["id"] in equivalent else ""
            print(f"{m['id']}  {m['file']}:{m['line']}  {m['what']}{tag}\n    - {m['original']}\n    + {m['mutated'] or '(dropped)'}")
        print(f"{len(mutants)} mutants, {len(equivalent)} argued equivalent")
        return 0
    try:
        k, n = (int(x) for x in args.shard.split("/"))
        assert 1 <= k <= n
    except (ValueError, AssertionError):
        sys.exit(f"--shard {args.shard}: expected K/N with 1 <= K <= N, e.g. 2/4")
    if args.only:
        wanted = set(args.only.split(","))
        missing = wanted - {m["id"] for m in mutants}
        if missing:
            sys.exit("--only: no such mutant: " + ", ".join(sorted(missing)) + " (see --list)")
        mutants = [m for m in mutants if m["id"] in wanted]
    mutants = mutants[k - 1 :: n]

    work = ROOT / "build" / "source-mutants" / "src"
    work.mkdir(parents=True, exist_ok=True)
    copy_checkout(work)
    env = dict(os.environ, CCACHE_BASEDIR=str(work), CCACHE_NOHASHDIR="true",
               CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime")
    report = ROOT / "build" / "source-mutants" / "report"

    print("baseline: building and running the suite on the unmutated mux", flush=True)
    r = build(work, env)
    if r.returncode:
        sys.exit("the unmutated checkout does not build:\n" + r.stdout[-4000:])
    ok, failing, secs = suite(work, env, args.timeout_s, report)
    if not ok:
        sys.exit(f"the suite fails without any mutant ({', '.join(failing)}): fix that first")
    print(f"baseline: suite passed in {secs:.0f} s", flush=True)

    scenarios = sorted((work / "scenarios").glob("*.toml"))
    kills = {}
    results, t0 = [], time.monotonic()
    for idx, m in enumerate(mutants, 1):
        row = {key: v for key, v in m.items() if not key.startswith("_")}
        if m["id"] in equivalent:
            row.update(status="equivalent", why=equivalent[m["id"]])
        else:
            original = (work / m["file"]).read_text()
            try:
                apply(work, m)
                b = build(work, env)
                if b.returncode:
                    row.update(status="stillborn")
                else:
                    passed, failing, secs = suite_until_killed(
                        work, env, args.timeout_s, likely_killers_first(scenarios, kills))
                    row.update(status="survived" if passed else "killed", killed_by=failing,
                               suite_s=round(secs, 1))
                    for name in failing:
                        kills[name] = kills.get(name, 0) + 1
            finally:
                (work / m["file"]).write_text(original)
        results.append(row)
        left = (time.monotonic() - t0) / idx * (len(mutants) - idx)
        print(f"[{idx}/{len(mutants)}] {row['status']:<10} {m['id']}  {m['file']}:{m['line']}"
              + (f"  by {', '.join(row.get('killed_by', [])[:3])}" if row["status"] == "killed" else "")
              + f"  (about {left / 60:.0f} min left)", flush=True)
    build(work, env)  # leave the work copy's binary unmutated

    count = {s: sum(1 for r in results if r["status"] == s) for s in ("killed", "survived", "stillborn", "equivalent")}
    judged = count["killed"] + count["survived"]
    score = count["killed"] / judged if judged else 0.0
    print(f"\nmutants {len(results)}: killed {count['killed']}, survived {count['survived']}, "
          f"stillborn {count['stillborn']}, equivalent {count['equivalent']}; "
          f"score {score:.0%} in {(time.monotonic() - t0) / 60:.1f} min")
    for r in results:
        if r["status"] == "survived":
            print(f"  survived: {r['id']}  {r['file']}:{r['line']}  {r['what']}: {r['original']}")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(
            {"shard": args.shard, "counts": count, "score": score, "mutants": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
