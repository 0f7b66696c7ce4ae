#!/usr/bin/python3
"""Checks that every faultmux command a CI recipe runs exists with its options.

Usage: check_recipes.py FAULTMUX_BINARY ENTRY_SCRIPT RECIPE.yml...

Reads each recipe (a GitHub Actions workflow: its steps' `run`; a GitLab CI
file: its jobs' `script`, `before_script` and `after_script`), finds each
command that runs `./faultmux` or `faultmux`, and checks it: a subcommand of
the binary must be listed by `faultmux --help`, and each of its --options
must appear in `faultmux SUBCOMMAND --help`; a command of the entry script
(test, bench, package) must be one of its `case` arms. Prints each command
checked, and every problem with its recipe; exits 1 when there is one.
"""
import re
import shlex
import subprocess
import sys

import yaml


def commands_of(doc):
    """Every shell line of a workflow or a GitLab CI file."""
    out = []

    def lines(value):
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str)]
        return []

    if isinstance(doc.get('jobs'), dict):  # GitHub Actions
        for job in doc['jobs'].values():
            for step in job.get('steps', []):
                out += lines(step.get('run'))
    for key, job in doc.items():  # GitLab CI
        if key in ('before_script', 'after_script'):
            out += lines(job)
        elif isinstance(job, dict):
            for part in ('before_script', 'script', 'after_script'):
                out += lines(job.get(part))
    return out


def faultmux_commands(line):
    for part in re.split(r'&&|\|\||;|\n', line):
        words = shlex.split(part, comments=True)
        if words and words[0] in ('./faultmux', 'faultmux'):
            yield words[1:]


def main():
    binary, entry, recipes = sys.argv[1], sys.argv[2], sys.argv[3:]
    entry_commands = set(re.findall(r'^\s*([a-z]+)\)\s*$', open(entry).read(), re.M))
    top_help = subprocess.run([binary, '--help'], capture_output=True, text=True).stdout
    problems = checked = 0
    for recipe in recipes:
        doc = yaml.safe_load(open(recipe))
        for line in commands_of(doc):
            for words in faultmux_commands(line):
                checked += 1
                sub = words[0] if words else ''
                print('%s: faultmux %s' % (recipe, ' '.join(words)))
                if sub in entry_commands:
                    continue
                if not re.search(r'^\s+%s\b' % re.escape(sub), top_help, re.M):
                    print('  %s: no subcommand %r' % (recipe, sub))
                    problems += 1
                    continue
                sub_help = subprocess.run([binary, sub, '--help'], capture_output=True,
                                          text=True).stdout
                for w in words[1:]:
                    opt = w.split('=')[0]
                    if opt.startswith('--') and not re.search(re.escape(opt) + r'\b', sub_help):
                        print('  %s: faultmux %s has no option %s' % (recipe, sub, opt))
                        problems += 1
    print('%d command(s) checked, %d problem(s)' % (checked, problems))
    return 1 if problems or not checked else 0


if __name__ == '__main__':
    sys.exit(main())
