#!/usr/bin/env python3
"""Checks the declared rust-version against the dependency tree.

Only one toolchain can be installed on CI machines, so the MSRV is checked in
two halves: clippy's `incompatible_msrv` lint (denied in .ci/run) catches std
APIs newer than `rust-version` in this crate's code, and this script fails when
any normal or build dependency declares a newer `rust-version` than ours.

Features whose dependencies need a newer Rust (the AWS SDK, for `aws-kms`)
are named in `[package.metadata.msrv]` with the Rust they need: the crate's
own `rust-version` is checked with every other feature on, and each such
feature's tree against its own declared version, which must also be exact
(not higher than its dependencies need), so README's table stays true.
"""
import json
import subprocess
import sys
import tomllib


def parse(version):
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def tree(features):
    """The normal and build dependencies with `features` on, and the root."""
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked",
         "--no-default-features", "--features", ",".join(features)],
        check=True, capture_output=True, text=True).stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    seen, stack = set(), [root]
    while stack:
        for dep in nodes[stack.pop()]["deps"]:
            if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    return packages, root, seen


def newest(packages, ids):
    """The highest rust-version among `ids`, and the packages that declare it."""
    versions = [(parse(packages[i]["rust_version"]), packages[i]["name"], packages[i]["rust_version"])
                for i in ids if packages[i]["rust_version"]]
    return max(versions) if versions else ((0, 0, 0), "", "")


manifest = tomllib.load(open("Cargo.toml", "rb"))
newer = manifest["package"].get("metadata", {}).get("msrv", {})
features = [f for f in manifest["features"] if f != "default"]
base = [f for f in features if f not in newer]

packages, root, seen = tree(base)
ours = packages[root]["rust_version"]
too_new = [(packages[i]["name"], packages[i]["rust_version"]) for i in seen
           if packages[i]["rust_version"] and parse(packages[i]["rust_version"]) > parse(ours)]
if too_new:
    sys.exit(f"rust-version {ours} is older than dependencies need: {too_new}")
print(f"msrv: rust-version {ours} covers all {len(seen)} dependencies of every feature but {sorted(newer)}")

for feature, declared in newer.items():
    packages, _, ids = tree(base + [feature])
    need, name, raw = newest(packages, ids)
    if parse(declared) < need:
        sys.exit(f"feature {feature} declares Rust {declared}, but {name} needs {raw}")
    if parse(declared) > max(need, parse(ours)):
        sys.exit(f"feature {feature} declares Rust {declared}, but its dependencies need only {raw}")
    print(f"msrv: feature {feature} needs Rust {declared} ({name} declares it)")
