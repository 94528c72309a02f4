"""Use cases: a space's signed bundle, and the national (or provincial) view across spaces.

A space's operator exports a bundle: the registries' achievements that count and
the quota figures per province and central enterprise, with the ledger head, signed
by the space's Ed25519 key (:mod:`resonance.services.keys`). An aggregator imports
bundles from many spaces: each is verified (RES-194 when unsigned, tampered with, or
signed by another key than the one first seen for that space), kept, and merged:
an achievement claimed by two spaces is listed once, naming both.
"""

from __future__ import annotations

import json
from typing import Any

from resonance.domain.achievements import achievements
from resonance.domain.errors import AlreadyExists, BundleInvalid
from resonance.domain.events import BundleExported, BundleImported
from resonance.domain.national import (
    BUNDLE_FORMAT,
    ImportedBundle,
    NationalView,
    merge,
    verify_bundle,
)
from resonance.domain.orgs import Role
from resonance.domain.quotas import check_enterprise, check_province
from resonance.domain.registry import HolderKind
from resonance.services.orgs import require_role
from resonance.services.registry import snapshot_in
from resonance.services.space import Space

MAX_BUNDLE_BYTES = 50 * 1024 * 1024


def _figures(q: Any) -> dict[str, Any]:
    return {
        "met": q.met,
        "progress": round(q.progress(), 4),
        "items": {i.key: {"required": i.required, "actual": i.actual} for i in q.items},
        "industries": {
            c.subject: {"met": c.met, "progress": round(c.progress(), 4)} for c in q.children
        },
    }


def export_bundle(space: Space, *, actor: str) -> dict[str, Any]:
    """The space's signed bundle (its operator exports it); the export is ledgered.

    Returns
    -------
    dict
        ``{"manifest": {...}, "signature": str, "public_key": PEM}``; the manifest names
        the space, the ledger head it was taken at, the key id, the achievements and the
        quota figures per province and central enterprise.
    """
    keys = space.keys
    with space.work() as w:
        require_role(w.tx, actor, Role.OPERATOR)
        snap = snapshot_in(w.tx)
        head = w.tx.ledger_head(lock=True)
        provinces = sorted(
            {k.holder for k in snap.key_industries if k.holder_kind is HolderKind.PROVINCE}
        )
        enterprises = sorted(
            {k.holder for k in snap.key_industries if k.holder_kind is HolderKind.ENTERPRISE}
        )
        head_seq = head.seq if head else 0
        head_hash = head.hash if head else ""
        manifest: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "space": space.config.name,
            "exported_at": w.now,
            "ledger_head": {"seq": head_seq, "hash": head_hash},
            "key_id": keys.key_id,
            "achievements": [a.to_dict() for a in achievements(snap)],
            "quotas": {
                "provinces": {p: _figures(check_province(snap, p)) for p in provinces},
                "enterprises": {e: _figures(check_enterprise(snap, e)) for e in enterprises},
            },
        }
        signature = keys.sign_json(manifest)
        w.emit(
            BundleExported(
                actor=actor,
                object_id=f"{space.config.name}@{head_seq}",
                head_hash=head_hash,
                key_id=keys.key_id,
            )
        )
    return {"manifest": manifest, "signature": signature, "public_key": keys.public_pem}


def parse_bundle(raw: bytes) -> Any:
    """Parse a bundle file's bytes (RES-194 when it is not JSON or too large)."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleInvalid(f"a bundle is at most {MAX_BUNDLE_BYTES} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleInvalid(f"a bundle is JSON: {exc}") from None


def import_bundle(space: Space, *, actor: str, document: Any) -> ImportedBundle:
    """Verify and keep a space's bundle (an operator or an authority aggregates).

    Raises
    ------
    BundleInvalid
        (RES-194) unsigned, malformed, tampered with, or signed by another key than
        the one this aggregator first saw for that space.
    AlreadyExists
        (RES-102) the same space's bundle at the same ledger head was imported before.
    """
    with space.work() as w:
        require_role(w.tx, actor, Role.OPERATOR, Role.AUTHORITY)
        known = w.tx.list_bundles()
        pinned = {b.space: b.key_id for b in known}
        manifest = verify_bundle(document, pinned=pinned)
        head = manifest.get("ledger_head") or {}
        bundle = ImportedBundle(
            space=manifest["space"],
            head_seq=int(head.get("seq", 0)),
            head_hash=str(head.get("hash", "")),
            key_id=manifest["key_id"],
            exported_at=str(manifest.get("exported_at", "")),
            imported_at=w.now,
            imported_by=actor,
            document=document,
        )
        bundle.achievements()  # every entry parses, or RES-194
        if any(b.space == bundle.space and b.head_hash == bundle.head_hash for b in known):
            raise AlreadyExists(
                f"the bundle of {bundle.space} at ledger head {bundle.head_seq} is already "
                "imported",
                space=bundle.space,
            )
        w.tx.add_bundle(bundle)
        w.emit(
            BundleImported(
                actor=actor,
                object_id=f"{bundle.space}@{bundle.head_seq}",
                key_id=bundle.key_id,
                head_hash=bundle.head_hash,
            )
        )
    return bundle


def national_view(space: Space) -> NationalView:
    """The merged view of every imported space (latest bundle per space)."""
    with space.work() as w:
        return merge(w.tx.list_bundles())
