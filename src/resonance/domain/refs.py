"""References to versions: ``NAME@N`` (version ``N`` of ``NAME``) or ``NAME`` (its latest).

The one parser of dataset and model version references.
"""

from __future__ import annotations

from resonance.domain.errors import InvalidInput


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
        When the part after ``@`` is not a number.
    """
    name, sep, num = ref.partition("@")
    if not sep:
        return name, None
    if not (num.isascii() and num.isdigit()):
        raise InvalidInput(f"bad {what} reference {ref!r}; use NAME or NAME@NUMBER", ref=ref)
    return name, int(num)


def ref_name(ref: str) -> str:
    """The ``NAME`` of ``NAME@N`` (or of plain ``NAME``)."""
    return parse_ref(ref)[0]


def version_ref(ref: str) -> tuple[str, int]:
    """``NAME@N`` as ``(NAME, N)``; a reference without a number is refused."""
    name, number = parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r} names no version; use NAME@NUMBER", ref=ref)
    return name, number
