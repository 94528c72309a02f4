"""Options several commands declare alike (one declaration, one help text)."""

from __future__ import annotations

import typer

LAG_COLUMN = typer.Option(
    [], "--lag-column", help="Time series: column to lag (the target may be one); repeat."
)
"""``--lag-column``: a column whose earlier rows become features (models, federate, loop)."""

LAG = typer.Option([], "--lag", help="Lag in rows within the group; repeat.")
"""``--lag``: how many rows back each lag feature looks."""

WINDOW = typer.Option([], "--window", help="Mean of the previous N rows within the group; repeat.")
"""``--window``: rolling-mean features over the previous N rows."""
