"""What every benchmark prints first: the machine, the Python and the commit measured."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "(git not installed)"
    return out.stdout.strip() if out.returncode == 0 else "(no commit yet)"


def print_header() -> None:
    print(f"machine: {platform.platform()} / {platform.machine()} / {platform.processor() or '?'}; "
          f"nproc={os.cpu_count()}")
    print(f"python:  {sys.version.split()[0]} ({platform.python_implementation()})")
    print(f"commit:  {git_commit()}")
