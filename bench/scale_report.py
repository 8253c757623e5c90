"""Markdown tables for bench/RESULTS.md from bench/scale.py's JSON files:

    .venv/bin/python bench/scale_report.py bench/results/scale_10k.json bench/results/scale_100k.json
"""
from __future__ import annotations

import json
import sys


def _fmt(m, key):
    if not m or m.get(key) is None:
        return "—"
    return f"{m[key]:g}"


def _ratio(app, stock, key="p95_ms"):
    if not app or not stock or not app.get(key) or not stock.get(key):
        return "—"
    return f"{app[key] / stock[key]:.1f}×"


def table(result: dict) -> str:
    f = result["facts"]
    lines = [f"### {f['applications']:,} applications ({f['customers']:,} customers, {f['history']:,} history rows, "
             f"{f['timers_open']:,} open timers; database {f['db_size']})",
             "",
             f"Measured {result['date']}, commit {result['commit']}, nproc {result['nproc']}, RAM {result['ram_gb']} GB, "
             f"load average before/after {', '.join(f'{x:.1f}' for x in result['load_before'])} / "
             f"{', '.join(f'{x:.1f}' for x in result.get('load_after', []))}.",
             "",
             "| page | app p50 ms | app p95 ms | app KB | rows | stock p50 ms | stock p95 ms | stock KB | p95 ratio | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in result["pages"]:
        a, s = p["app"], p.get("stock")
        lines.append(f"| {p['label']} | {_fmt(a, 'p50_ms')} | {_fmt(a, 'p95_ms')} | {_fmt(a, 'kb')} | "
                     f"{a.get('rows', '—')} | {_fmt(s, 'p50_ms')} | {_fmt(s, 'p95_ms')} | {_fmt(s, 'kb')} | "
                     f"{_ratio(a, s)} | {a.get('errors', 0)} |")
    t = result["throughput"]
    lines += ["", "| other figure | app | stock / floor | ratio |", "|---|---:|---:|---:|"]
    al, sl = t.get("app_list", {}), t.get("stock_list", {})
    lines.append(f"| list throughput, 4 client threads (req/s) | {al.get('req_s', '—')} | {sl.get('req_s', '—')} | "
                 f"{(al['req_s'] / sl['req_s']) if sl.get('req_s') else 0:.2f} |")
    st, bare = result.get("steps", {}), result.get("bare_steps", {})
    if st:
        lines.append(f"| workflow steps over HTTP (steps/s; p50/p95 ms) | {st.get('steps_s')} ({st.get('p50_ms')}/"
                     f"{st.get('p95_ms')}) | {bare.get('steps_s', '—')} ({bare.get('p50_ms', '—')}/{bare.get('p95_ms', '—')}) "
                     f"bare floor | {(st['steps_s'] / bare['steps_s']) if bare.get('steps_s') else 0:.2f} |")
    r = result["rss_mb"]
    fmt = lambda xs: "/".join(f"{x:.0f}" for x in xs or []) or "—"  # noqa: E731
    lines.append(f"| worker RSS MB after the first page | {fmt(r.get('app_after_first_page'))} | "
                 f"{fmt(r.get('stock_after_first_page'))} | |")
    lines.append(f"| worker RSS MB after all requests | {fmt(r.get('app_after_all'))} | {fmt(r.get('stock_after_all'))} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(table(json.load(open(path))))
        print()
