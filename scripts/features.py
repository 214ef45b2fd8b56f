#!/usr/bin/env python3
"""Writes README.md's feature table from the `##` comments of Cargo.toml's
[features], so the two cannot drift. `--check` exits 1 when README.md is
not what this script would write (CI runs it)."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- features:start -->", "<!-- features:end -->"


def features(cargo_toml: str):
    section = re.search(r"^\[features\]\n(.*?)(?=^\[)", cargo_toml, re.M | re.S).group(1)
    defaults, rows, doc = [], [], []
    for line in section.splitlines():
        if line.startswith("##"):
            doc.append(line[2:].strip())
        elif m := re.match(r"^([a-z0-9_-]+)\s*=\s*\[(.*)\]", line):
            name, deps = m.groups()
            if name == "default":
                defaults = re.findall(r'"([^"]+)"', deps)
            else:
                if not doc:
                    sys.exit(f"feature {name} has no ## description in Cargo.toml")
                rows.append((name, " ".join(doc)))
            doc = []
        elif line.strip() and not line.startswith("#"):
            doc = []
    return [(n, "yes" if n in defaults else "no", d) for n, d in rows]


def table(rows):
    lines = ["| feature | default | what it does |", "|---|---|---|"]
    lines += [f"| `{n}` | {default} | {d} |" for n, default, d in rows]
    return "\n".join(lines)


def main():
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    rows = features((ROOT / "Cargo.toml").read_text())
    if START not in readme or END not in readme:
        sys.exit(f"README.md has no {START} ... {END} block")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    wanted = f"{head}{START}\n{table(rows)}\n{END}{tail}"
    if "--check" in sys.argv[1:]:
        if wanted != readme:
            sys.exit("README.md's feature table differs from Cargo.toml: run python3 scripts/features.py")
        print(f"feature table matches Cargo.toml ({len(rows)} features)")
    else:
        readme_path.write_text(wanted)


main()
