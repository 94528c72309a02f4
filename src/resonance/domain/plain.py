"""Plain JSON values: the one place numpy scalars become Python and NaN becomes None."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """A JSON-safe copy of ``value``.

    Dicts (keys as strings), lists and tuples are copied recursively; numpy
    scalars become Python scalars; every non-finite float (NaN, ±inf) becomes
    ``None``, since JSON has none.

    Parameters
    ----------
    value:
        Any value built of dicts, lists, tuples, scalars and numpy scalars.

    Returns
    -------
    Any
        The same structure with JSON types only.
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
