#!/usr/bin/env python3
"""Fails when a faultmux module includes a module it must not use.

    check_module_boundaries.py [SOURCE_ROOT]

Scans the C++ files of each module under SOURCE_ROOT (default: the checkout
this script is in) for #include "<module>/..." lines and prints every one
that breaks a rule below, as file:line: the include, and the rule. Exit
status 1 when any does, 0 otherwise. The build runs it before linking the
faultmux binary, so a forbidden include fails the build.
"""

import pathlib
import re
import sys

# Our top-level directories: an include of "<one of these>/..." is ours.
MODULES = ("mux", "faults", "wire", "roles", "harness", "reports", "bench", "tests")

# module -> (the modules it may include, or None for "all but the banned"),
#           the modules it may not include.
RULES = {
    "mux": ({"mux", "wire"}, None),
    "faults": ({"faults", "wire"}, None),
    "wire": ({"wire"}, None),
    "roles": (None, {"harness"}),
    "bench": (None, {"harness"}),
    "reports": (None, {"harness", "mux", "faults", "roles"}),
}

SUFFIXES = {".cpp", ".hpp", ".h", ".cc", ".hh", ".ipp"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"(([a-z_]+)/[^"]*)"')


def allowed(module, target):
    only, banned = RULES[module]
    if target == module:
        return True
    if only is not None:
        return target in only
    return target not in banned


def rule_text(module):
    only, banned = RULES[module]
    if only is not None:
        return f"{module}/ may include only " + ", ".join(f"{m}/" for m in sorted(only))
    return f"{module}/ may not include " + ", ".join(f"{m}/" for m in sorted(banned))


def violations(root):
    root = pathlib.Path(root)
    for module in sorted(RULES):
        base = root / module
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                m = INCLUDE.match(line)
                if not m or m.group(2) not in MODULES:
                    continue
                if not allowed(module, m.group(2)):
                    rel = path.relative_to(root).as_posix()
                    yield f'{rel}:{number}: #include "{m.group(1)}": {rule_text(module)}'


def main(argv):
    root = argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parent.parent
    found = list(violations(root))
    for v in found:
        print(v, file=sys.stderr)
    if found:
        print(f"faultmux module boundaries: {len(found)} forbidden include(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
