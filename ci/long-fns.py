#!/usr/bin/env python3
"""Lists Rust functions longer than N lines (default 100) under the given dirs (default src/).

Usage: python3 ci/long-fns.py [--max N] [DIR...]
Prints `LINES path:line fn name`, longest first, then the count. A function's length is
the lines from its `fn` keyword to its closing brace (comments and blank lines included,
as a reader sees them). Comments, strings and char literals are masked before braces are
matched, so braces inside them do not count.
"""
import os
import re
import sys


def mask(src):
    """src with comments, strings and char literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', src[i:]) and not (i and (src[i - 1].isalnum() or src[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", src[i:]).group(1)
            end = src.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", src[i : j + 1]))
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    text = mask(open(path, encoding="utf-8").read())
    for m in re.finditer(r"\bfn\s+(\w+)", text):
        # The body opens at the first `{` after the signature, unless a `;` comes first.
        j = m.end()
        depth_paren = 0
        while j < len(text):
            ch = text[j]
            if ch in "([":
                depth_paren += 1
            elif ch in ")]":
                depth_paren -= 1
            elif ch == ";" and depth_paren == 0:
                j = -1
                break
            elif ch == "{" and depth_paren == 0:
                break
            j += 1
        if j < 0 or j >= len(text):
            continue
        depth, k = 0, j
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        start = text.count("\n", 0, m.start()) + 1
        end = text.count("\n", 0, k) + 1
        yield m.group(1), start, end - start + 1


def main(argv):
    limit = 100
    if argv[:1] == ["--max"]:
        limit, argv = int(argv[1]), argv[2:]
    dirs = argv or ["src"]
    found = []
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                if f.endswith(".rs"):
                    p = os.path.join(root, f)
                    for name, line, length in functions(p):
                        if length > limit:
                            found.append((length, p, line, name))
    for length, p, line, name in sorted(found, reverse=True):
        print(f"{length:5} {p}:{line} fn {name}")
    print(f"{len(found)} functions over {limit} lines")


if __name__ == "__main__":
    main(sys.argv[1:])
