"""The space's key pair on disk."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from resonance.domain import signing
from resonance.domain.errors import StoreUnavailable
from resonance.services import keys


def test_key_is_created_once_private_and_reloaded(tmp_path: Path) -> None:
    first = keys.load_or_create(tmp_path)
    path = keys.key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = keys.load_or_create(tmp_path)
    assert again.public_pem == first.public_pem
    assert again.key_id == first.key_id
    sig = first.sign_json({"a": 1})
    assert signing.verify_json(again.public_pem, {"a": 1}, sig)
    assert list(path.parent.iterdir()) == [path]  # no temp files left behind


def test_unreadable_key_is_a_coded_error(tmp_path: Path) -> None:
    path = keys.key_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("garbage")
    with pytest.raises(StoreUnavailable):
        keys.load_or_create(tmp_path)
