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

from resonance.domain.errors import NotFound

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class LocalArtifactStore:
    """Artifacts on disk, named by SHA-256 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(exist_ok=True)

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
