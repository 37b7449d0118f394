"""Secret key files (redcolor.bus.keys): made once, 0600, read back, refused in one line."""

from __future__ import annotations

import stat

import pytest

from redcolor.bus.keys import SECRET_KEY_BYTES, load_or_create_secret_key, load_secret_key
from redcolor.errors import InputError


def test_a_secret_key_is_made_once_private_and_read_back(tmp_path) -> None:
    path = tmp_path / "store.totp-key"
    key = load_or_create_secret_key(path, "TOTP key")
    assert len(key) == SECRET_KEY_BYTES and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret_key(path, "TOTP key") == key == load_secret_key(path, "TOTP key")
    assert load_or_create_secret_key(tmp_path / "other", "TOTP key") != key


@pytest.mark.parametrize(
    ("content", "mode", "says"),
    [
        (b"ab" * 32 + b"\n", 0o640, "open to other users"),
        (b"not hex at all\n", 0o600, "is not 64 hex digits"),
        (b"ab" * 16 + b"\n", 0o600, "is not 64 hex digits"),
        (b"\xff" * 64, 0o600, "is not 64 hex digits"),
    ],
)
def test_a_bad_secret_key_file_is_refused_in_one_line(tmp_path, content, mode, says) -> None:
    path = tmp_path / "store.totp-key"
    path.write_bytes(content)
    path.chmod(mode)
    with pytest.raises(InputError, match=says) as err:
        load_or_create_secret_key(path, "TOTP key")
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert path.read_bytes() == content  # never replaced


def test_a_directory_for_a_key_file_is_named_as_such(tmp_path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)  # open to others too: the message must not blame the mode
    for load in (load_or_create_secret_key, load_secret_key):
        with pytest.raises(InputError, match="is not a file") as err:
            load(folder, "TOTP key")
        assert "open to other users" not in str(err.value) and "\n" not in str(err.value)
