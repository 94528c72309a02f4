"""Signed bundles of a space's registries and their merge into a national view (pure).

A bundle is ``{"manifest": {...}, "signature": "...", "public_key": "<PEM>"}``. The
manifest names the space, its ledger head (seq and hash), the export time, the key
id, and carries the registries (typed achievements) and quota figures. The space's
Ed25519 key signs the canonical JSON of the manifest. An aggregator verifies each
bundle, pins each space to the key it first saw, and merges the achievements: one
achievement claimed by two spaces is listed for both and counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from resonance.domain.errors import BundleInvalid

BUNDLE_FORMAT = "resonance-bundle/1"

# The national lists, in the order the ministries show them.
LISTS: dict[str, str] = {
    "industry_models": "Key industry models",
    "common_datasets": "High-quality common datasets",
    "specialized_datasets": "Specialized high-quality datasets",
    "scenarios": "High-value scenarios",
    "specialized_models": "Specialized models and agents",
    "cases": "Landing cases",
    "consortia": "Industry consortia",
    "spaces": "Resonance spaces",
    "key_cities": "Key cities",
}


@dataclass(frozen=True)
class Achievement:
    """One entry of a national list, as a space claims it.

    ``key`` identifies the achievement across spaces (e.g. a dataset's content hash,
    a model's registry name with its builder); ``provinces`` are those of the
    organizations that achieved it (a joint achievement names every partner's).
    """

    list: str
    key: str
    name: str
    industry: str
    provinces: tuple[str, ...]
    enterprises: tuple[str, ...] = ()
    ref: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            **self.__dict__,
            "provinces": list(self.provinces),
            "enterprises": list(self.enterprises),
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Achievement:
        """Parse one manifest entry (raises ``BundleInvalid`` on a malformed one)."""
        try:
            return Achievement(
                list=str(d["list"]),
                key=str(d["key"]),
                name=str(d["name"]),
                industry=str(d["industry"]),
                provinces=tuple(str(p) for p in d["provinces"]),
                enterprises=tuple(str(e) for e in d.get("enterprises", ())),
                ref=str(d.get("ref", "")),
                detail=str(d.get("detail", "")),
            )
        except (KeyError, TypeError) as exc:
            raise BundleInvalid(f"malformed achievement in bundle: {exc}") from None


@dataclass(frozen=True)
class ImportedBundle:
    """A verified bundle as the aggregator keeps it."""

    space: str
    head_seq: int
    head_hash: str
    key_id: str
    exported_at: str
    imported_at: str
    imported_by: str
    document: dict[str, Any]

    def achievements(self) -> list[Achievement]:
        """The achievements the bundle claims."""
        return [Achievement.from_dict(a) for a in self.document["manifest"]["achievements"]]


def verify_bundle(document: Any, *, pinned: dict[str, str] | None = None) -> dict[str, Any]:
    """Check a bundle's shape and signature; return its manifest.

    Parameters
    ----------
    document:
        The parsed bundle JSON.
    pinned:
        Space name → key id already trusted for it; a bundle of a known space signed
        by another key is refused.

    Raises
    ------
    BundleInvalid
        (RES-194) unsigned, malformed, tampered with, or signed by an unexpected key.
    """
    if not isinstance(document, dict) or not isinstance(document.get("manifest"), dict):
        raise BundleInvalid("not a bundle: no manifest")
    signature, pem = document.get("signature"), document.get("public_key")
    if not isinstance(signature, str) or not signature or not isinstance(pem, str):
        raise BundleInvalid("the bundle is not signed")
    manifest: dict[str, Any] = document["manifest"]
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleInvalid(f"unknown bundle format {manifest.get('format')!r}")
    from resonance.domain.signing import key_id, verify_json  # cryptography: only to verify

    try:
        kid = key_id(pem)
        ok = verify_json(pem, manifest, signature)
    except Exception as exc:  # a malformed key (RES-100 from signing) is a bad bundle here
        raise BundleInvalid(f"the bundle's key cannot be read: {exc}") from None
    if not ok:
        raise BundleInvalid(
            "the bundle's signature does not match its manifest (tampered with)",
            space=manifest.get("space"),
        )
    if manifest.get("key_id") != kid:
        raise BundleInvalid("the manifest names another key than the one that signed it")
    space = manifest.get("space")
    if not isinstance(space, str) or not space:
        raise BundleInvalid("the manifest names no space")
    if pinned and space in pinned and pinned[space] != kid:
        raise BundleInvalid(
            f"space {space!r} was imported before under key {pinned[space]}, not {kid}",
            space=space,
        )
    if not isinstance(manifest.get("achievements"), list):
        raise BundleInvalid("the manifest holds no achievements")
    head = manifest.get("ledger_head")
    if not (
        isinstance(head, dict)
        and isinstance(head.get("seq"), int)
        and isinstance(head.get("hash"), str)
    ):
        raise BundleInvalid("the manifest names no ledger head (seq, hash)")
    return manifest


@dataclass
class NationalEntry:
    """One achievement of the merged view: who claims it and where it counts."""

    achievement: Achievement
    spaces: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {**self.achievement.to_dict(), "spaces": sorted(self.spaces)}


@dataclass
class NationalView:
    """The merged lists of every imported space (latest bundle per space)."""

    spaces: list[dict[str, Any]]
    lists: dict[str, list[NationalEntry]]

    def totals(self) -> dict[str, int]:
        """Each list counted once nationally (an achievement claimed twice counts once)."""
        return {name: len(entries) for name, entries in self.lists.items()}

    def by_province(self) -> dict[str, dict[str, int]]:
        """Each list per province: a joint achievement counts for every partner's province."""
        out: dict[str, dict[str, int]] = {}
        for name, entries in self.lists.items():
            for e in entries:
                for p in e.achievement.provinces:
                    row = out.setdefault(p, dict.fromkeys(LISTS, 0))
                    row[name] += 1
        return dict(sorted(out.items()))

    def duplicates(self) -> list[NationalEntry]:
        """Achievements claimed by more than one space."""
        return [e for es in self.lists.values() for e in es if len(e.spaces) > 1]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "spaces": self.spaces,
            "totals": self.totals(),
            "by_province": self.by_province(),
            "duplicates": [e.to_dict() for e in self.duplicates()],
            "lists": {k: [e.to_dict() for e in v] for k, v in self.lists.items()},
        }


def merge(bundles: list[ImportedBundle]) -> NationalView:
    """Merge the latest bundle of each space; de-duplicate achievements by ``(list, key)``."""
    latest: dict[str, ImportedBundle] = {}
    for b in bundles:
        if b.space not in latest or b.head_seq > latest[b.space].head_seq:
            latest[b.space] = b
    lists: dict[str, dict[str, NationalEntry]] = {name: {} for name in LISTS}
    for b in sorted(latest.values(), key=lambda x: x.space):
        for a in b.achievements():
            bucket = lists.setdefault(a.list, {})
            entry = bucket.get(a.key)
            if entry is None:
                bucket[a.key] = NationalEntry(a, [b.space])
            else:
                entry.spaces.append(b.space)
                merged = tuple(sorted(set(entry.achievement.provinces) | set(a.provinces)))
                if merged != entry.achievement.provinces:
                    entry.achievement = Achievement(
                        **{**entry.achievement.__dict__, "provinces": merged}
                    )
    spaces = [
        {
            "space": b.space,
            "key_id": b.key_id,
            "head_seq": b.head_seq,
            "head_hash": b.head_hash,
            "exported_at": b.exported_at,
            "quotas": b.document["manifest"].get("quotas", {}),
        }
        for b in sorted(latest.values(), key=lambda x: x.space)
    ]
    return NationalView(
        spaces, {k: sorted(v.values(), key=lambda e: e.achievement.name) for k, v in lists.items()}
    )
