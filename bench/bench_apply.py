"""Benchmark: `flask --app app model apply` of a changed default model on a database with many
applications in flight (issue 14), then the rollback to the version before (`--version N`).

    .venv/bin/python bench/generate.py --url postgresql://postgres@127.0.0.1:5432/ykt_h7_100k --size 100000 --fresh
    .venv/bin/python bench/bench_apply.py --url postgresql://postgres@127.0.0.1:5432/ykt_h7_100k

The change is what an administrator makes: a time limit (方案答复（居民）3 → 2 个工作日), a fine amount
(A1 20 → 25 元), a stage label, and a new optional field on the application (one column added to the
table holding every application). Each apply runs as the command does, in a new process (start-up,
check, diff, stranding counts, migration, version stored); the wall time is what the admin waits.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

NEW_FIELD = "      address: {type: string, label_zh: 用电地址"


def changed(base: str) -> str:
    text = (base.replace('      - {when: "customer_type == residential", days: 3}',
                         '      - {when: "customer_type == residential", days: 2}', 1)
            .replace("target: {role: clerk}, amount: 20}", "target: {role: clerk}, amount: 25}", 1)
            .replace("label_zh: 现场勘查时限", "label_zh: 现场勘查时限（修订）", 1))
    marker = "\n  application:\n"
    start = text.index(marker)
    fields = text.index("    fields:\n", start) + len("    fields:\n")
    text = text[:fields] + "      wechat_id: {type: string, label_zh: 微信号, label_en: WeChat ID, max_length: 40}\n" \
        + text[fields:]
    assert text.count("现场勘查时限（修订）") == 1 and "days: 2}" in text and "amount: 25}" in text
    return text


def run(url: str, *args: str) -> tuple[float, str]:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-apply", SLA_SWEEP_IN_PROCESS="0")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "model", "apply", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"apply failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def in_flight(url: str) -> tuple[int, int, int]:
    import sqlalchemy as sa

    from app.model.loader import load_file

    wf = load_file(os.path.join(ROOT, "model.yaml")).model.workflow
    terminal = [key for key, stage in wf.stages.items() if stage.terminal]
    table = sa.table(wf.entity, sa.column(wf.state_field))
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            closed = conn.execute(sa.select(sa.func.count()).select_from(table)
                                  .where(table.c[wf.state_field].in_(terminal))).scalar()
            version = conn.execute(sa.text("SELECT max(number) FROM model_revision WHERE content IS NOT NULL")).scalar()
        return total, total - closed, version
    finally:
        engine.dispose()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    args = parser.parse_args(argv)
    base = open(os.path.join(ROOT, "model.yaml"), encoding="utf-8").read()
    total, open_cases, before = in_flight(args.url)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8") as handle:
        handle.write(changed(base))
    try:
        forward, out = run(args.url, handle.name, "--comment", "bench: changed limits")
    finally:
        os.unlink(handle.name)
    back, out_back = run(args.url, "--version", str(before), "--comment", "bench: back")
    print(out + out_back)
    from bench.common import print_header

    print_header()
    print(f"date:    {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"applications: {total:,} ({open_cases:,} in flight); version before: {before}")
    print(f"| apply of the changed default model (new process, wall) | {forward:.1f} s |")
    print(f"| rollback to version {before} (`--version {before}`, wall) | {back:.1f} s |")


if __name__ == "__main__":
    main()
