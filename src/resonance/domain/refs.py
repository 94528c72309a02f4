"""References to versions: ``NAME@N`` (version ``N`` of ``NAME``) or ``NAME`` (its latest).

The one parser of dataset and model version references.
"""

from __future__ import annotations

from resonance.domain.errors import InvalidInput

MAX_VERSION_NUMBER = 2**31 - 1
"""The largest version number: fits every store's integer column."""


def parse_ref(ref: str, *, what: str = "version") -> tuple[str, int | None]:
    """Split ``NAME@N`` into ``(NAME, N)``, or plain ``NAME`` into ``(NAME, None)`` (the latest).

    Parameters
    ----------
    ref:
        The reference.
    what:
        What it refers to, for the error message (``"version"``, ``"model"``).

    Raises
    ------
    InvalidInput
        When the part after ``@`` is not a number from 1 to :data:`MAX_VERSION_NUMBER`
        (a 20-digit number once overflowed SQLite's integers into a 500).
    """
    name, sep, num = ref.partition("@")
    if not sep:
        return name, None
    if not (num.isascii() and num.isdigit()) or len(num) > 10:
        raise InvalidInput(f"bad {what} reference {ref!r}; use NAME or NAME@NUMBER", ref=ref)
    number = int(num)
    if not 1 <= number <= MAX_VERSION_NUMBER:
        raise InvalidInput(
            f"{what} numbers run from 1 to {MAX_VERSION_NUMBER}; got {ref!r}", ref=ref
        )
    return name, number


def ref_name(ref: str) -> str:
    """The ``NAME`` of ``NAME@N`` (or of plain ``NAME``)."""
    return parse_ref(ref)[0]


def version_ref(ref: str) -> tuple[str, int]:
    """``NAME@N`` as ``(NAME, N)``; a reference without a number is refused."""
    name, number = parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r} names no version; use NAME@NUMBER", ref=ref)
    return name, number
