"""Encryption at rest: key from SCORECAST_SECRET_KEY or a generated 0600 key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from scorecast.config import Settings
from scorecast.errors import InvalidInput, ScorecastError
from scorecast.service.secrets import KEY_FILE_NAME, SecretBox

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
BOX = SecretBox([Fernet.generate_key()])


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_round_trip(fields: dict[str, object]) -> None:
    assert BOX.decrypt(BOX.encrypt(fields)) == fields


def _settings(home: Path, key: str | None = None) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'x.db'}", secret_key=key)


def test_key_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    box = SecretBox.from_settings(_settings(tmp_path))
    key_file = tmp_path / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = {"password": "correct horse battery staple"}
    ciphertext = box.encrypt(secret)
    # long enough that random base64 cannot contain it by chance (a 2-letter one could)
    assert b"battery" not in ciphertext and b"password" not in ciphertext
    # a new process (no cache) reads the same key back
    assert SecretBox([key_file.read_bytes().strip()]).decrypt(ciphertext) == secret


def test_environment_key_wins_and_no_key_file_is_written(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    box = SecretBox.from_settings(_settings(tmp_path, key))
    assert not (tmp_path / KEY_FILE_NAME).exists()
    assert SecretBox([key.encode()]).decrypt(box.encrypt({"a": 1})) == {"a": 1}


def test_key_rotation_decrypts_with_older_keys(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = SecretBox.from_settings(_settings(tmp_path, old)).encrypt({"a": 1})
    rotated = SecretBox.from_settings(_settings(tmp_path, f"{new},{old}"))
    assert rotated.decrypt(stored) == {"a": 1}
    assert SecretBox([new.encode()]).decrypt(rotated.encrypt({"b": 2})) == {"b": 2}


def test_a_wrong_key_is_a_clear_error_without_the_secret(tmp_path: Path) -> None:
    stored = SecretBox([Fernet.generate_key()]).encrypt({"password": "hunter2"})
    with pytest.raises(ScorecastError) as caught:
        SecretBox([Fernet.generate_key()]).decrypt(stored)
    assert "SCORECAST_SECRET_KEY" in caught.value.message
    assert "hunter2" not in str(caught.value)


def test_a_malformed_key_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        SecretBox.from_settings(_settings(tmp_path, "not-a-key"))
    assert "SCORECAST_SECRET_KEY" in caught.value.message


@pytest.mark.parametrize(
    "key",
    ["ümlaut", f"{Fernet.generate_key().decode()},"],
    ids=["not ascii", "an empty second key"],  # the same on every xdist worker
)
def test_a_key_that_is_not_ascii_or_empty_is_invalid_input(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        SecretBox.from_settings(_settings(tmp_path, key))
    assert caught.value.message.startswith("SCORECAST_SECRET_KEY: not a Fernet key")


def test_a_key_file_without_a_key_names_the_file(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("garbage\n")
    with pytest.raises(InvalidInput) as caught:
        SecretBox.from_settings(_settings(tmp_path))
    assert str(tmp_path / KEY_FILE_NAME) in caught.value.message


def test_a_key_file_that_is_a_folder_names_the_file(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).mkdir()
    with pytest.raises(InvalidInput) as caught:
        SecretBox.from_settings(_settings(tmp_path))
    assert caught.value.message.startswith(f"{tmp_path / KEY_FILE_NAME}: cannot use the key file")
