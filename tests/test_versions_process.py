"""Versions across processes: a `model apply` killed half-way changes nothing (SQLite and PostgreSQL), and
a running gunicorn (two workers, PostgreSQL) serves a version applied by another process within its
poll interval, without a restart."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import database_url
from test_migrate import ADDED, BASE, apply as cli_apply, columns, sql

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path_factory):
    return database_url(request.param, tmp_path_factory, name="killed")


def test_an_apply_killed_half_way_leaves_the_previous_version_and_schema(fresh_url, tmp_path):
    first = cli_apply(fresh_url, BASE, tmp_path)
    assert first.returncode == 0, first.stderr
    sql(fresh_url, "INSERT INTO customer (name, customer_type, phone, address) "
                   "VALUES ('老客户', 'residential', '13800000000', '旧地址')")
    before = columns(fresh_url, "customer")
    path = tmp_path / "added.yaml"
    path.write_text(ADDED, encoding="utf-8")
    env = dict(os.environ, DATABASE_URL=fresh_url, MODEL_PATH=str(tmp_path / "none.yaml"), YKT_DEMO="1",
               YKT_APPLY_PAUSE_AFTER_FIRST_STEP="120")
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "model", "apply", str(path)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while "apply paused after step 1" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()
            assert line or process.poll() is None, process.stdout.read()
        assert "apply paused after step 1" in line  # one schema step ran inside the transaction
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()
    assert columns(fresh_url, "customer") == before and "wechat" not in before
    assert "complaint" not in _tables(fresh_url)
    assert sql(fresh_url, "SELECT number, content FROM model_revision WHERE content IS NOT NULL") == [(1, BASE)]
    assert sql(fresh_url, "SELECT name FROM customer") == [("老客户",)]
    again = cli_apply(fresh_url, ADDED, tmp_path)  # the schema is consistent: the same apply now succeeds
    assert again.returncode == 0, again.stderr
    assert "wechat" in columns(fresh_url, "customer")
    assert sql(fresh_url, "SELECT max(number) FROM model_revision") == [(2,)]


def _tables(url: str) -> set[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _page(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10) as response:
        return response.read().decode("utf-8")


def test_a_running_server_serves_a_version_applied_by_another_process(tmp_path_factory, tmp_path):
    url = database_url("postgresql", tmp_path_factory, name="hot")
    assert cli_apply(url, BASE, tmp_path).returncode == 0
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url, MODEL_PATH=str(tmp_path / "none.yaml"), YKT_DEMO="1",
               MODEL_POLL_SECONDS="1", SLA_SWEEP_IN_PROCESS="0", BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
               ACCESS_LOG="/dev/null")
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "app:create_app()"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = _page(port)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.3)
        assert "业扩通" in page and "业扩通二期" not in page
        renamed = BASE.replace("app: {name_zh: 业扩通,", "app: {name_zh: 业扩通二期,", 1)
        assert renamed != BASE
        applied = cli_apply(url, renamed, tmp_path, "--comment", "改名")
        assert applied.returncode == 0, applied.stderr
        started, seen = time.monotonic(), 0
        while seen < 6:  # both workers, several requests in a row
            assert time.monotonic() - started < 30, "the new version was not picked up"
            seen = seen + 1 if "业扩通二期" in _page(port) else 0
            time.sleep(0.2)
        assert server.poll() is None  # no restart
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        server.stderr.close()


def test_two_admins_applying_at_once_one_wins_the_other_is_told_who_and_when(fresh_url, tmp_path):
    """The first apply holds the lock (paused after its first schema step); the second, based on the
    same version 1, waits, then finds version 2 and is refused with who applied it and when."""
    assert cli_apply(fresh_url, BASE, tmp_path).returncode == 0
    first_path, second_path = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first_path.write_text(ADDED, encoding="utf-8")
    second_path.write_text(BASE.replace("label_zh: 登记初审时限", "label_zh: 初审时限", 1), encoding="utf-8")
    env = dict(os.environ, DATABASE_URL=fresh_url, MODEL_PATH=str(tmp_path / "none.yaml"), YKT_DEMO="1",
               USER="admin_a", LOGNAME="admin_a")
    command = [sys.executable, "-m", "flask", "--app", "app", "model", "apply", "--based-on", "1"]
    first = subprocess.Popen(command + [str(first_path), "--comment", "甲"], cwd=ROOT, text=True,
                             env=dict(env, YKT_APPLY_PAUSE_AFTER_FIRST_STEP="3"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = first.stderr.readline()
        while line and "apply paused" not in line:
            line = first.stderr.readline()
        assert "apply paused" in line
        second = subprocess.run(command + [str(second_path), "--comment", "乙"], cwd=ROOT, text=True,
                                env=dict(env, USER="admin_b", LOGNAME="admin_b"), capture_output=True, timeout=180)
        out, err = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    assert second.returncode == 1, second.stdout
    assert "版本 2 已被 admin_a@cli 于 " in second.stderr, second.stderr
    assert sql(fresh_url, "SELECT number, comment FROM model_revision WHERE content IS NOT NULL "
                          "ORDER BY number") == [(1, ""), (2, "甲")]
