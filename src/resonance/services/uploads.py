"""Receiving an uploaded file: streamed to a private temp folder of the space, size-capped.

Adapters (the web console's forms) hand the stream here and get a path the
catalog services read; the folder is removed afterwards whatever happens.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from resonance.domain.errors import FileTooLarge
from resonance.services.space import Space

_CHUNK = 1 << 20


def safe_name(filename: str | None, default: str = "upload.csv") -> str:
    """The file's own name (its suffix tells the format) without anything that could leave
    the folder it is written to."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename or "").name).lstrip(".")
    return name[:120] or default


@contextmanager
def received_file(space: Space, stream: BinaryIO, filename: str | None) -> Iterator[Path]:
    """Write ``stream`` under the space's temp folder and yield its path; deleted on exit.

    Raises
    ------
    FileTooLarge
        The stream is longer than the space's ``max_ingest_bytes`` (nothing is kept).
    """
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=space.artifacts.tmp))
    try:
        path = folder / safe_name(filename)
        limit = space.config.max_ingest_bytes
        size = 0
        with path.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(
                        f"upload is above this space's ingest limit of {limit:,} bytes",
                        limit=limit,
                    )
                out.write(chunk)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
