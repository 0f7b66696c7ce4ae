#!/usr/bin/env python3
"""Checks tools/coverage_summary.py on a small gcovr JSON report: the
per-folder sums, and which of mux/'s error branches it lists as never taken."""

import json
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent

SOURCE = """void f(int err) {
  if (err < 0) {
    spdlog::error("recv failed: {}", err);
  }
  if (ready) go();
}
"""

REPORT = {
    "files": [
        {"file": "mux/stream.cpp", "lines": [
            {"line_number": 2, "count": 4, "branches": [{"count": 4}, {"count": 0}]},
            {"line_number": 3, "count": 0, "branches": []},
            {"line_number": 5, "count": 4, "branches": [{"count": 0}, {"count": 4}]},
        ]},
        {"file": "roles/a.cpp", "lines": [
            {"line_number": 1, "count": 1, "branches": [{"count": 1}, {"count": 1}]},
            {"line_number": 2, "count": 0, "gcovr/noncode": True},
        ]},
    ]
}


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        (root / "mux").mkdir()
        (root / "mux" / "stream.cpp").write_text(SOURCE)
        (root / "report.json").write_text(json.dumps(REPORT))
        out = subprocess.run([sys.executable, str(HERE / "coverage_summary.py"), "report.json"],
                             cwd=root, text=True, capture_output=True, check=True).stdout
    expect = [
        "| mux/ | 66.7% (2/3) | 50.0% (2/4) |",   # three lines, one never run
        "| roles/ | 100.0% (1/1) | 100.0% (2/2) |",  # the non-code line is not counted
        "  mux/stream.cpp:2: if (err < 0) {",  # an error check never taken one way
    ]
    for line in expect:
        if line not in out.split("\n"):
            failures.append(f"missing: {line!r}")
    if "stream.cpp:5:" in out:
        failures.append("listed line 5, which is not about an error")
    for f in failures:
        print("FAIL:", f)
    if failures:
        print(out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
