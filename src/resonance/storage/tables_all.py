"""Imports every module that defines tables, so ``metadata`` knows every table (Alembic).

The foundation's tables (organizations, datasets and their versions, policies, the ledger),
which several repositories share, are in ``storage/tables.py``; every other aggregate
defines its tables beside its repository in ``storage/sql/``.
"""

from resonance.storage import tables  # noqa: F401
from resonance.storage.sql import (  # noqa: F401
    agents,
    console,
    dsp,
    jobs,
    loop,
    meta,
    model_versions,
    registry,
    review,
    tokens,
    trust,
)
from resonance.storage.tables import metadata

__all__ = ["metadata"]
