"""The bus options of `redcolor serve` and `redcolor keys`: bad ones are one line and exit 2,
before a port is bound or NATS is reached."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from redcolor.cli.main import main


@pytest.fixture
def keys(tmp_path):
    key = tmp_path / "core.key"
    assert main(["keys", "public", "--signing-key", str(key)]) == 0
    return key, tmp_path / "core.key.pub"


def test_keys_public_makes_a_private_key_0600_and_prints_its_public_key(capsys, tmp_path) -> None:
    key = tmp_path / "core.key"
    assert main(["keys", "public", "--signing-key", str(key)]) == 0
    printed = capsys.readouterr().out
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert printed == (tmp_path / "core.key.pub").read_text()
    public = serialization.load_pem_public_key(printed.encode())
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    assert public == private.public_key()
    assert main(["keys", "public", "--signing-key", str(key)]) == 0  # the same key again
    assert capsys.readouterr().out == printed


def test_a_signing_key_others_can_read_is_refused(capsys, keys) -> None:
    key, _ = keys
    key.chmod(0o644)
    assert main(["keys", "public", "--signing-key", str(key)]) == 2
    err = capsys.readouterr().err.strip()
    assert "open to other users" in err and len(err.splitlines()) == 1


def _bad(tmp_path, keys, case: str) -> list[str]:
    key, pub = keys
    url = "nats://127.0.0.1:4222"
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    return {
        "garbage": ["--nats-publish", "garbage", "--signing-key", str(key)],
        "scheme": ["--nats-follow", "http://127.0.0.1:4222", "--verify-key", str(pub)],
        "port": ["--nats-publish", "nats://127.0.0.1:99999", "--signing-key", str(key)],
        "no host": ["--nats-publish", "nats://:4222", "--signing-key", str(key)],
        "creds in url": ["--nats-publish", "nats://u:p@127.0.0.1:4222", "--signing-key", str(key)],
        "no signing key": ["--nats-publish", url],
        "no verify key": ["--nats-follow", url],
        "verify key not a key": ["--nats-follow", url, "--verify-key", str(pw)],
        "private as verify key": ["--nats-follow", url, "--verify-key", str(key)],
        "user without password": [
            *("--nats-follow", url, "--verify-key", str(pub), "--nats-user", "edge")
        ],
        "password without user": [
            *("--nats-follow", url, "--verify-key", str(pub), "--nats-password-file", str(pw))
        ],
        "no password file": [
            *("--nats-follow", url, "--verify-key", str(pub), "--nats-user", "edge"),
            *("--nats-password-file", str(tmp_path / "missing")),
        ],
        "user and nkey": [
            *("--nats-follow", url, "--verify-key", str(pub), "--nats-user", "edge"),
            *("--nats-password-file", str(pw), "--nats-nkey-seed", str(pw)),
        ],
        "not a seed": [
            *("--nats-follow", url, "--verify-key", str(pub), "--nats-nkey-seed", str(pw))
        ],
        "both": [
            *("--nats-follow", url, "--verify-key", str(pub)),
            *("--nats-publish", url, "--signing-key", str(key)),
        ],
    }[case]


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("garbage", "bad NATS URL 'garbage'"),
        ("scheme", "bad NATS URL"),
        ("port", "bad NATS URL"),
        ("no host", "bad NATS URL"),
        ("creds in url", "not the URL"),
        ("no signing key", "--nats-publish needs --signing-key"),
        ("no verify key", "--nats-follow needs --verify-key"),
        ("verify key not a key", "is not a PEM public key"),
        ("private as verify key", "is not a PEM public key"),
        ("user without password", "--nats-user needs a password"),
        ("password without user", "--nats-user needs a password"),
        ("no password file", "cannot read NATS password file"),
        ("user and nkey", "--nats-user or with --nats-nkey-seed, not both"),
        ("not a seed", "is not an NATS nkey seed"),
        ("both", "not both"),
    ],
)
def test_bad_bus_options(capsys, monkeypatch, tmp_path, keys, case, words) -> None:
    monkeypatch.delenv("REDCOLOR_NATS_PASSWORD", raising=False)
    args = ["serve", "--db", str(tmp_path / "a.db"), *_bad(tmp_path, keys, case)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("redcolor: error:") and words in err, err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "url", ["nats://127.0.0.1:4222", "tls://nats.example:4443", "nats://[::1]:4222", "nats://h"]
)
def test_good_nats_urls_pass(url) -> None:
    from redcolor.bus.login import check_nats_url

    assert check_nats_url(url) == url


def test_the_password_comes_from_a_file_or_the_environment_and_is_never_shown(
    monkeypatch, tmp_path
) -> None:
    from redcolor.bus.login import NATS_PASSWORD_ENV, configured_spec

    url = "nats://127.0.0.1:4222"
    monkeypatch.setenv(NATS_PASSWORD_ENV, "from-env")
    assert configured_spec(url, user="edge").password == "from-env"
    pw = tmp_path / "pw"
    pw.write_text("from-file\n")
    spec = configured_spec(url, user="edge", password_file=pw)
    assert spec.password == "from-file" and "from-file" not in repr(spec)
