"""A real nats-server of the tests' own: JetStream on, a store dir under tmp, a free loopback port,
and users with the permissions a deployment gives them: the core may publish the event subject
and manage its stream; an edge may only read the stream (create consumers, get messages, answer
flow control) and so cannot publish an event; nobody connects without a password. It can be
stopped and started again on the same store dir (a NATS outage).

:class:`NatsCluster` runs three of them as one JetStream cluster (routes on free loopback ports,
the same users on every node), for R3 streams and the loss of one node, then two."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import nkeys

STREAM = "REDCOLOR"
SUBJECT = "redcolor.events"
USERS = {"core": "core-secret-1", "edge": "edge-secret-1", "admin": "admin-secret-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def permissions(stream: str = STREAM, subject: str = SUBJECT) -> dict[str, dict]:
    api = "$JS.API"
    core = [
        subject,
        f"{subject}.heartbeat",
        f"{api}.INFO",
        f"{api}.STREAM.CREATE.{stream}",
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.MSG.GET.{stream}",
    ]
    edge = [
        f"{api}.INFO",
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.CONSUMER.CREATE.{stream}",
        f"{api}.CONSUMER.CREATE.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]
    inbox = {"allow": ["_INBOX.>"]}
    return {
        "core": {"publish": {"allow": core}, "subscribe": inbox},
        "edge": {
            "publish": {"allow": edge},
            "subscribe": {"allow": ["_INBOX.>", f"{subject}.heartbeat"]},
        },
        "admin": {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}},
    }


def kill(proc: subprocess.Popen | None) -> None:
    """SIGKILL ``proc`` (if any) and reap it; None, for the caller's handle."""
    if proc is not None:
        proc.kill()
        proc.wait(5)


def stop(proc: subprocess.Popen | None) -> None:
    """SIGTERM ``proc`` (if any), SIGKILL after 5 s, reap it; None, for the caller's handle."""
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            kill(proc)


@dataclass
class NatsServer:
    """``start()``/``stop()`` a nats-server on ``port`` with its store in ``root``."""

    root: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    name: str = "redcolor-test"
    cluster_port: int = 0
    routes: tuple[int, ...] = ()
    edge_seed: bytes | None = None

    def __post_init__(self) -> None:
        self.port = self.port or _free_port()
        self.root.mkdir(parents=True, exist_ok=True)
        self.store_dir = self.root / "js"
        self.config = self.root / "nats.conf"
        perms = permissions()
        users: list[dict] = [
            {"user": name, "password": pw, "permissions": perms[name]} for name, pw in USERS.items()
        ]
        # An edge that logs in with an nkey (signs the server's nonce; no password sent).
        seed = self.edge_seed or nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
        self.edge_nkey_seed = self.root / "edge.nk"
        self.edge_nkey_seed.write_bytes(seed)
        self.edge_nkey_seed.chmod(0o600)
        public = nkeys.from_seed(bytearray(seed)).public_key.decode()
        users.append({"nkey": public, "permissions": perms["edge"]})
        config: dict = {
            "server_name": self.name,
            "listen": f"127.0.0.1:{self.port}",
            "jetstream": {"store_dir": str(self.store_dir)},
            "authorization": {"users": users},
        }
        if self.cluster_port:
            config["cluster"] = {
                "name": "redcolor",
                "listen": f"127.0.0.1:{self.cluster_port}",
                "routes": [f"nats-route://127.0.0.1:{p}" for p in self.routes],
            }
        self.config.write_text(json.dumps(config))  # the NATS config format accepts JSON

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None
        with (self.root / "nats.log").open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                ["nats-server", "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.root / "nats.log").read_text()) from None
                time.sleep(0.02)
        raise RuntimeError("nats-server did not start")

    def kill(self) -> None:
        """SIGKILL: the node vanishes mid-write, as in a crash."""
        self.proc = kill(self.proc)

    def stop(self) -> None:
        self.proc = stop(self.proc)

    def __enter__(self) -> NatsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class NatsCluster:
    """Three nats-servers with JetStream as one cluster on free loopback ports.

    ``url`` names every node (comma-separated, what ``--nats-follow``/``--nats-publish`` take);
    ``nodes[i].kill()`` / ``.start()`` take one node away and back on its store dir. A stream
    made with ``replicas=3`` keeps working with one node gone, and has no quorum with two.
    """

    def __init__(self, root: Path, size: int = 3) -> None:
        cluster_ports = [_free_port() for _ in range(size)]
        seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
        self.nodes = [
            NatsServer(
                root / f"n{i}",
                name=f"n{i}",
                cluster_port=cluster_ports[i],
                routes=tuple(p for j, p in enumerate(cluster_ports) if j != i),
                edge_seed=seed,
            )
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        self.wait_jetstream()

    def wait_jetstream(self, timeout_s: float = 20.0) -> None:
        """Until the cluster has elected its JetStream meta leader (a stream can be made)."""
        import asyncio

        import nats

        async def ready() -> None:
            nc = await nats.connect(
                servers=[n.url for n in self.nodes if n.proc is not None],
                user="admin",
                password=USERS["admin"],
            )
            try:
                deadline = time.monotonic() + timeout_s
                while True:
                    try:
                        await nc.jetstream(timeout=1).account_info()
                        return
                    except (nats.errors.Error, TimeoutError):
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.1)
            finally:
                await nc.close()

        asyncio.run(ready())

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> NatsCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
