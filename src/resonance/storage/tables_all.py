"""Imports every tables module so ``metadata`` knows every table (Alembic autogenerate)."""

from resonance.storage import (
    tables,  # noqa: F401
    tables_agents,  # noqa: F401
    tables_authority,  # noqa: F401
    tables_console,  # noqa: F401
    tables_dsp,  # noqa: F401
    tables_jobs,  # noqa: F401
    tables_loop,  # noqa: F401
    tables_models,  # noqa: F401
    tables_registry,  # noqa: F401
    tables_review,  # noqa: F401
    tables_trust,  # noqa: F401
)
from resonance.storage.sql import tokens  # noqa: F401  (tables beside their repository)
from resonance.storage.tables import metadata

__all__ = ["metadata"]
