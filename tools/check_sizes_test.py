#!/usr/bin/env python3
"""Tests check_sizes.py: it fails on a planted function over 80 lines and a
file over 800 lines, naming each, stays quiet on a clean tree with the
exemptions (test bodies, test data tables, the two named files), and passes
on the real tree.

    check_sizes_test.py SOURCE_ROOT
"""

import pathlib
import subprocess
import sys
import tempfile

CHECK = pathlib.Path(__file__).resolve().parent / "check_sizes.py"


def run(root):
    p = subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)
    return p.returncode, p.stderr


def plant(root, files):
    for rel, text in files.items():
        path = pathlib.Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def function(signature, body_lines):
    """A function of 2 + body_lines lines (its braces included)."""
    return signature + " {\n" + "  step();\n" * body_lines + "}\n"


def table(signature, rows):
    return signature + " {\n  return {\n" + '      {"row", 1},\n' * rows + "  };\n}\n"


def main(argv):
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        plant(tmp, {"harness/long.cpp": "// a comment { with a brace\n#include <x>\n\n" +
                    function("int too_long(int a)", 79)})
        rc, err = run(tmp)
        expect(rc == 1, f"81-line function: exit {rc}, want 1")
        expect("harness/long.cpp:4: int too_long(int a) is 81 lines (at most 80)" in err,
               f"function, file and line not named:\n{err}")

    with tempfile.TemporaryDirectory() as tmp:
        plant(tmp, {"mux/big.hpp": "#pragma once\n" + "int x;\n" * 800})
        rc, err = run(tmp)
        expect(rc == 1, f"801-line file: exit {rc}, want 1")
        expect("mux/big.hpp: 801 lines (at most 800)" in err, f"file not named:\n{err}")

    with tempfile.TemporaryDirectory() as tmp:
        plant(tmp, {"reports/data.cpp": table("std::vector<row> rows()", 90)})
        rc, err = run(tmp)
        expect(rc == 1 and "reports/data.cpp:1:" in err,
               f"a table outside tests/ is exempt: exit {rc}\n{err}")

    with tempfile.TemporaryDirectory() as tmp:
        plant(tmp, {
            "harness/ok.cpp": "namespace a {\nstruct s {\n" + function("  int f() const", 78) +
                              "};\n" + function("void g()", 10) + "}  // namespace a\n",
            "harness/fits.cpp": "int y;\n" * 800,
            "tests/long_test.cpp": function("TEST(Suite, Long)", 120) +
                                   function("TEST_F(Fixture, Long)", 120) +
                                   table("std::vector<row> expected_rows()", 120),
            "tests/fuzz/f.cpp": function('extern "C" int LLVMFuzzerTestOneInput(const char* d)',
                                         120),
            "mux/pickle.cpp": "int z;\n" * 1400,
            "faults/shim.cpp": "int z;\n" * 1400,
            "build/release/generated.cpp": function("void generated()", 500),
        })
        rc, err = run(tmp)
        expect(rc == 0, f"clean tree with exemptions: exit {rc}, want 0\n{err}")

    rc, err = run(argv[1])
    expect(rc == 0, f"the source tree has a file or function too long:\n{err}")

    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
