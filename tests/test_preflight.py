"""scripts/preflight.sh, which `make demo` and `make test` run first: one line per missing thing,
exit 2, before anything is built; silent and exit 0 when nothing is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "preflight.sh"
BASH = "/bin/bash"


def _run(mode: str, path: str, python: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path, "PYTHON": python, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [BASH, str(SCRIPT), mode], env=env, capture_output=True, text=True, timeout=60
    )


def test_each_missing_tool_is_one_line_and_nothing_runs(tmp_path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with Python and nothing else
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    done = _run("test", str(bin_dir), "python3")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith("redcolor preflight: ") for line in lines)
    for tool in ("nats-server", "mosquitto", "node", "npm"):
        assert sum(line.startswith(f"redcolor preflight: no {tool} on PATH") for line in lines) == 1
    assert lines[-1].endswith("missing for make test; nothing was run")
    assert not any("Python" in line for line in lines)  # this one is fine


def test_a_python_too_old_or_missing_is_named(tmp_path) -> None:
    done = _run("demo", os.environ["PATH"], str(tmp_path / "no-python"))
    assert done.returncode == 2
    first, last = done.stderr.strip().splitlines()
    assert first.startswith("redcolor preflight: cannot run ") and "3.11 or newer" in first
    assert last == "redcolor preflight: 1 thing(s) missing for make demo; nothing was run"
    old = tmp_path / "python2"
    old.write_text("#!/bin/sh\necho 2.7.18; exit 1\n")
    old.chmod(0o755)
    done = _run("demo", os.environ["PATH"], str(old))
    assert done.returncode == 2 and "is Python 2.7.18, redcolor needs 3.11" in done.stderr


def test_demo_needs_only_python() -> None:
    done = _run("demo", os.environ["PATH"], sys.executable)
    assert (done.returncode, done.stderr) == (0, "")
