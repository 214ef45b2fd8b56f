#!/usr/bin/env python3
"""Checks the declared rust-version against the dependency tree.

Only one toolchain can be installed on CI machines, so the MSRV is checked in
two halves: clippy's `incompatible_msrv` lint (denied in .ci/run) catches std
APIs newer than `rust-version` in this crate's code, and this script fails when
any normal or build dependency declares a newer `rust-version` than ours.
"""
import json
import subprocess
import sys


def parse(version):
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
    check=True, capture_output=True, text=True).stdout)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = meta["resolve"]["root"]
ours = parse(packages[root]["rust_version"])

seen, stack = set(), [root]
while stack:
    for dep in nodes[stack.pop()]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
            seen.add(dep["pkg"])
            stack.append(dep["pkg"])

too_new = [(packages[i]["name"], packages[i]["rust_version"]) for i in seen
           if packages[i]["rust_version"] and parse(packages[i]["rust_version"]) > ours]
if too_new:
    sys.exit(f"rust-version {packages[root]['rust_version']} is older than dependencies need: {too_new}")
print(f"msrv: rust-version {packages[root]['rust_version']} covers all {len(seen)} dependencies")
