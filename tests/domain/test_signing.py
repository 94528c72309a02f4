"""Ed25519 signatures over canonical JSON."""

from __future__ import annotations

import pytest

from resonance.domain import signing
from resonance.domain.errors import InvalidInput


def test_canonical_json_is_independent_of_key_order() -> None:
    assert signing.canonical_json({"b": 1, "a": [1, "é"]}) == signing.canonical_json(
        {"a": [1, "é"], "b": 1}
    )
    assert signing.canonical_json({"a": 1}) == b'{"a":1}'


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        signing.canonical_json({"x": float("nan")})


def test_sign_and_verify_round_trip_and_tamper() -> None:
    key = signing.Ed25519PrivateKey.generate()
    pem = signing.public_key_pem(key)
    sig = signing.sign_json(key, {"head": 3, "hash": "ab"})
    assert signing.verify_json(pem, {"hash": "ab", "head": 3}, sig)
    assert not signing.verify_json(pem, {"hash": "ab", "head": 4}, sig)
    other = signing.public_key_pem(signing.Ed25519PrivateKey.generate())
    assert not signing.verify_json(other, {"hash": "ab", "head": 3}, sig)
    assert not signing.verify_bytes(pem, b"x", "not base64 !!")
    assert not signing.verify_bytes(pem, b"x", sig[:-4] + "AAAA")


def test_key_id_is_stable_and_short() -> None:
    key = signing.Ed25519PrivateKey.generate()
    pem = signing.public_key_pem(key)
    assert signing.key_id(pem) == signing.key_id(pem)
    assert len(signing.key_id(pem)) == 16


def test_malformed_public_key_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        signing.load_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
