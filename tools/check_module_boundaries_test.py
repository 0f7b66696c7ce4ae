#!/usr/bin/env python3
"""Tests check_module_boundaries.py: it fails on a planted forbidden include,
naming the file, the line and the include, and passes on the real tree.

    check_module_boundaries_test.py SOURCE_ROOT
"""

import pathlib
import subprocess
import sys
import tempfile

CHECK = pathlib.Path(__file__).resolve().parent / "check_module_boundaries.py"


def run(root):
    p = subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)
    return p.returncode, p.stderr


def plant(root, files):
    for rel, text in files.items():
        path = pathlib.Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def main(argv):
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        plant(tmp, {
            "mux/x.hpp": '#pragma once\n#include <vector>\n#include "mux/ok.hpp"\n'
                         '#include "wire/ok.hpp"\n#include "harness/y.hpp"\n',
        })
        rc, err = run(tmp)
        expect(rc == 1, f"mux/ including harness/: exit {rc}, want 1")
        expect('mux/x.hpp:5: #include "harness/y.hpp"' in err, f"file and include not named:\n{err}")

    cases = {
        "faults/a.cpp": '#include "mux/router.hpp"\n',
        "wire/a.hpp": '#include "faults/rules.hpp"\n',
        "roles/a.cpp": '#include "harness/driver.hpp"\n',
        "bench/a.cpp": '#include "harness/timeline.hpp"\n',
        "reports/a.cpp": '#include "roles/process.hpp"\n',
    }
    for rel, text in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            plant(tmp, {rel: text})
            rc, err = run(tmp)
            expect(rc == 1 and rel in err, f"{rel} with {text.strip()}: exit {rc}\n{err}")

    with tempfile.TemporaryDirectory() as tmp:
        plant(tmp, {
            "roles/a.cpp": '#include "mux/node.hpp"\n#include "faults/hostile.hpp"\n',
            "bench/a.cpp": '#include "roles/process.hpp"\n',
            "reports/a.cpp": '#include "wire/limits.hpp"\n#include "reports/html.hpp"\n',
            "harness/a.cpp": '#include "mux/node.hpp"\n',
        })
        rc, err = run(tmp)
        expect(rc == 0, f"allowed includes rejected: exit {rc}\n{err}")

    rc, err = run(argv[1])
    expect(rc == 0, f"the source tree breaks a module boundary:\n{err}")

    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
