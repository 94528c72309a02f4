"""Contract tests of the console-session repository on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resonance.domain.errors import Conflict
from resonance.domain.orgs import Organization, Role
from resonance.domain.sessions import hash_session_id, new_session
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00.000000+00:00"
LATER = "2026-11-23T00:00:00.000000+00:00"


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    s.migrate()
    with s.transaction() as tx:
        tx.add_organization(
            Organization("lab", frozenset({Role.EVALUATOR}), "Hebei"), created_at=NOW
        )
    yield s
    s.close()


def test_add_get_delete_and_expire(store: SqlStore) -> None:
    plain, stored = new_session("lab", token_id="0123456789abcdef", now=NOW, hours=1)
    _, long_lived = new_session("lab", token_id="0123456789abcdef", now=NOW, hours=48)
    with store.transaction() as tx:
        tx.add_console_session(stored)
        tx.add_console_session(long_lived)
    with store.transaction() as tx:
        assert tx.get_console_session(hash_session_id(plain)) == stored
        assert tx.get_console_session(plain) is None  # only the hash finds it
        assert not stored.expired(NOW) and stored.expired(LATER)
        assert tx.delete_expired_console_sessions(now=LATER) == 1
        assert tx.get_console_session(stored.id_hash) is None
        assert tx.delete_console_session(long_lived.id_hash)
        assert not tx.delete_console_session(long_lived.id_hash)


def test_a_session_needs_a_known_organization(store: SqlStore) -> None:
    _, stored = new_session("nobody", token_id="0123456789abcdef", now=NOW)
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_console_session(stored)
