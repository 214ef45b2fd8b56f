#!/usr/bin/env python3
"""Turns criterion's results into the tables and the chart of BENCHMARKS.md.

    cargo bench --bench speed                                   # aws-lc-rs build
    cargo bench --bench speed --no-default-features --features ring -- verify-rs256-1KiB sign-rs256-1KiB verify-headers
    python3 benches/report.py                                   # prints tables, writes benches/verify-size.svg

Reads target/criterion/<group>/<function>[/<size>]/new/estimates.json (medians).
Standard library only.
"""
import json
import math
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion"
SIZES = ["100B", "1KiB", "16KiB", "256KiB", "1MiB"]
SIZE_BYTES = {"100B": 100, "1KiB": 1 << 10, "16KiB": 16 << 10, "256KiB": 256 << 10, "1MiB": 1 << 20}


def median_ns(*parts):
    path = CRITERION.joinpath(*parts, "new", "estimates.json")
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def fmt(ns):
    if ns is None:
        return "–"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.1f} µs"


def table(group, functions, baseline):
    rows = [f"| {group} | median | vs {baseline} |", "|---|---|---|"]
    base = median_ns(group, baseline)
    for function in functions:
        ns = median_ns(group, function)
        ratio = f"{ns / base:.3f}×" if ns and base else "–"
        rows.append(f"| {function} | {fmt(ns)} | {ratio} |")
    return "\n".join(rows)


def size_table(group):
    functions = ["raw-aws-lc", "signed-payloads-aws-lc", "jsonwebtoken"]
    rows = ["| size | " + " | ".join(functions) + " | ours / raw | jsonwebtoken / ours |", "|---" * (len(functions) + 3) + "|"]
    for size in SIZES:
        values = [median_ns(group, f, size) for f in functions]
        raw, ours, peer = values
        ratio = f"{ours / raw:.3f}×" if raw and ours else "–"
        speedup = f"{peer / ours:.2f}×" if peer and ours else "–"
        rows.append(f"| {size} | " + " | ".join(fmt(v) for v in values) + f" | {ratio} | {speedup} |")
    return "\n".join(rows)


def svg_chart(group, out):
    """Log-log chart of verify time against payload size."""
    series = {"raw-aws-lc": "#888888", "signed-payloads-aws-lc": "#1f77b4", "jsonwebtoken": "#d62728"}
    points = {f: [(SIZE_BYTES[s], median_ns(group, f, s)) for s in SIZES] for f in series}
    values = [v for pts in points.values() for _, v in pts if v]
    if not values:
        return False
    width, height, left, bottom, top, right = 720, 420, 80, 50, 30, 190
    x0, x1 = math.log10(100), math.log10(1 << 20)
    y0, y1 = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    sx = lambda b: left + (math.log10(b) - x0) / (x1 - x0) * (width - left - right)
    sy = lambda ns: height - bottom - (math.log10(ns) - y0) / (y1 - y0) * (height - top - bottom)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="18" font-size="14">RS256 verify time against payload size ({group}, median, log-log)</text>']
    for exp in range(y0, y1 + 1):
        y = sy(10 ** exp)
        label = fmt(10 ** exp).replace(".0 ", " ").replace(".00 ", " ")
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for size in SIZES:
        x = sx(SIZE_BYTES[size])
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" stroke="#f0f0f0"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle">{size}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">payload size</text>')
    for i, (function, color) in enumerate(series.items()):
        pts = [(sx(b), sy(v)) for b, v in points[function] if v]
        if pts:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in pts]
        ly = top + 20 + 20 * i
        parts.append(f'<line x1="{width - right + 15}" y1="{ly}" x2="{width - right + 40}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<text x="{width - right + 46}" y="{ly + 4}">{function}</text>')
    parts.append("</svg>")
    out.write_text("\n".join(parts) + "\n")
    return True


def main():
    if not CRITERION.exists():
        sys.exit("no criterion results: run cargo bench --bench speed first")
    print(table("sign-rs256-1KiB", ["raw-aws-lc", "raw-ring", "jsonwebtoken", "signed-payloads-aws-lc", "signed-payloads-ring"], "raw-aws-lc"))
    print()
    print(table("verify-rs256-1KiB", ["raw-aws-lc", "raw-ring", "jsonwebtoken", "signed-payloads-aws-lc", "signed-payloads-aws-lc-borrowed", "signed-payloads-aws-lc-bytes", "signed-payloads-ring", "signed-payloads-ring-borrowed", "signed-payloads-ring-bytes"], "raw-aws-lc"))
    print()
    print(table("verify-headers-ps384-1KiB", ["raw-aws-lc", "raw-ring", "signed-payloads-aws-lc", "signed-payloads-ring"], "raw-aws-lc"))
    print()
    for group in ["verify-rs256-size", "verify-rs256-size-objects"]:
        print(f"{group}\n\n{size_table(group)}\n")
    one = median_ns("verify-rs256-1KiB-threads", "signed-payloads-aws-lc", "1-threads")
    two = median_ns("verify-rs256-1KiB-threads", "signed-payloads-aws-lc", "2-threads")
    if one and two:
        print(f"threads: one thread {fmt(one)} per verification, two threads {fmt(two)} per pair: {2 * one / two:.2f}× the throughput\n")
    if svg_chart("verify-rs256-size", ROOT / "benches" / "verify-size.svg"):
        print("wrote benches/verify-size.svg")


if __name__ == "__main__":
    main()
