"""A group of active/standby cores of the tests' own, all real processes on loopback.

A nats-server (JetStream, a free port, its store in tmp) holds the lease bucket and the event
stream; every core is ``redcolor serve --sensors ... --ha-lease ... --nats-publish ...`` on one
shared store (SQLite, or PostgreSQL); one edge is ``serve --nats-follow`` with a store of its
own. ``redcolor sim emit`` sends the salvo's ASTERIX to a :class:`Relay`, which forwards every
datagram to every core's port, dropping each with the probability set for that core (a lossy
sensor link). Every process started is killed when the cluster closes (no orphans)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from redcolor.bus.keys import load_or_create_signing_key
from redcolor.sensors.registry import dump_registry
from redcolor.sim.emit import registry_of
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

SALVO = Path(__file__).with_name("salvo.toml")
SHORT_SALVO = Path(__file__).with_name("short_salvo.toml")
SRC = Path(__file__).resolve().parents[2] / "src"
HOLD_S = 2.0


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}


def redcolor(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """``redcolor ARGS`` from this checkout, its output to ``log``."""
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", "from redcolor.cli.main import run; run()", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=_env(),
        start_new_session=True,
    )


class Relay:
    """UDP in on ``port``, out to every target; ``drop[i]`` is the chance a datagram to target
    ``i`` is lost."""

    def __init__(self, targets: list[int], seed: int = 15) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.targets = targets
        self.drop = [0.0] * len(targets)
        self.sent = [0] * len(targets)
        self.dropped = [0] * len(targets)
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            for i, port in enumerate(self.targets):
                if self.rng.random() < self.drop[i]:
                    self.dropped[i] += 1
                    continue
                with contextlib.suppress(OSError):
                    self.out.sendto(data, ("127.0.0.1", port))
                self.sent[i] += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()
        self.out.close()


@dataclass
class Core:
    name: str
    port: int
    udp_port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> dict | None:
        try:
            return httpx.get(f"{self.url}/health", timeout=0.5).json()
        except (httpx.HTTPError, ValueError):
            return None

    def role(self) -> str | None:
        body = self.health()
        return None if body is None else body["ha"]["role"]

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> float:
        """Send ``sig``; the time it was sent."""
        assert self.proc is not None
        at = time.time()
        os.kill(self.proc.pid, sig)
        return at


@dataclass
class Cluster:
    """Cores, an edge, a nats-server, a relay (module docstring)."""

    root: Path
    store: str
    salvo: Path = SALVO
    cores: list[Core] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    relay: Relay | None = None
    edge_port: int = 0
    nats_port: int = 0

    @property
    def nats(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    def start_nats(self) -> None:
        self.nats_port = free_port()
        store = self.root / "nats"
        store.mkdir()
        proc = subprocess.Popen(
            ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.nats_port), "-sd", str(store)],
            stdout=(self.root / "nats.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        _wait_port(self.nats_port, proc)

    def prepare(self, names: list[str]) -> None:
        sim = simulate(load_scenario(str(self.salvo)))
        (self.root / "sensors.toml").write_text(dump_registry(registry_of(sim, ("127.0.0.1",))))
        load_or_create_signing_key(self.root / "core.key")
        self.cores = [Core(n, free_port(), free_port(socket.SOCK_DGRAM)) for n in names]
        self.relay = Relay([c.udp_port for c in self.cores])
        self.bucket = f"lease_{uuid.uuid4().hex[:8]}"

    def start_core(self, core: Core, *extra: str) -> None:
        core.log = self.root / f"{core.name}.log"
        store = ("--db", self.store)
        if self.store.startswith("postgresql://"):  # the events there, the rest per core
            store = ("--store", self.store, "--db", str(self.root / f"{core.name}.db"))
        core.proc = redcolor(
            "serve",
            *store,
            *("--port", str(core.port)),
            *("--sensors", str(self.root / "sensors.toml")),
            *("--asterix", f"udp://127.0.0.1:{core.udp_port}"),
            *("--ha-lease", self.nats, "--node-id", core.name, "--ha-bucket", self.bucket),
            *("--nats-publish", self.nats, "--signing-key", str(self.root / "core.key")),
            *("--hold-s", str(HOLD_S)),
            *extra,
            log=core.log,
        )
        self.procs.append(core.proc)

    def start_edge(self) -> None:
        self.edge_port = free_port()
        proc = redcolor(
            "serve",
            *("--db", str(self.root / "edge.db"), "--port", str(self.edge_port)),
            *("--nats-follow", self.nats, "--verify-key", str(self.root / "core.key.pub")),
            log=self.root / "edge.log",
        )
        self.procs.append(proc)

    def wait_up(self, timeout_s: float = 60.0) -> None:
        """Until every live core and the edge answer /health."""
        deadline = time.monotonic() + timeout_s
        urls = [c.url for c in self.cores if c.alive] + ([self.edge_url] if self.edge_port else [])
        for url in urls:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=0.5).status_code < 600:
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{url} did not come up:\n{self.logs()}")
                time.sleep(0.1)

    def leader(self) -> Core | None:
        leaders = [c for c in self.cores if c.alive and c.role() == "leader"]
        assert len(leaders) <= 1, [c.name for c in leaders]
        return leaders[0] if leaders else None

    def wait_leader(self, timeout_s: float = 10.0, *, not_: Core | None = None) -> Core:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            lead = self.leader()
            if lead is not None and lead is not not_:
                return lead
            time.sleep(0.02)
        raise AssertionError(f"no new leader in {timeout_s} s:\n{self.logs()}")

    def emit(self) -> subprocess.Popen[bytes]:
        assert self.relay is not None
        proc = redcolor(
            "sim",
            "emit",
            str(self.salvo),
            *("--to", f"udp://127.0.0.1:{self.relay.port}", "--json"),
            log=self.root / "emit.log",
        )
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        parts = []
        for path in sorted(self.root.glob("*.log")):
            text = path.read_text(errors="replace")
            parts.append(f"--- {path.name}\n{text[-3000:]}")
        return "\n".join(parts)

    def close(self) -> None:
        for proc in reversed(self.procs):  # NATS last: the cores see no outage at the end
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGCONT)  # a stopped one dies too
                    os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        if self.relay is not None:
            self.relay.close()


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process on port {port} exited {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def dump(path: Path, figures: dict) -> None:
    path.write_text(json.dumps(figures, indent=2))
