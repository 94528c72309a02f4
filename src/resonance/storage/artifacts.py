"""Content-addressed artifact store on the local file system.

Files are stored under ``<root>/sha256/<2 hex>/<64 hex><suffix>``. Writes are
atomic: content goes to a temporary file in the same folder, is flushed to
disk, then renamed into place; identical content is stored once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from resonance.domain.errors import ArtifactCorrupted, NotFound

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _mismatch(digest: str, actual: str, suffix: str) -> ArtifactCorrupted:
    """RES-114 for an artifact whose bytes hash to ``actual``, not to its address ``digest``."""
    return ArtifactCorrupted(
        f"artifact {digest[:12]}{suffix} does not match its content address "
        f"(its bytes hash to {actual[:12]}); it was replaced or damaged",
        digest=digest,
        actual=actual,
        suffix=suffix,
    )


class LocalArtifactStore:
    """Artifacts on disk, named by SHA-256 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(exist_ok=True)
        # digest -> (inode, size, mtime_ns) of the file as last verified in this process
        self._verified: dict[str, tuple[int, int, int]] = {}

    def path(self, digest: str, suffix: str = "") -> Path:
        """Where an artifact with this digest lives (it may not exist)."""
        return self.root / "sha256" / digest[:2] / f"{digest}{suffix}"

    def exists(self, digest: str, suffix: str = "") -> bool:
        """True when the artifact is stored."""
        return self.path(digest, suffix).exists()

    def temp_path(self, suffix: str = "") -> Path:
        """A fresh temporary path inside the store (same file system as the artifacts)."""
        fd, name = tempfile.mkstemp(dir=self.tmp, suffix=suffix)
        os.close(fd)
        return Path(name)

    def adopt(
        self, tmp_path: Path, suffix: str = "", digest: str | None = None
    ) -> tuple[str, bool]:
        """Move a finished temporary file into the store under its digest.

        Returns
        -------
        (digest, created)
            ``created`` is False when identical content was already stored
            (the temporary file is then removed and no copy is kept).
        """
        digest = digest or sha256_file(tmp_path)
        final = self.path(digest, suffix)
        if final.exists():
            tmp_path.unlink(missing_ok=True)
            return digest, False
        final.parent.mkdir(parents=True, exist_ok=True)
        with tmp_path.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, final)
        return digest, True

    def put_bytes(self, data: bytes, suffix: str = "") -> tuple[str, bool]:
        """Store bytes; return ``(digest, created)``."""
        tmp = self.temp_path(suffix)
        tmp.write_bytes(data)
        return self.adopt(tmp, suffix, hashlib.sha256(data).hexdigest())

    def put_stream(self, stream: BinaryIO, suffix: str = "") -> tuple[str, bool]:
        """Store a stream's bytes; return ``(digest, created)``."""
        tmp = self.temp_path(suffix)
        with tmp.open("wb") as out:
            shutil.copyfileobj(stream, out, CHUNK)
        return self.adopt(tmp, suffix)

    def open(self, digest: str, suffix: str = "") -> Path:
        """Path of a stored artifact, or ``NotFound``."""
        path = self.path(digest, suffix)
        if not path.exists():
            raise NotFound(
                f"artifact {digest[:12]} is missing from the artifact store", digest=digest
            )
        return path

    def remove(self, digest: str, suffix: str = "") -> None:
        """Delete an artifact (used to undo a write whose transaction failed)."""
        self.path(digest, suffix).unlink(missing_ok=True)

    def verified(self, digest: str, suffix: str = "", *, always: bool = False) -> Path:
        """Path of a stored artifact whose bytes were checked against its digest.

        The bytes are re-hashed on first use in this process, whenever the file's
        inode, size or modification time changed since, and every time when
        ``always`` (used before a model is loaded).

        Raises
        ------
        NotFound
            When the artifact is missing.
        ArtifactCorrupted
            ``RES-114`` when the bytes no longer hash to ``digest``.
        """
        path = self.open(digest, suffix)
        st = path.stat()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if not always and self._verified.get(digest + suffix) == stamp:
            return path
        actual = sha256_file(path)
        if actual != digest:
            self._verified.pop(digest + suffix, None)
            raise _mismatch(digest, actual, suffix)
        self._verified[digest + suffix] = stamp
        return path

    def read_verified(self, digest: str, suffix: str = "") -> bytes:
        """The bytes of an artifact, hashed in the same read that returns them."""
        data = self.open(digest, suffix).read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise _mismatch(digest, actual, suffix)
        return data

    def iter_artifacts(self) -> list[tuple[str, str, Path]]:
        """Every stored artifact as ``(digest, suffix, path)`` (temporary files excluded)."""
        out: list[tuple[str, str, Path]] = []
        base = self.root / "sha256"
        if not base.exists():
            return out
        for path in sorted(base.glob("*/*")):
            name = path.name
            digest, suffix = name[:64], name[64:]
            out.append((digest, suffix, path))
        return out

    def clean_tmp(self, *, older_than_s: float = 0.0) -> int:
        """Remove leftovers of writes that never finished (call at start-up); returns the count.

        ``older_than_s`` spares entries modified more recently (a write another
        process may still be making).
        """
        import time

        removed = 0
        cutoff = time.time() - older_than_s
        for path in self.tmp.iterdir():
            try:
                if older_than_s and path.stat().st_mtime > cutoff:
                    continue
            except FileNotFoundError:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        return removed
