#!/usr/bin/env python3
"""Check that src/ keeps its layers (ARCHITECTURE.md): each folder includes
only its own headers and those of the folders below it, nothing includes
across a layer upwards, no header includes a cycle, and LIEF is included by
src/elf/lief_adapter.cpp alone. Exits 1 naming each offending #include.

Run from anywhere; no arguments. Python 3's standard library only."""

import pathlib
import re
import sys

# Bottom to top. A folder may include its own headers and those of every
# folder before it in this list.
LAYERS = ["util", "elf", "tree", "loader", "facts", "write", "image", "trace", "prune", "cli"]
LIEF_ADAPTER = "src/elf/lief_adapter.cpp"

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def main() -> int:
    repo = pathlib.Path(__file__).resolve().parent.parent
    src = repo / "src"
    rank = {name: i for i, name in enumerate(LAYERS)}
    problems = []
    graph = {}  # header or source (relative to src/) -> project headers it includes
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".cpp", ".hpp"):
            continue
        rel = path.relative_to(src).as_posix()
        folder = rel.split("/")[0] if "/" in rel else ""
        if folder not in rank:
            problems.append(f"src/{rel}: not in a layer folder ({', '.join(LAYERS)})")
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        graph[rel] = []
        for m in INCLUDE.finditer(text):
            kind, name = m.groups()
            line = text.count("\n", 0, m.start()) + 1
            where = f"src/{rel}:{line}"
            if name.startswith("LIEF/") and f"src/{rel}" != LIEF_ADAPTER:
                problems.append(f"{where}: includes {name}: only {LIEF_ADAPTER} may include LIEF")
            if kind != '"':
                continue
            target = src / name
            if not target.exists():
                # A header beside the including file (cli/commands.hpp as "commands.hpp").
                target = path.parent / name
                if not target.exists():
                    problems.append(f"{where}: includes \"{name}\", which is not in src/")
                    continue
            trel = target.resolve().relative_to(src.resolve()).as_posix()
            graph[rel].append(trel)
            tfolder = trel.split("/")[0]
            if tfolder in rank and rank[tfolder] > rank[folder]:
                problems.append(f"{where}: {folder}/ includes {trel}: a layer may use only "
                                f"the layers below it ({' < '.join(LAYERS)})")
    # Cycles among headers (a source file is never included, so it cannot close one).
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                problems.append("include cycle: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    # A source including its own header pair is fine; a source including
    # another source is not.
    for rel, targets in graph.items():
        for t in targets:
            if t.endswith(".cpp"):
                problems.append(f"src/{rel}: includes the source file {t}")
    for p in problems:
        print(f"check-layers: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check-layers: {len(graph)} files in {len(LAYERS)} layers, no upward include, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
