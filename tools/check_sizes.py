#!/usr/bin/env python3
"""Fails when a faultmux source file or function is too long to read.

    check_sizes.py [SOURCE_ROOT]

Walks SOURCE_ROOT (default: the checkout this script is in), skipping build
trees and hidden directories, and prints one line per breach:

    path: N lines (at most 800)                 a C++ or Python file
    path:LINE: FUNCTION is N lines (at most 80) a C++ function body

Exit status 1 when any is printed, 0 otherwise. Functions are found by a
brace matcher on the text with comments, strings and preprocessor lines
removed: a `{` at file, namespace or class level whose preceding text has a
`(` and is no control statement, lambda assignment or namespace opens one.
It is a heuristic (a constructor with a braced member initialiser is missed),
tuned to this tree's style.

Exempt: the files in FILE_EXCEPTIONS, test-case bodies (TEST, TEST_F,
TEST_P, the fuzz entry point) and, in tests/, functions that are mostly one
`return {...};` of test data.
"""

import os
import pathlib
import re
import sys

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 80

# Files allowed over MAX_FILE_LINES, each with its reason.
FILE_EXCEPTIONS = {
    "mux/pickle.cpp": "the pickle codec: one opcode table and the codec that reads it",
    "faults/shim.cpp": "the shim: one interposer per libc call, kept together so each "
                       "mirrors the others",
}

CPP_SUFFIXES = {".cpp", ".hpp", ".h", ".cc", ".hh", ".ipp"}
SIZE_SUFFIXES = CPP_SUFFIXES | {".py"}

TEST_CASE = re.compile(r"^(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P)\s*\(|LLVMFuzzerTestOneInput")
NOT_A_FUNCTION = re.compile(
    r"\b(if|for|while|switch|catch|namespace|class|struct|enum|union|do|else|try)\b")
RAW_STRING = re.compile(r'R"([^(\s]*)\(')
DIRECTIVE = re.compile(r"[ \t]*#")


def strip(src):
    """src with comments, string and char literals and preprocessor lines
    blanked; newlines stay, so line numbers do too."""
    out = []
    i, n = 0, len(src)
    at_line_start = True
    while i < n:
        c = src[i]
        if at_line_start and DIRECTIVE.match(src, i):
            j = i
            while True:  # a directive, with its backslash continuations
                j = src.find("\n", j)
                if j < 0 or src[j - 1] != "\\":
                    break
                out.append("\n")
                j += 1
            i = n if j < 0 else j
            continue
        at_line_start = c == "\n"
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", i, j))
            i = j
        elif m := RAW_STRING.match(src, i):
            end = ")" + m.group(1) + '"'
            j = src.find(end, m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j
        elif c in "\"'" and not (c == "'" and i > 0 and src[i - 1].isalnum()):
            # (a ' after a digit is a separator: 1'000)
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            out.append('""')
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def opens_function(signature):
    head = signature.split("(")[0]
    if ")" not in signature or NOT_A_FUNCTION.search(head):
        return False
    return "=" not in head or "operator" in head


def is_test_data(body):
    """A body that is mostly one `return {...};`: a table of test data."""
    at = body.find("return {")
    return at >= 0 and body.count("\n", at) * 2 >= body.count("\n")


def long_functions(rel, text):
    """(line, signature, length) of each function over MAX_FUNCTION_LINES."""
    s = strip(text)
    found = []
    depth, last, start = 0, 0, None  # start: (depth, offset, signature)
    for i, c in enumerate(s):
        if c not in ";{}":
            continue
        if c == "{":
            sig = " ".join(s[last:i].split())
            if start is None and opens_function(sig):
                start = (depth, i, sig)
            depth += 1
        elif c == "}":
            depth = max(depth - 1, 0)
            if start is not None and depth == start[0]:
                first = s.count("\n", 0, start[1]) + 1
                length = s.count("\n", start[1], i) + 1
                sig = start[2]
                exempt = TEST_CASE.search(sig) or (
                    rel.startswith("tests/") and is_test_data(s[start[1]:i]))
                if length > MAX_FUNCTION_LINES and not exempt:
                    found.append((first, sig[-90:], length))
                start = None
        last = i + 1
    return found


def sources(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "build")))
        for name in sorted(filenames):
            path = pathlib.Path(dirpath) / name
            if path.suffix in SIZE_SUFFIXES:
                yield path, path.relative_to(root).as_posix()


def check(root):
    problems = []
    for path, rel in sources(root):
        text = path.read_text(errors="replace")
        lines = text.count("\n")
        if lines > MAX_FILE_LINES and rel not in FILE_EXCEPTIONS:
            problems.append(f"{rel}: {lines} lines (at most {MAX_FILE_LINES})")
        if path.suffix in CPP_SUFFIXES:
            for line, sig, length in long_functions(rel, text):
                problems.append(f"{rel}:{line}: {sig} is {length} lines "
                                f"(at most {MAX_FUNCTION_LINES})")
    return problems


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[1])
    problems = check(root)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
