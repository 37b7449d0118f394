"""A real nats-server of the tests' own: JetStream on, a store dir under tmp, a free loopback port,
and users with the permissions a deployment gives them: the core may publish the event subject
and manage its stream; an edge may only read the stream (create consumers, get messages, answer
flow control) and so cannot publish an event; nobody connects without a password. It can be
stopped and started again on the same store dir (a NATS outage)."""

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
        "edge": {"publish": {"allow": edge}, "subscribe": inbox},
        "admin": {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}},
    }


@dataclass
class NatsServer:
    """``start()``/``stop()`` a nats-server on ``port`` with its store in ``root``."""

    root: Path
    port: int = 0
    proc: subprocess.Popen | None = None

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
        seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
        self.edge_nkey_seed = self.root / "edge.nk"
        self.edge_nkey_seed.write_bytes(seed)
        self.edge_nkey_seed.chmod(0o600)
        public = nkeys.from_seed(bytearray(seed)).public_key.decode()
        users.append({"nkey": public, "permissions": perms["edge"]})
        # The NATS config format accepts JSON.
        self.config.write_text(
            json.dumps(
                {
                    "listen": f"127.0.0.1:{self.port}",
                    "jetstream": {"store_dir": str(self.store_dir)},
                    "authorization": {"users": users},
                }
            )
        )

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

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def __enter__(self) -> NatsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
