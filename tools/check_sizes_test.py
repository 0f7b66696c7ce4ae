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
import unittest

CHECK = pathlib.Path(__file__).resolve().parent / "check_sizes.py"
SOURCE_ROOT = None  # the first argument


def check(root):
    """check_sizes.py on `root`: its exit status and what it printed."""
    done = subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)
    return done.returncode, done.stderr


def check_tree(files):
    """check_sizes.py on a temporary tree of `files` (relative path: text)."""
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            path = pathlib.Path(tmp, rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return check(tmp)


def function(signature, body_lines):
    """A function of 2 + body_lines lines (its braces included)."""
    return signature + " {\n" + "  step();\n" * body_lines + "}\n"


def table(signature, rows):
    return signature + " {\n  return {\n" + '      {"row", 1},\n' * rows + "  };\n}\n"


class CheckSizes(unittest.TestCase):
    def test_a_function_over_80_lines_is_named(self):
        rc, err = check_tree({"harness/long.cpp": "// a comment { with a brace\n#include <x>\n\n" +
                              function("int too_long(int a)", 79)})
        self.assertEqual(rc, 1, err)
        self.assertIn("harness/long.cpp:4: int too_long(int a) is 81 lines (at most 80)", err)

    def test_a_file_over_800_lines_is_named(self):
        rc, err = check_tree({"mux/big.hpp": "#pragma once\n" + "int x;\n" * 800})
        self.assertEqual(rc, 1, err)
        self.assertIn("mux/big.hpp: 801 lines (at most 800)", err)

    def test_a_table_outside_tests_is_not_exempt(self):
        rc, err = check_tree({"reports/data.cpp": table("std::vector<row> rows()", 90)})
        self.assertEqual(rc, 1, err)
        self.assertIn("reports/data.cpp:1:", err)

    def test_a_clean_tree_with_the_exemptions_passes(self):
        rc, err = check_tree({
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
        self.assertEqual(rc, 0, err)

    def test_the_source_tree_passes(self):
        rc, err = check(SOURCE_ROOT)
        self.assertEqual(rc, 0, f"a file or function too long:\n{err}")


if __name__ == "__main__":
    SOURCE_ROOT = sys.argv.pop(1)
    unittest.main()
