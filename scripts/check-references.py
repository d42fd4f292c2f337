#!/usr/bin/env python3
"""Check that every repository file a comment or a document names exists.

Reads the comments of the code in src/, tests/, scripts/ and fixtures/
(C and C++ `//` and `/* */`; Python `#` and docstrings; shell, CMake and
Nix `#`) and the whole text of the Markdown files at the repository root
and in docs/, and finds the tokens that name a repository file:

  1. a relative path whose first folder is one of the repository's own
     (src/, tests/, scripts/, docs/, fixtures/, ..., and the former
     include/), with or without an extension;
  2. a bare Markdown file name (<name>.md), or a Markdown path through a
     docs/ folder (<somewhere>/docs/<name>.md);
  3. in code comments only, a bare file name with a code extension (.cpp,
     .hpp, .py, .sh...) that some file of the repository bears: a file
     cited without its folder, which must then lie beside the citing file
     (not in double quotes: "name.hpp" is an #include string).

Each must name an existing file or directory, relative to the repository
root or to the folder of the file that names it. Not checked: absolute
paths (paths inside a root filesystem: /usr/lib/...), relative paths that
start with any other folder (glibc's elf/dl-load.c lies outside this
repository), bare names no repository file bears (dl-cache.c), and tokens
holding a placeholder or a pattern (<name>, *, {a,b}, $VAR, FROM=TO).

Usage: scripts/check-references.py [--root DIR] [--list] [PATH...]
  PATH...  only these files or folders (relative to the root); default:
           everything described above.
  --list   print every reference found, resolved or not.
Exit status: 0 every reference resolves; 1 some do not, each listed on
stderr as FILE:LINE: REFERENCE; 2 bad usage.
Python 3 standard library only.
"""

import argparse
import io
import os
import re
import sys
import tokenize

CODE_FOLDERS = ("src", "tests", "scripts", "fixtures")
DOC_FOLDERS = ("docs",)
# Folders a reference may start with even where they no longer exist, so
# that a path into the former public header folder is still caught.
FORMER_FOLDERS = {"include"}
SKIP_DIRS = {".git", "__pycache__", "node_modules", "fuzz-regressions"}

C_EXTENSIONS = {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx"}
HASH_EXTENSIONS = {".sh", ".bash", ".cmake", ".nix", ".dict"}
HASH_NAMES = {"CMakeLists.txt"}
# Rule 3: extensions of the files a code comment may cite by bare name.
CODE_NAME_EXTENSIONS = C_EXTENSIONS | {".py", ".sh", ".nix", ".cmake"}

# A token: what lies between blanks, quotes, brackets, commas... in prose.
TOKEN = re.compile(r"[^\s`'\"()\[\],;:|]+")
PLACEHOLDER = re.compile(r"[<>*?{}$%=\\&~^!@]")
TRAILING = ".,;:!?"
IDENT = re.compile(r"\w")
TRIPLE = ('"""', "'''")


def comment_lines_c(text):
    """(line, text) for every line of a // or /* */ comment, string and
    character literals (raw strings too) skipped."""
    out = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append((line, text[i + 2 : end]))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end
            for k, part in enumerate(text[i + 2 : end].split("\n")):
                out.append((line + k, part))
            line += text.count("\n", i, end)
            i = end + 2
        elif text.startswith('R"', i) and not (i > 0 and IDENT.match(text[i - 1])):
            m = re.match(r'R"([^()\\\s]{0,16})\(', text[i:])
            if not m:
                i += 1
                continue
            close = ")" + m.group(1) + '"'
            end = text.find(close, i + m.end())
            end = n if end < 0 else end + len(close)
            line += text.count("\n", i, end)
            i = end
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():
                i += 1  # a digit separator (1'000), not a character literal
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        else:
            i += 1
    return out


def comment_lines_python(text):
    """`#` comments and docstrings (triple-quoted strings), via tokenize."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out.append((tok.start[0], tok.string[1:]))
            elif tok.type == tokenize.STRING and tok.string.lstrip("rRbBuU")[:3] in TRIPLE:
                for k, part in enumerate(tok.string.split("\n")):
                    out.append((tok.start[0] + k, part))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return comment_lines_hash(text)
    return out


def comment_lines_hash(text):
    """`#` comments of shell, CMake and Nix: a `#` at the start of a line or
    after a blank, outside quotes (a rough reading, enough for comments)."""
    out = []
    for number, raw in enumerate(text.split("\n"), 1):
        quote = None
        escaped = False
        for k, c in enumerate(raw):
            if quote:
                if escaped:
                    escaped = False
                elif c == "\\" and quote == '"':
                    escaped = True
                elif c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
            elif c == "#" and (k == 0 or raw[k - 1] in " \t"):
                out.append((number, raw[k + 1 :]))
                break
    return out


def text_lines(text):
    return list(enumerate(text.split("\n"), 1))


def reader_for(path):
    """How to read `path`: (function giving its (line, text) pairs, whether
    it is code), or None when it is not read at all."""
    name = os.path.basename(path)
    ext = os.path.splitext(name)[1]
    if ext == ".md":
        return text_lines, False
    if ext in C_EXTENSIONS:
        return comment_lines_c, True
    if ext == ".py":
        return comment_lines_python, True
    if ext in HASH_EXTENSIONS or name in HASH_NAMES:
        return comment_lines_hash, True
    try:
        with open(path, "rb") as f:
            first = f.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None  # data: fuzz dictionaries' kin, fixtures' inputs
    return (comment_lines_python if b"python" in first else comment_lines_hash), True


def references(text, prefixes, repo_names, code):
    """The tokens of `text` that name repository files."""
    for match in TOKEN.finditer(text):
        token = match.group()
        # "name.hpp" in quotes is a string (an #include's), not a citation.
        before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
        quoted = before == after == '"'
        if "#" in token[1:]:
            token = token.split("#", 1)[0]  # a Markdown anchor
        token = token.rstrip(TRAILING)
        if not token or PLACEHOLDER.search(token) or "//" in token:
            continue
        if token.startswith(("/", "-", "#")):
            continue  # a path inside a root filesystem, an option, a heading
        while token.startswith("./"):
            token = token[2:]
        parts = token.split("/")
        if len(parts) > 1:
            if parts[0] in prefixes and (parts[1] or parts[0] not in FORMER_FOLDERS):
                yield token  # rule 1
            elif token.endswith(".md") and "docs" in parts[:-1]:
                yield token  # rule 2
        elif token.endswith(".md") and len(token) > 3:
            yield token  # rule 2
        elif code and not quoted and token in repo_names:
            if os.path.splitext(token)[1] in CODE_NAME_EXTENSIONS:
                yield token  # rule 3


def resolves(reference, citing, root):
    for base in (root, os.path.dirname(citing)):
        if os.path.exists(os.path.normpath(os.path.join(base, reference))):
            return True
    return False


def walk(folder):
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            yield os.path.join(dirpath, name)


def files_to_scan(root, only):
    if only:
        for p in only:
            full = os.path.join(root, p)
            if os.path.isdir(full):
                yield from walk(full)
            elif os.path.isfile(full):
                yield full
            else:
                raise FileNotFoundError(p)
        return
    for name in sorted(os.listdir(root)):
        if name.endswith(".md") and os.path.isfile(os.path.join(root, name)):
            yield os.path.join(root, name)
    for folder in CODE_FOLDERS + DOC_FOLDERS:
        if os.path.isdir(os.path.join(root, folder)):
            yield from walk(os.path.join(root, folder))


def top_folders(root):
    """The repository's own top-level folders (build trees and hidden ones
    left out), and the former ones."""
    own = {
        d
        for d in os.listdir(root)
        if os.path.isdir(os.path.join(root, d)) and not d.startswith((".", "build"))
    }
    return own | FORMER_FOLDERS


def repo_file_names(root, folders):
    names = set()
    for folder in folders:
        if os.path.isdir(os.path.join(root, folder)):
            names.update(os.path.basename(p) for p in walk(os.path.join(root, folder)))
    return names


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root",
        default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        help="the repository (default: the one holding this script)",
    )
    parser.add_argument("--list", action="store_true", help="print every reference found")
    parser.add_argument("paths", nargs="*", help="only these files or folders")
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    prefixes = top_folders(root)
    repo_names = repo_file_names(root, CODE_FOLDERS)

    try:
        paths = list(files_to_scan(root, args.paths))
    except FileNotFoundError as e:
        print(f"check-references: error: {e.args[0]}: no such file or directory", file=sys.stderr)
        return 2
    broken = []
    checked = 0
    for path in paths:
        how = reader_for(path)
        if how is None:
            continue
        read, code = how
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = read(f.read())
        rel = os.path.relpath(path, root)
        for number, text in lines:
            for ref in references(text, prefixes, repo_names, code):
                checked += 1
                ok = resolves(ref, path, root)
                if args.list:
                    print(f"{rel}:{number}: {ref}{'' if ok else '  (does not resolve)'}")
                if not ok:
                    broken.append(f"{rel}:{number}: {ref}")
    if broken:
        print(
            f"check-references: {len(broken)} of {checked} references do not resolve:",
            file=sys.stderr,
        )
        for b in broken:
            print(f"  {b}", file=sys.stderr)
        return 1
    print(f"check-references: all {checked} references in {len(paths)} files resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
