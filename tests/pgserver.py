"""A private PostgreSQL server a test may stop, start and starve of disk, and small tmpfs mounts.

The machine's PostgreSQL on 5432 is shared by everyone's tests, so the fault tests never touch
it: :class:`PrivatePostgres` runs PostgreSQL 15 of its own (``initdb`` once per test session,
copied per server) as the ``postgres`` OS user (``runuser``: the tests run as root, and
PostgreSQL refuses to), on a free loopback port with its unix socket in its own directory.
:func:`small_tmpfs` mounts a tmpfs of a few megabytes (root only) for a disk that fills; as a
PostgreSQL tablespace (:meth:`PrivatePostgres.database_on`) or as a SQLite file's directory.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
_TEMPLATE: dict[str, Path] = {}  # the initdb output of this session, copied per server


def _as_postgres(*args: str | Path, timeout_s: float = 60.0) -> None:
    command = [str(a) for a in args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", PG_USER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout}")


def _chown_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(PG_USER)
        os.chown(path, user.pw_uid, user.pw_gid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _template() -> Path:
    if "data" not in _TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="redcolor-pg-template-"))
        atexit.register(shutil.rmtree, root, True)  # once the test session is over
        _chown_to_postgres(root)
        _as_postgres(
            PG_BIN / "initdb",
            "-D",
            root / "data",
            "-U",
            PG_USER,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        _TEMPLATE["data"] = root / "data"
    return _TEMPLATE["data"]


class PrivatePostgres:
    """PostgreSQL of this test only: :meth:`start`, :meth:`stop`, :meth:`restart`; ``url`` of
    its ``postgres`` database and :meth:`database` for a fresh one. :meth:`close` stops it and
    removes its files."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="redcolor-pg-"))
        _chown_to_postgres(self.root)
        self.data = self.root / "data"
        subprocess.run(["cp", "-a", str(_template()), str(self.data)], check=True)
        self.port = _free_port()
        self.server = f"postgresql://{PG_USER}@127.0.0.1:{self.port}"
        self.url = f"{self.server}/postgres"
        self._databases = 0

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=40 -c shared_buffers=16MB"
        )
        _as_postgres(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.root / "log",
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as if it crashed, recovery at the next start)."""
        _as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop")

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()

    def database(self, *, tablespace_dir: Path | None = None) -> str:
        """A new database's URL; in a new tablespace at ``tablespace_dir`` when given (an
        empty directory PostgreSQL may own), so its tables fill that disk."""
        self._databases += 1
        name = f"redcolor_{self._databases}"
        with psycopg.connect(self.url, autocommit=True) as admin:
            if tablespace_dir is None:
                admin.execute(f"CREATE DATABASE {name}")
            else:
                _chown_to_postgres(tablespace_dir)
                admin.execute(f"CREATE TABLESPACE ts_{name} LOCATION '{tablespace_dir}'")
                admin.execute(f"CREATE DATABASE {name} TABLESPACE ts_{name}")
        return f"{self.server}/{name}"

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started :class:`PrivatePostgres`, stopped and removed afterwards."""
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def small_tmpfs(size: str = "8m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on a fresh directory (root only), unmounted afterwards."""
    where = Path(tempfile.mkdtemp(prefix="redcolor-tmpfs-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()
