"""A space on disk: configuration, metadata store, artifact store, event bus."""

from __future__ import annotations

import json
import os
import re
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resonance.domain.errors import AlreadyExists, InvalidInput, StoreUnavailable
from resonance.domain.limits import Limits
from resonance.domain.llm import LlmSettings
from resonance.services.events import EventBus
from resonance.storage.artifacts import LocalArtifactStore
from resonance.storage.sqlite_reader import SqliteCatalogReader, sqlite_path
from resonance.storage.store import CatalogReader, Tx

if TYPE_CHECKING:  # the event classes, the SQL store and the signing keys load when first used
    from resonance.domain import receipts
    from resonance.domain.events import Event
    from resonance.domain.ledger import LedgerEntry
    from resonance.services.keys import SpaceKeys
    from resonance.storage.sql import SqlStore

CONFIG_NAME = "resonance.toml"
HEAD_META = "ledger_head_signed"
HEAD_FILE = "ledger-head.json"
KEEP_RECEIPTS = 100
# receipts of the current request (the API sets a list per request and returns them)
RECEIPT_SINK: ContextVar[list[receipts.SignedStatement] | None] = ContextVar(
    "resonance_receipts", default=None
)
DEFAULT_MAX_INGEST_BYTES = 2 * 1024**3


def _toml_str(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value)


def _non_finite_policy(value: Any) -> str:
    if value not in ("warn", "reject"):
        raise InvalidInput('[space] non_finite must be "warn" or "reject"', value=value)
    return str(value)


def utcnow() -> str:
    """Current UTC time as an ISO 8601 string with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class SpaceConfig:
    """Settings read from ``resonance.toml``."""

    name: str
    db_url: str
    artifacts: Path
    max_ingest_bytes: int = DEFAULT_MAX_INGEST_BYTES
    limits: Limits = field(default_factory=Limits)
    non_finite: str = "warn"  # inf/-inf/NaN cells at ingest: "warn" (kept) or "reject"
    #: Job queue: ``redis://HOST:PORT/DB`` (scale-out) or empty for the embedded SQLite
    #: queue at ``<space>/queue.db``. ``RESONANCE_QUEUE_URL`` overrides it.
    queue_url: str = ""
    #: The LLM planner's endpoint (``[llm]``); ``None``: agents plan with rules only.
    llm: LlmSettings | None = None

    @property
    def safe_db_url(self) -> str:
        """The store URL with any password masked (for output and logs)."""
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", self.db_url)


@dataclass
class Work:
    """One unit of work: the transaction plus event emission."""

    tx: Tx
    bus: EventBus
    now: str
    appended: list[LedgerEntry] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        """Publish ``event`` inside this transaction (the ledger records it)."""
        self.bus.publish(self.tx, event, self.now)
        head = self.tx.ledger_head()
        if head is not None:
            self.appended.append(head)


class Space:
    """An opened space. Use :meth:`init` to create one and :meth:`open` to open it.

    With ``quick_reads`` (what a one-shot command such as ``resonance dataset list`` asks
    for) and an embedded SQLite store, :meth:`read` answers catalog queries with the
    standard library's ``sqlite3`` and the SQL store (SQLAlchemy) is only set up when a
    unit of work needs it; otherwise both go through the SQL store.
    """

    def __init__(self, root: Path, config: SpaceConfig, *, quick_reads: bool = False) -> None:
        self.root = root
        self.config = config
        self.artifacts = LocalArtifactStore(config.artifacts)
        self.bus = EventBus()
        self._keys: SpaceKeys | None = None
        # signed receipts of the entries this process appended, newest last
        self.receipts: list[receipts.SignedStatement] = []
        self._store: SqlStore | None = None
        self._quick = sqlite_path(config.db_url) if quick_reads else None
        if self._quick is None:
            self._store = self._open_store()

    def _open_store(self) -> SqlStore:
        from resonance.storage.sql import SqlStore

        return SqlStore(self.config.db_url)

    @property
    def store(self) -> SqlStore:
        """The metadata store (set up on first use when the space was opened for quick reads)."""
        if self._store is None:
            self._store = self._open_store()
        return self._store

    @classmethod
    def _read_config(cls, root: Path) -> SpaceConfig:
        path = root / CONFIG_NAME
        if not path.exists():
            raise StoreUnavailable(
                f"no space at {root} (missing {CONFIG_NAME}); run 'resonance init' first",
                path=str(root),
            )
        return cls._read_config_text(root, path.read_text())

    @classmethod
    def open(cls, root: str | Path, *, quick_reads: bool = False) -> Space:
        """Open the space in folder ``root`` (``quick_reads``: see :class:`Space`)."""
        root = Path(root).resolve()
        return cls(root, cls._read_config(root), quick_reads=quick_reads)

    @classmethod
    def init(
        cls,
        root: str | Path,
        *,
        db_url: str | None = None,
        name: str | None = None,
        max_ingest_bytes: int = DEFAULT_MAX_INGEST_BYTES,
    ) -> Space:
        """Create a space in ``root``: config file, migrated store, artifact folder.

        Parameters
        ----------
        root:
            Folder of the space (created if missing).
        db_url:
            Metadata store URL; default SQLite at ``<root>/space.db``.
        name:
            Display name; default the folder name.
        max_ingest_bytes:
            Largest file ``ingest`` accepts.
        """
        root = Path(root).resolve()
        if (root / CONFIG_NAME).exists():
            raise AlreadyExists(f"a space already exists at {root}", path=str(root))
        if max_ingest_bytes <= 0:
            raise InvalidInput("max_ingest_bytes must be positive")
        root.mkdir(parents=True, exist_ok=True)
        url = db_url or "sqlite:///{root}/space.db"
        text = (
            "[space]\n"
            f"name = {_toml_str(name or root.name)}\n"
            f"db_url = {_toml_str(url)}\n"
            'artifacts = "artifacts"\n'
            f"max_ingest_bytes = {int(max_ingest_bytes)}\n"
        )
        tmp = root / (CONFIG_NAME + ".tmp")
        tmp.write_text(text)
        try:
            space = cls(root, cls._read_config_text(root, text))
            space.store.migrate()
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, root / CONFIG_NAME)
        return space

    @staticmethod
    def _read_config_text(root: Path, text: str) -> SpaceConfig:
        doc = tomllib.loads(text)
        data: dict[str, Any] = doc["space"]
        artifacts = Path(data.get("artifacts", "artifacts"))
        db_url = os.environ.get("RESONANCE_DB_URL") or data["db_url"]
        return SpaceConfig(
            name=data.get("name", root.name),
            db_url=db_url.replace("{root}", str(root)),
            artifacts=artifacts if artifacts.is_absolute() else root / artifacts,
            max_ingest_bytes=int(data.get("max_ingest_bytes", DEFAULT_MAX_INGEST_BYTES)),
            limits=Limits.from_dict(doc.get("limits", {})),
            non_finite=_non_finite_policy(data.get("non_finite", "warn")),
            queue_url=os.environ.get("RESONANCE_QUEUE_URL") or str(data.get("queue_url", "")),
            llm=LlmSettings.from_dict(doc["llm"]) if "llm" in doc else None,
        )

    @contextmanager
    def work(self) -> Iterator[Work]:
        """Open a unit of work; commits on success, rolls back on error.

        When the work appended to the ledger, the new head is signed with the space
        key in the same transaction; after the commit every appended entry gets a
        signed receipt (:attr:`receipts`) and the signed head is copied to
        ``<root>/ledger-head.json``, outside the database.
        """
        with self.store.transaction() as tx:
            work = Work(tx, self.bus, utcnow())
            yield work
            if work.appended:
                from resonance.domain import receipts  # cryptography: only once work is signed

                head = self._sign(work.appended[-1], receipts.KIND_HEAD)
                tx.set_meta(HEAD_META, json.dumps(head.to_dict(), sort_keys=True))
        if work.appended:
            self._after_commit(work.appended, head)

    def _sign(self, entry: LedgerEntry, kind: str) -> receipts.SignedStatement:
        from resonance.domain import receipts

        keys = self.keys
        unsigned = receipts.statement_for(
            entry, kind=kind, space=self.config.name, key_id=keys.key_id
        )
        return receipts.SignedStatement(
            **{**unsigned.body(), "signature": keys.sign_json(unsigned.body())}
        )

    def _after_commit(self, entries: list[LedgerEntry], head: receipts.SignedStatement) -> None:
        from resonance.domain import receipts

        signed = [self._sign(entry, receipts.KIND_RECEIPT) for entry in entries]
        self.receipts.extend(signed)
        del self.receipts[:-KEEP_RECEIPTS]
        sink = RECEIPT_SINK.get()
        if sink is not None:
            sink.extend(signed)
        path = self.root / HEAD_FILE
        try:
            old = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            old = {}
        if int(old.get("seq", 0)) >= head.seq:
            return  # another writer already recorded a later head
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_text(json.dumps(head.to_dict(), sort_keys=True, indent=1))
            os.replace(tmp, path)
        except OSError:  # the copy is a lower bound; the committed work stands
            tmp.unlink(missing_ok=True)

    @contextmanager
    def read(self) -> Iterator[CatalogReader]:
        """A read-only view of the catalog, consistent for the block; writes use :meth:`work`.

        The embedded store's quick reader when the space was opened with ``quick_reads``,
        else a transaction of the SQL store.
        """
        if self._quick is not None:
            with SqliteCatalogReader.open(self._quick) as reader:
                yield reader
        else:
            with self.store.transaction() as tx:
                yield tx

    @property
    def keys(self) -> SpaceKeys:
        """The space's Ed25519 signing key pair (created in ``<root>/keys`` on first use)."""
        if self._keys is None:
            from resonance.services.keys import load_or_create  # cryptography: only to sign

            self._keys = load_or_create(self.root)
        return self._keys

    def today(self) -> date:
        """Today's date in UTC (policy expiry is checked against it)."""
        return datetime.now(UTC).date()

    def close(self) -> None:
        """Release the store's connections."""
        if self._store is not None:
            self._store.close()
