"""Benchmark: model load + check time and create_app time for the default model."""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def commit() -> str:
    from bench.common import git_commit

    return git_commit()


def main() -> None:
    from app.model.loader import load_file

    load_file("model.yaml")  # warm imports
    checks = []
    for _ in range(20):
        start = time.perf_counter()
        load_file("model.yaml")
        checks.append(time.perf_counter() - start)
    # create_app in fresh processes: what a starting worker pays, imports included.
    code = ("import time; t=time.perf_counter(); from app import create_app; "
            "create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SECRET_KEY': 'x'}); "
            "print(time.perf_counter()-t)")
    starts = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.strip().splitlines()[-1]) for _ in range(5)]
    lines = open("model.yaml", encoding="utf-8").read().count("\n")
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, commit {commit()}")
    print(f"data: default model.yaml ({lines} lines)")
    print(f"model load+check: median {statistics.median(checks) * 1000:.1f} ms, max {max(checks) * 1000:.1f} ms (aim < 300 ms)")
    print(f"create_app (new process, imports included): median {statistics.median(starts):.2f} s, "
          f"max {max(starts):.2f} s (aim < 2 s)")


if __name__ == "__main__":
    main()
