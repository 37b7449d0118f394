"""Pieces of the edge chaos tests: real `redcolor serve` processes (a core publishing its store
to a NATS cluster, edges following it), and stream clients that resume on the next edge with
the last seq and log id they hold, recording every event they get."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets

from ..bus.natsd import USERS, kill, stop

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    """One `redcolor serve` (or `redcolor edge`) process on a loopback port."""

    name: str
    args: list[str]
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    command: str = "serve"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-c", "from redcolor.cli.main import run; run()", self.command]
        if self.command == "serve":
            cmd += ["--db", str(self.root / f"{self.name}.db")]
        cmd += ["--port", str(self.port), *self.args]
        env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        log = (self.root / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)

    def wait_up(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.http}/health", timeout=1)
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not start: {self.log()}")

    def health(self) -> dict:
        return httpx.get(f"{self.http}/health", timeout=2).json()

    def kill(self) -> None:
        self.proc = kill(self.proc)

    def stop(self) -> None:
        self.proc = stop(self.proc)

    def log(self) -> str:
        path = self.root / f"{self.name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def core_and_edges(root: Path, url: str, edges: int) -> tuple[Node, list[Node]]:
    """A core publishing ``root/core.db`` to the R3 stream on ``url``, and ``edges`` edges."""
    from redcolor.bus.keys import load_or_create_signing_key

    for user in ("core", "edge"):
        (root / f"{user}.pw").write_text(USERS[user])
    key = root / "core.key"
    load_or_create_signing_key(key)
    core = Node(
        "core",
        [
            *("--nats-publish", url, "--nats-replicas", "3", "--signing-key", str(key)),
            *("--nats-user", "core", "--nats-password-file", str(root / "core.pw")),
        ],
        root,
    )
    follow = [
        *("--nats-follow", url, "--verify-key", f"{key}.pub"),
        *("--nats-user", "edge", "--nats-password-file", str(root / "edge.pw")),
    ]
    return core, [Node(f"edge{i}", follow, root) for i in range(edges)]


@dataclass
class Client:
    """A stream client that moves to the next edge whenever its connection ends, resuming after
    the last seq it holds in the log it holds (``since`` and ``log`` on WebSocket,
    ``Last-Event-ID`` on SSE). ``seqs`` is every event it was sent, in order."""

    edges: list[Node]
    kind: str = "ws"
    at: int = 0
    seqs: list[int] = field(default_factory=list)
    resets: list[dict] = field(default_factory=list)
    log_id: str | None = None
    moves: int = 0

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def _take(self, msg: dict) -> None:
        if "seq" in msg:
            self.seqs.append(msg["seq"])
            self.log_id = msg["log_id"]
        elif msg.get("type") == "reset":
            self.resets.append(msg)

    async def run(self, until_seq: list[int]) -> None:
        """Until it holds ``until_seq[0]`` (a box the test fills in once it knows the end)."""
        while not (until_seq[0] and self.last >= until_seq[0]):
            edge = self.edges[self.at % len(self.edges)]
            try:
                if self.kind == "ws":
                    await self._ws(edge, until_seq)
                else:
                    await self._sse(edge, until_seq)
            except (OSError, websockets.ConnectionClosed, httpx.HTTPError, TimeoutError):
                pass
            if until_seq[0] and self.last >= until_seq[0]:
                return
            self.at += 1
            self.moves += 1
            await asyncio.sleep(0.05)

    async def _ws(self, edge: Node, until_seq: list[int]) -> None:
        query = f"since={self.last}" + (f"&log={self.log_id}" if self.log_id else "")
        async with websockets.connect(f"{edge.ws}/v1/stream?{query}", open_timeout=2) as ws:
            while not (until_seq[0] and self.last >= until_seq[0]):
                self._take(json.loads(await asyncio.wait_for(ws.recv(), 3)))

    async def _sse(self, edge: Node, until_seq: list[int]) -> None:
        headers = {"Last-Event-ID": f"{self.log_id}:{self.last}"} if self.log_id else {}
        params = {} if self.log_id else {"since": "0"}
        timeout = httpx.Timeout(3.0)
        async with (
            httpx.AsyncClient(timeout=timeout) as http,
            http.stream("GET", f"{edge.http}/v1/events", params=params, headers=headers) as r,
        ):
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    self._take(json.loads(line[6:]))
                    if until_seq[0] and self.last >= until_seq[0]:
                        return


def memory_edge(root: Path, url: str) -> Node:
    """A `redcolor edge` process: the core's log in memory, nothing on disk."""
    core_and_edges(root, url, edges=0)  # the passwords and the core's key
    args = [
        *("--nats", url, "--verify-key", str(root / "core.key.pub")),
        *("--nats-user", "edge", "--nats-password-file", str(root / "edge.pw")),
    ]
    return Node("memory-edge", args, root, command="edge")
