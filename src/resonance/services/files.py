"""Reading user files into Arrow tables and writing Parquet snapshots."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from resonance.domain.errors import FileTooLarge, InvalidInput, MalformedFile, NotFound
from resonance.domain.limits import Limits, check_cells, check_shape

FORMATS = ("csv", "parquet")


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The file format: ``fmt`` if given, else from the suffix."""
    if fmt:
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown format {fmt!r}; use csv or parquet", format=fmt)
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InvalidInput(
        f"cannot tell the format of {path.name}; use a .csv or .parquet file or pass --format",
        path=str(path),
    )


def check_file(path: Path, *, max_bytes: int) -> int:
    """Raise ``NotFound`` / ``FileTooLarge`` for a missing or too large file; return its size."""
    if not path.is_file():
        raise NotFound(f"no such file: {path}", path=str(path))
    size = path.stat().st_size
    if size > max_bytes:
        raise FileTooLarge(
            f"{path.name} is {size:,} bytes, above this space's ingest limit of {max_bytes:,} "
            "bytes (max_ingest_bytes in resonance.toml)",
            size=size,
            limit=max_bytes,
        )
    if size == 0:
        raise MalformedFile(f"{path.name} is empty", path=str(path))
    return size


def _clean_schema(schema: pa.Schema) -> pa.Schema:
    """Strip a byte-order mark and blanks from names, and the writing tool's metadata.

    Schema metadata (pandas' index description, for one) says how a file was
    written, not what it holds; dropping it lets equal rows give equal snapshots.
    """
    return pa.schema(
        [f.with_name(f.name.lstrip("\ufeff").strip()).remove_metadata() for f in schema]
    )


def header_columns(path: Path, kind: str) -> tuple[int, int | None]:
    """``(columns, rows or None)`` from a file's header alone (CSV: its first line)."""
    try:
        if kind == "parquet":
            meta = pq.read_metadata(path)
            return meta.num_columns, meta.num_rows
        with path.open("rb") as fh:
            line = fh.readline(64 << 20)
    except (pa.ArrowInvalid, OSError) as exc:
        raise MalformedFile(f"cannot parse {path.name} as {kind}: {exc}", path=str(path)) from exc
    names = (
        pcsv.read_csv(
            io.BytesIO(line), read_options=pcsv.ReadOptions(autogenerate_column_names=True)
        ).num_columns
        if line.strip()
        else 0
    )
    return names, None


def longest_cells(table: pa.Table | pa.RecordBatch) -> dict[str, int]:
    """Length in characters of the longest cell of each text column."""
    import pyarrow.compute as pc

    out = {}
    for f, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            longest = pc.max(pc.utf8_length(col)).as_py()
            out[f.name] = int(longest or 0)
    return out


SEGMENT_BYTES = 16 << 20  # a larger CSV is parsed in segments of at most this size, in parallel
BLOCK_BYTES = SEGMENT_BYTES + (1 << 20)  # the CSV reader's block: a segment is one record batch
READ_BYTES = 1 << 20  # the source hash reads the file in pieces of this size


class _Cut:
    """Where one segment of a CSV ends and the next begins: the first record start after
    ``floor``, found by the thread that reads the file in order (:class:`_Source`)."""

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self._at = floor
        self._known = threading.Event()

    def set(self, at: int) -> None:
        """The cut is at byte ``at``."""
        self._at = at
        self._known.set()

    def get(self) -> int:
        """The cut's byte offset, waiting until it is known."""
        self._known.wait()
        return self._at


class _FileRange:
    """Bytes ``start`` to ``end`` of an open file for Arrow's CSV reader.

    Each read lands in a buffer of Arrow's memory pool (``pread``, no shared file
    offset, no copy). A :class:`_Cut` end is waited for only when a read would pass
    its floor.
    """

    closed = False

    def __init__(self, fd: int, start: int, end: int | _Cut) -> None:
        self.fd, self.pos, self.end = fd, start, end

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to do: the file descriptor belongs to :class:`_CsvParts`."""

    def read(self, nbytes: int = -1) -> pa.Buffer:
        """Up to ``nbytes`` next bytes of the range."""
        end = self.end
        if isinstance(end, _Cut):
            end = end.floor if self.pos + nbytes <= end.floor else end.get()
        nbytes = max(0, min(nbytes, end - self.pos))
        buffer = pa.allocate_buffer(nbytes)
        got = os.preadv(self.fd, [memoryview(buffer)], self.pos) if nbytes else 0
        self.pos += got
        return buffer if got == nbytes else buffer.slice(0, got)


class _Source:
    """Reads a file once, in order, on its own thread: for a CSV cut into segments, the
    cuts (record starts at which no quoted value is open); with ``digest``, its SHA-256.
    """

    def __init__(self, path: Path, cuts: list[_Cut], *, digest: bool) -> None:
        self.path, self.cuts, self.digest = path, cuts, digest
        self.size = path.stat().st_size
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._next = 0  # the first cut not found yet
        self._quotes = 0  # '"' before the bytes being scanned
        self._thread = threading.Thread(target=self._run, name="source-read", daemon=True)
        if digest or cuts:
            self._thread.start()

    def sha256(self) -> str:
        """SHA-256 hex digest of the file (waits for the read)."""
        if not self.digest:
            raise ValueError("this source is not hashed")
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest

    def _run(self) -> None:
        try:
            h = hashlib.sha256()
            pos = 0
            with self.path.open("rb") as fh:
                while (self.digest or self._next < len(self.cuts)) and (
                    chunk := fh.read(READ_BYTES)
                ):
                    if self.digest:
                        h.update(chunk)
                    if self._next < len(self.cuts):
                        self._scan(chunk, pos)
                    pos += len(chunk)
            self._digest = h.hexdigest()
        except BaseException as exc:  # raised again by sha256()
            self._error = exc
        finally:
            for cut in self.cuts[self._next :]:  # none found: the segment before takes the rest
                cut.set(self.size)

    def _scan(self, chunk: bytes, pos: int) -> None:
        """Find the cuts that lie in ``chunk`` (which starts at byte ``pos``)."""
        i = 0
        while self._next < len(self.cuts):
            cut = self.cuts[self._next]
            start = max(i, cut.floor - pos)
            if start >= len(chunk):
                break
            self._quotes += chunk.count(b'"', i, start)
            i = start
            line = chunk.find(b"\n", i)
            while line >= 0 and (self._quotes + chunk.count(b'"', i, line)) % 2:
                line = chunk.find(b"\n", line + 1)
            if line < 0:
                break
            self._quotes += chunk.count(b'"', i, line + 1)
            i = line + 1
            cut.set(pos + i)
            self._next += 1
        if self._next < len(self.cuts):
            self._quotes += chunk.count(b'"', i)


_Prepare = Callable[[pa.RecordBatch], pa.RecordBatch]


class _CsvParts:
    """A CSV's record batches in file order, its segments parsed on parallel threads.

    The file is cut into segments at record starts (:class:`_Cut`); ``workers``
    threads take them in turn (segment ``s`` goes to thread ``s % workers``), so
    batches in file order are ready at a steady pace. The first segment keeps the
    header and infers the column types from its first block (as Arrow's streaming
    reader does for a whole file); later segments are parsed with those names and
    types, so a value that does not fit its column fails the same way wherever it
    lies.
    """

    def __init__(self, path: Path, *, cuts: list[_Cut], workers: int) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self.cuts, self.workers = cuts, workers
        self.stopped = False
        self.queues: list[queue.Queue[Any]] = [queue.Queue() for _ in range(len(cuts) + 1)]
        self.threads: list[threading.Thread] = []
        try:
            self.size = os.fstat(self.fd).st_size
            self.first = self._open(0, cuts[0] if cuts else self.size, None)
        except BaseException:
            os.close(self.fd)
            raise
        self.schema = self.first.schema

    def _open(self, start: int, end: int | _Cut, schema: pa.Schema | None) -> Any:
        # one thread a segment: Arrow's own threads cost about 40 % more CPU for the same parse
        # with ``schema`` (a later segment): the first segment's names and types, no header
        read = pcsv.ReadOptions(
            block_size=BLOCK_BYTES,
            use_threads=False,
            column_names=schema.names if schema is not None else None,
        )
        convert = pcsv.ConvertOptions(strings_can_be_null=True, column_types=schema)
        source = _FileRange(self.fd, start, end)
        return pcsv.open_csv(source, read_options=read, convert_options=convert)

    def _segment(self, s: int, first: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The raw batches of segment ``s`` (the first one's are the rest of ``first``)."""
        if s == 0:
            return first
        begin = self.cuts[s - 1].get()
        end = self.cuts[s].get() if s < len(self.cuts) else self.size
        return iter(self._open(begin, end, self.schema)) if begin < end else iter(())

    def _work(self, j: int, prepare: _Prepare, first: Iterator[pa.RecordBatch]) -> None:
        """Thread ``j``: parse segments ``j``, ``j + workers``, ... into their queues."""
        for s in range(j, len(self.queues), self.workers):
            out = self.queues[s]
            try:
                for batch in self._segment(s, first):
                    if self.stopped:
                        break
                    out.put(prepare(batch))
            except BaseException as exc:  # handed to the reading thread
                out.put(exc)
                out.put(None)
                return
            out.put(None)

    def read(self, prepare: _Prepare) -> Iterator[pa.RecordBatch]:
        """The batches in file order, each passed through ``prepare`` on the thread that
        parsed it (the first before any other is parsed)."""
        try:
            rest = iter(self.first)
            head = next(rest, None)
            batch = prepare(head) if head is not None else None
            for j in range(min(self.workers, len(self.queues))):
                thread = threading.Thread(
                    target=self._work, args=(j, prepare, rest), name="csv-parse", daemon=True
                )
                self.threads.append(thread)
                thread.start()
            if batch is not None:
                yield batch
            for q in self.queues:
                while (item := q.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the parsing threads (after their current block) and close the file."""
        self.stopped = True
        for thread in self.threads:
            thread.join()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class TableStream:
    """One pass over a CSV or Parquet file as cleaned record batches, kept for :meth:`table`.

    Construction reads the header (limits on the column count and a Parquet file's
    rows are checked first) and the first block; iterating yields every batch in
    file order and, after the last, checks what needs the whole file (an
    unterminated quote, the row count and text-cell lengths), raising
    ``MalformedFile`` or ``LimitExceeded`` like :func:`read_table`. With ``digest``,
    a thread reads the file once more in order for :meth:`sha256`.
    """

    def __init__(
        self,
        path: Path,
        *,
        fmt: str | None = None,
        limits: Limits | None = None,
        digest: bool = False,
    ) -> None:
        self.path, self.kind, self.limits = path, detect_format(path, fmt), limits
        if limits is not None:
            columns, rows = header_columns(path, self.kind)
            check_shape(columns=columns, rows=rows, limits=limits)
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0
        with self._errors():
            cuts: list[_Cut] = []
            workers = min(os.cpu_count() or 1, 4)
            if self.kind == "csv" and workers > 1:
                size = path.stat().st_size
                segments = max(1, -(-size // SEGMENT_BYTES))
                cuts = [_Cut(size * k // segments) for k in range(1, segments)]
            self._source = _Source(path, cuts, digest=digest)
            if self.kind == "csv":
                self.parsed: Any = _CsvParts(path, cuts=cuts, workers=workers)
            else:
                self.parsed = pq.read_table(path, memory_map=True)
            raw = self.parsed.schema
        try:
            if not raw.names:
                raise MalformedFile(f"{path.name} has no columns", path=str(path))
            if self.kind == "csv":
                _check_text(path, raw)
        except BaseException:
            self.close()
            raise
        self.schema = _clean_schema(raw)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
            raise MalformedFile(
                f"cannot parse {self.path.name} as {self.kind}: {exc}", path=str(self.path)
            ) from exc

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self.read()

    def read(
        self, parsed: Callable[[pa.RecordBatch], None] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The cleaned batches in file order; ``parsed`` gets each as soon as it is parsed,
        in any order but the first batch first, on the thread that parsed it."""

        def prepare(raw: pa.RecordBatch) -> pa.RecordBatch:
            batch = pa.RecordBatch.from_arrays(raw.columns, schema=self.schema)
            if parsed is not None:
                parsed(batch)
            return batch

        longest: dict[str, int] = {}
        batches = (
            self.parsed.read(prepare)
            if self.kind == "csv"
            else map(prepare, self.parsed.to_batches())
        )
        with self._errors():
            for batch in batches:
                self.batches.append(batch)
                self.rows += batch.num_rows
                if self.limits is not None:
                    for name, n in longest_cells(batch).items():
                        longest[name] = max(n, longest.get(name, 0))
                yield batch
        pa.default_memory_pool().release_unused()
        if self.kind == "csv" and self.batches:
            _check_quotes(self.path, self.batches[-1])
        if self.limits is not None:
            check_shape(columns=len(self.schema), rows=self.rows, limits=self.limits)
            check_cells(longest, limits=self.limits)

    def close(self) -> None:
        """Stop reading early (after an error elsewhere): release the file."""
        if self.kind == "csv":
            self.parsed.close()

    def sha256(self) -> str:
        """SHA-256 hex digest of the file's bytes (needs ``digest=True``)."""
        return self._source.sha256()

    def table(self) -> pa.Table:
        """The batches read so far as one table (no copy)."""
        return pa.Table.from_batches(self.batches, self.schema)


def read_table(path: Path, *, fmt: str | None = None, limits: Limits | None = None) -> pa.Table:
    """Read a CSV (UTF-8, BOM allowed) or Parquet file, raising ``MalformedFile`` on bad input.

    With ``limits``, the column count (and a Parquet file's row count) is checked from
    the header before any value is read, then rows and text-cell lengths before any
    validation (``LimitExceeded``, RES-116). See :class:`TableStream`.
    """
    stream = TableStream(path, fmt=fmt, limits=limits)
    for _ in stream:
        pass
    return stream.table()


def _check_quotes(path: Path, last: pa.RecordBatch) -> None:
    """An odd number of ``"`` means a quoted field never ends: Arrow would swallow the rest
    of the file into one value, so refuse it (escaped quotes come in pairs).

    Such a value ends the table and holds a line break, so the file is counted only
    when a string cell of the last row (of ``last``, the last batch) has one.
    """
    if last.num_rows == 0:
        return
    row = last.slice(last.num_rows - 1)
    if not any(
        "\n" in str(row.column(i)[0].as_py() or "")
        for i, f in enumerate(row.schema)
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ):
        return
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(16 << 20):
            count += chunk.count(b'"')
    if count % 2:
        raise MalformedFile(
            f"{path.name} has an unterminated quoted field (odd number of '\"')", path=str(path)
        )


def _check_text(path: Path, schema: pa.Schema) -> None:
    """Arrow reads bytes that are not UTF-8 as binary columns; a CSV must be UTF-8 text."""
    binary = [
        f.name for f in schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
    ]
    if binary:
        raise MalformedFile(
            f"{path.name} is not UTF-8 text (bad bytes in column(s) {binary[:5]}); "
            "save it as UTF-8 CSV",
            path=str(path),
            columns=binary,
        )


class _HashingWriter(io.RawIOBase):
    """A write-only file that hashes the bytes on their way to disk."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self.out.write(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size


ROW_GROUP_ROWS = 1 << 18  # rows per row group of every snapshot (small enough that the
# writer keeps up with the parse; 1 << 20 left it a whole row group behind at the end)


class SnapshotWriter:
    """Writes a Parquet snapshot from record batches, encoding on a worker thread.

    The layout is fixed, so equal tables give equal bytes however their rows were
    batched: row groups of :data:`ROW_GROUP_ROWS` rows (the last one shorter), each
    written from one contiguous chunk per column (Parquet's page and dictionary
    decisions happen at chunk boundaries), snappy compression, statistics on.
    :meth:`write` only queues a batch; :meth:`close` waits for the file, fsyncs it
    and returns its SHA-256, computed while writing.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self._queue: queue.Queue[pa.RecordBatch | None] = queue.Queue()
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._abort = False
        self._thread = threading.Thread(target=self._run, name="snapshot", daemon=True)
        self._thread.start()

    def write(self, batch: pa.RecordBatch) -> None:
        """Queue ``batch`` (rows in order) for the file."""
        self._queue.put(batch)

    def close(self) -> str:
        """Finish the file: returns its SHA-256 hex digest (raises what writing raised)."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest

    def abort(self) -> None:
        """Stop writing and remove the file."""
        self._abort = True
        self._queue.put(None)
        self._thread.join()
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        ended = False  # the end of the queue (None) was taken
        try:
            with self.path.open("wb") as fh:
                sink = _HashingWriter(fh)
                with pq.ParquetWriter(
                    sink, self.schema, compression="snappy", write_statistics=True
                ) as writer:
                    pending: list[pa.RecordBatch] = []
                    rows = 0
                    while (batch := self._queue.get()) is not None:
                        if self._abort:
                            continue
                        pending.append(batch)
                        rows += batch.num_rows
                        while rows >= ROW_GROUP_ROWS:
                            pending, rows = self._row_group(writer, pending, ROW_GROUP_ROWS)
                    ended = True
                    if rows and not self._abort:
                        self._row_group(writer, pending, rows)
                fh.flush()
                if not self._abort:
                    os.fsync(fh.fileno())  # durable before it is adopted into the store
            self._digest = sink.sha256.hexdigest()
        except BaseException as exc:  # raised again by close()
            self._error = exc
            while not ended and self._queue.get() is not None:  # let close() return
                pass

    def _row_group(
        self, writer: pq.ParquetWriter, pending: list[pa.RecordBatch], rows: int
    ) -> tuple[list[pa.RecordBatch], int]:
        """Write the first ``rows`` pending rows as one row group; return what is left."""
        table = pa.Table.from_batches(pending, self.schema)
        writer.write_table(table.slice(0, rows).combine_chunks(), row_group_size=rows)
        rest = table.slice(rows)
        return rest.to_batches(), rest.num_rows


def write_parquet(table: pa.Table, path: Path) -> str:
    """Write a snapshot of ``table`` with :class:`SnapshotWriter`'s fixed layout.

    Returns
    -------
    str
        SHA-256 hex digest of the written file, computed while writing.
    """
    writer = SnapshotWriter(path, table.schema)
    for batch in table.to_batches():
        writer.write(batch)
    return writer.close()


FORMULA_PREFIX = "^[=+\\-@\t\r]"


def csv_safe(table: pa.Table) -> pa.Table:
    """Text cells a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``,
    tab or carriage return) prefixed with ``'``, for CSV export only (stored data is
    unchanged)."""
    import pyarrow.compute as pc

    columns = []
    for f, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            risky = pc.fill_null(pc.match_substring_regex(col, FORMULA_PREFIX), False)
            quoted = pc.binary_join_element_wise("'", col, "")
            col = pc.if_else(risky, quoted, col)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=table.schema)


def write_csv(table: pa.Table, sink: Any) -> None:
    """Write ``table`` as CSV with formula cells neutralised (see :func:`csv_safe`)."""
    pcsv.write_csv(csv_safe(table), sink)
