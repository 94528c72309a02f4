"""Where one ingest's time goes: a timeline of its phases, then each part's CPU alone.

Run: ``python -m bench.ingest_phases /path/to/ai4i-10000000.csv`` (``bench.scale`` writes
the file). The timeline marks, in wall seconds from the start of ``catalog.ingest``, the
first and last parsed batch, the end of the validation scan and of the snapshot writer,
and the metadata commit; then the parse, the Parquet writer and the validation scan
each run alone over the same rows (CPU seconds of this process).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.scale import AI4I_LABEL, _holder, _ingest, _space, rss_mb


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timeline(csv: Path, work: Path) -> None:
    """One ingest with its phases marked."""
    from resonance.domain import validation
    from resonance.services import catalog, files

    marks: list[tuple[float, str, float]] = []
    start = [time.perf_counter()]

    def mark(what: str) -> None:
        marks.append((time.perf_counter() - start[0], what, rss_mb()))

    def wrap(owner: Any, name: str) -> None:
        inner = getattr(owner, name)

        def marked(*args: Any, **kwargs: Any) -> Any:
            result = inner(*args, **kwargs)
            mark(f"{name} returned")
            return result

        setattr(owner, name, marked)

    read = files.TableStream.read

    def marked_read(self: Any, parsed: Callable[[pa.RecordBatch], None] | None = None) -> Iterator:
        for i, batch in enumerate(read(self, parsed)):
            if i == 0:
                mark("first batch")
            yield batch
        mark("last batch")

    files.TableStream.read = marked_read  # type: ignore[method-assign]
    wrap(validation.TableScan, "finish")
    wrap(files.SnapshotWriter, "close")
    wrap(catalog, "_commit_version")
    space = _space(work / "space-phases")
    _holder(space, "plant")
    cpu = _cpu()
    start[0] = time.perf_counter()
    _ingest(space, "plant", csv, "bench")
    total = time.perf_counter() - start[0]
    for at, what, rss in marks:
        print(f"{at:7.2f} s  {what:28} RSS {rss:,.0f} MB")
    print(f"ingest: {total:.2f} s, {_cpu() - cpu:.2f} CPU-s, load {os.getloadavg()[0]:.2f}")
    space.close()
    files.TableStream.read = read  # type: ignore[method-assign]


def _parts(csv: Path, work: Path) -> None:
    """The parse, the writer and the scan, each alone."""
    from resonance.domain.datasets import make_label_spec
    from resonance.domain.validation import TableScan
    from resonance.services.files import SnapshotWriter, TableStream

    def timed(what: str, step: Callable[[], Any]) -> Any:
        cpu, wall = _cpu(), time.perf_counter()
        result = step()
        print(f"{what:34} {time.perf_counter() - wall:6.2f} s {_cpu() - cpu:6.2f} CPU-s")
        return result

    stream = TableStream(csv, digest=True)
    timed("parse + source SHA-256", lambda: (list(stream), stream.sha256()))
    table = stream.table()

    def write() -> str:
        writer = SnapshotWriter(work / "phases.parquet", table.schema)
        for batch in table.to_batches():
            writer.write(batch)
        return writer.close()

    def scan() -> Any:
        s = TableScan(table.schema, label=make_label_spec(AI4I_LABEL, None))
        for batch in table.to_batches():
            s.add(batch)
        return s.finish(table)

    timed("Parquet snapshot (encode, hash)", write)
    timed("validation scan + profile", scan)
    (work / "phases.parquet").unlink()


if __name__ == "__main__":
    path = Path(sys.argv[1])
    _timeline(path, path.parent)
    _parts(path, path.parent)
