"""Per-row provenance of derived dataset versions.

A version made from other versions (a loop's working set, a candidate, any
transformation) records, for every row, the ingested source version and the
row in it. Provenance through a derived parent is resolved down to ingested
versions, so a version's sources are always versions a data holder ingested
under its own policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from resonance.domain.datasets import SourceRows
from resonance.domain.errors import ProvenanceMissing


@dataclass(frozen=True, eq=False)
class RowProvenance:
    """Where each row came from: ``refs[source[i]]``, row ``row[i]`` of it.

    Parameters
    ----------
    refs:
        Distinct source version references (``name@number``).
    source:
        Per row, the index into ``refs``.
    row:
        Per row, the row number (0-based) in that source version.
    """

    refs: tuple[str, ...]
    source: np.ndarray
    row: np.ndarray

    def __post_init__(self) -> None:
        if len(self.source) != len(self.row):
            raise ProvenanceMissing(
                "provenance needs one source and one row number per row",
                sources=len(self.source),
                rows=len(self.row),
            )
        if len(self.source) and (
            int(self.source.min()) < 0 or int(self.source.max()) >= len(self.refs)
        ):
            raise ProvenanceMissing("provenance names a source it does not list")
        if len(self.row) and int(self.row.min()) < 0:
            raise ProvenanceMissing("provenance row numbers start at 0")

    def __len__(self) -> int:
        return len(self.row)

    @classmethod
    def of(
        cls, refs: Sequence[str] | np.ndarray, rows: Sequence[int] | np.ndarray
    ) -> RowProvenance:
        """Provenance from a per-row source reference and a per-row source row number."""
        names = np.asarray(refs, dtype=object)
        distinct = tuple(sorted({str(r) for r in names}))
        index = {r: i for i, r in enumerate(distinct)}
        source = np.fromiter((index[str(r)] for r in names), dtype=np.int32, count=len(names))
        return cls(distinct, source, np.asarray(rows, dtype=np.int64))

    @classmethod
    def whole(cls, ref: str, rows: int) -> RowProvenance:
        """Every row of one version, in order."""
        return cls((ref,), np.zeros(rows, dtype=np.int32), np.arange(rows, dtype=np.int64))

    def take(self, index: np.ndarray) -> RowProvenance:
        """The provenance of the rows at ``index`` (in that order)."""
        return RowProvenance(self.refs, self.source[index], self.row[index])

    def refs_per_row(self) -> np.ndarray:
        """Per row, its source reference."""
        return np.asarray(self.refs, dtype=object)[self.source]

    def counts(self) -> tuple[SourceRows, ...]:
        """Rows per source, sources in name order (none with zero rows)."""
        n = np.bincount(self.source, minlength=len(self.refs))
        return tuple(SourceRows(r, int(c)) for r, c in zip(self.refs, n, strict=True) if c)

    def resolve(self, parent: Callable[[str], RowProvenance | int]) -> RowProvenance:
        """Map rows through derived sources down to ingested versions.

        Parameters
        ----------
        parent:
            For a source reference, that version's own provenance when it is derived,
            or its row count when it was ingested (it is then its own source).

        Raises
        ------
        ProvenanceMissing
            A row number beyond its source's rows.
        """
        refs: list[str] = []
        index: dict[str, int] = {}
        source = np.empty(len(self), dtype=np.int32)
        row = np.empty(len(self), dtype=np.int64)

        def slot(ref: str) -> int:
            if ref not in index:
                index[ref] = len(refs)
                refs.append(ref)
            return index[ref]

        for i, ref in enumerate(self.refs):
            mask = self.source == i
            if not mask.any():
                continue
            wanted = self.row[mask]
            up = parent(ref)
            size = up if isinstance(up, int) else len(up)
            if int(wanted.max()) >= size:
                raise ProvenanceMissing(
                    f"provenance names row {int(wanted.max())} of {ref}, which has {size} rows",
                    ref=ref,
                )
            if isinstance(up, int):
                source[mask], row[mask] = slot(ref), wanted
            else:
                remap = np.fromiter((slot(r) for r in up.refs), dtype=np.int32, count=len(up.refs))
                source[mask], row[mask] = remap[up.source[wanted]], up.row[wanted]
        order = sorted(range(len(refs)), key=refs.__getitem__)
        rank = np.empty(len(refs), dtype=np.int32)
        rank[order] = np.arange(len(refs), dtype=np.int32)
        return RowProvenance(tuple(refs[i] for i in order), rank[source], row)
