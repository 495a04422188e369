#!/usr/bin/env python3
"""Figures on the agent's structure (docs/structure.md): the largest functions, which agent/
folder includes which, and the lines of the HTTP layer.

    tools/structure_figures.py [--top N] [REPO]

A function is a brace block opened at namespace or class level after a ')' (lambdas and
control blocks inside a function count towards it); its length is from the first line of its
signature to its closing brace. Strings, character literals and comments are skipped. Good
enough for this code base's clang-formatted sources, not a C++ parser.
"""
import argparse
import collections
import pathlib
import re


def strip(text):
    """The text with comments, string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else)\b")
SCOPE = re.compile(r"^(template\s*<[^>]*>\s*)?(inline\s+)?(namespace|class|struct|union|enum|extern)\b")


def functions(path):
    """(name, first line, lines) of each function defined in path."""
    text = strip(path.read_text())
    found = []
    stack = []  # "scope" or "fn" or "block"
    head_start = 0  # offset where the current statement began
    for i, c in enumerate(text):
        if c == "{":
            head = text[head_start:i].strip()
            kind = "block"
            if all(s == "scope" for s in stack):
                before_paren = head.split("(")[0]
                if "=" in before_paren or head.endswith("="):
                    kind = "block"  # an initializer
                elif SCOPE.match(head):
                    kind = "scope"
                elif ")" in head and not CONTROL.match(head):
                    name = re.findall(r"(operator\W+|[\w:~]+)\s*\(", head)
                    start = head_start + len(text[head_start:i]) - len(text[head_start:i].lstrip())
                    kind = ("fn", name[0] if name else "?", text.count("\n", 0, start) + 1)
            stack.append(kind)
            head_start = i + 1
        elif c == "}":
            top = stack.pop() if stack else "scope"
            if isinstance(top, tuple):
                end = text.count("\n", 0, i) + 1
                found.append((top[1], top[2], end - top[2] + 1))
            head_start = i + 1
        elif c == ";":
            head_start = i + 1
        elif c == ":" and text[i - 1:i + 1] != "::" and text[i:i + 2] != "::":
            # "public:" inside a class ends a head as well.
            if re.search(r"\b(public|private|protected)\s*$", text[head_start:i]):
                head_start = i + 1
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            head_start = text.find("\n", i) + 1  # preprocessor line
    return found


def include_matrix(agent):
    counts = collections.Counter()
    for f in sorted(agent.rglob("*")):
        if f.suffix not in (".h", ".cc"):
            continue
        src = f.relative_to(agent).parts[0]
        for m in re.finditer(r'^#include "([a-z_]+)/', f.read_text(), re.M):
            if m.group(1) != src:
                counts[(src, m.group(1))] += 1
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("repo", nargs="?", default=pathlib.Path(__file__).resolve().parent.parent)
    args = ap.parse_args()
    repo = pathlib.Path(args.repo)
    agent = repo / "agent"

    fns = []
    for f in sorted(agent.rglob("*.cc")) + sorted(agent.rglob("*.h")):
        for name, line, n in functions(f):
            fns.append((n, f"{f.relative_to(repo)}:{line}", name))
    fns.sort(key=lambda x: (-x[0], x[1]))
    print(f"largest functions (lines), of {len(fns)}:")
    for n, where, name in fns[:args.top]:
        print(f"  {n:4d}  {name}  {where}")
    over = sum(1 for n, _, _ in fns if n > 50)
    print(f"functions over 50 lines: {over}; over 80: {sum(1 for n, _, _ in fns if n > 80)}")

    counts = include_matrix(agent)
    folders = sorted({a for a, _ in counts} | {b for _, b in counts})
    print("\nincludes across agent/ folders (row includes column; count of #include lines):")
    w = max(len(x) for x in folders)
    print(" " * (w + 2) + " ".join(f"{x[:7]:>7}" for x in folders))
    for a in folders:
        row = " ".join(f"{counts[(a, b)] or '.':>7}" for b in folders)
        print(f"  {a:<{w}}{row}")

    http = sorted(list(agent.glob("report/http_*.h")) + list(agent.glob("report/http_*.cc")) +
                  list(agent.glob("report/tls.*")) + list(agent.glob("report/access.*")))
    total = 0
    for f in http:
        total += len(f.read_text().splitlines())
    print(f"\nHTTP layer (report/http_*, tls.*, access.*): {len(http)} files, {total} lines")


if __name__ == "__main__":
    main()
