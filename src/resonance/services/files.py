"""Reading user files into Arrow tables and writing Parquet snapshots."""

from __future__ import annotations

import hashlib
import io
import os
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


def _clean(table: pa.Table) -> pa.Table:
    """Strip a byte-order mark and blanks from names, and the writing tool's metadata.

    Schema metadata (pandas' index description, for one) says how a file was
    written, not what it holds; dropping it lets equal rows give equal snapshots.
    """
    names = [n.lstrip("\ufeff").strip() for n in table.column_names]
    if names != table.column_names:
        table = table.rename_columns(names)
    if table.schema.metadata or any(f.metadata for f in table.schema):
        plain = pa.schema([f.remove_metadata() for f in table.schema])
        table = table.cast(plain).replace_schema_metadata(None)
    return table


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


def longest_cells(table: pa.Table) -> dict[str, int]:
    """Length in characters of the longest cell of each text column."""
    import pyarrow.compute as pc

    out = {}
    for f, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            longest = pc.max(pc.utf8_length(col)).as_py()
            out[f.name] = int(longest or 0)
    return out


def read_table(path: Path, *, fmt: str | None = None, limits: Limits | None = None) -> pa.Table:
    """Read a CSV (UTF-8, BOM allowed) or Parquet file, raising ``MalformedFile`` on bad input.

    With ``limits``, the column count (and a Parquet file's row count) is checked from
    the header before any value is read, then rows and text-cell lengths before any
    validation (``LimitExceeded``, RES-116).
    """
    kind = detect_format(path, fmt)
    if limits is not None:
        columns, rows = header_columns(path, kind)
        check_shape(columns=columns, rows=rows, limits=limits)
    try:
        if kind == "csv":
            # the streaming reader: record batches of one 16 MiB block each; the whole-file
            # reader's parallel blocks hold about 1.5x the table's size in buffers at its peak
            with pcsv.open_csv(
                path,
                read_options=pcsv.ReadOptions(block_size=16 << 20),
                convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
            ) as reader:
                table = reader.read_all()
        else:
            table = pq.read_table(path, memory_map=True)
        pa.default_memory_pool().release_unused()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        raise MalformedFile(f"cannot parse {path.name} as {kind}: {exc}", path=str(path)) from exc
    if table.num_columns == 0:
        raise MalformedFile(f"{path.name} has no columns", path=str(path))
    if kind == "csv":
        _check_text(path, table)
        _check_quotes(path, table)
    if limits is not None:
        check_shape(columns=table.num_columns, rows=table.num_rows, limits=limits)
        check_cells(longest_cells(table), limits=limits)
    return _clean(table)


def _check_quotes(path: Path, table: pa.Table) -> None:
    """An odd number of ``"`` means a quoted field never ends: Arrow would swallow the rest
    of the file into one value, so refuse it (escaped quotes come in pairs).

    Such a value ends the table and holds a line break, so the file is counted only
    when a string cell of the last row has one.
    """
    if table.num_rows == 0:
        return
    last = table.slice(table.num_rows - 1)
    if not any(
        "\n" in str(last.column(i)[0].as_py() or "")
        for i, f in enumerate(last.schema)
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


def _check_text(path: Path, table: pa.Table) -> None:
    """Arrow reads bytes that are not UTF-8 as binary columns; a CSV must be UTF-8 text."""
    binary = [
        f.name
        for f in table.schema
        if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
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


def write_parquet(table: pa.Table, path: Path) -> str:
    """Write a snapshot with fixed settings, so equal tables give equal bytes.

    Returns
    -------
    str
        SHA-256 hex digest of the written file, computed while writing.
    """
    with path.open("wb") as fh:
        sink = _HashingWriter(fh)
        pq.write_table(table, sink, compression="snappy", write_statistics=True)
        fh.flush()
        os.fsync(fh.fileno())  # durable before it is adopted into the store
    return sink.sha256.hexdigest()


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
