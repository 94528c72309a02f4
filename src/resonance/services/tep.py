"""The Tennessee Eastman process as an agent environment (``tep-studio``, optional).

:func:`simulate` runs tep-studio's stabilized closed loop (the Ricker decentralized
controller) with one IDV disturbance switched on at a step, sampling the 41 measured
variables (``xmeas_1..41``) and the 12 manipulated variables (``xmv_1..12``) every
``step_hours``; the ``state`` column says ``normal`` before the onset and ``fault`` after.
Used to make a fault model's training data and to replay sealed TEP episodes.

``pip install "resonance[agents]"`` installs tep-studio (it compiles a C extension);
without it :func:`simulate` raises ``EnvironmentUnavailable`` (RES-245).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from resonance.domain.errors import EnvironmentUnavailable, InvalidInput

XMEAS = tuple(f"xmeas_{i}" for i in range(1, 42))
XMV = tuple(f"xmv_{i}" for i in range(1, 13))
STATE = "state"
#: the control interval (hours) of the closed loop: 0.05 h shuts the plant down, 0.02 h
#: is the coarsest that stays stable in our runs
CONTROL_INTERVAL = 0.02
STEP_HOURS = 0.04  # one sample per two control intervals (2.4 minutes)


def available() -> bool:
    """Whether tep-studio can be imported."""
    try:
        import tep_studio  # noqa: F401
    except ImportError:
        return False
    return True


def _closed_loop(hours: float) -> Any:
    try:
        from tep_studio import ClosedLoopSimulation
    except ImportError as exc:
        raise EnvironmentUnavailable(
            "the Tennessee Eastman environment needs tep-studio: pip install 'resonance[agents]'",
            package="tep-studio",
        ) from exc
    return ClosedLoopSimulation(horizon=hours, control_interval=CONTROL_INTERVAL)


def simulate(*, seed: int, steps: int, idv: int = 0, onset: int = 0) -> pa.Table:
    """``steps`` samples of the closed-loop TEP with disturbance IDV(``idv``) from step
    ``onset`` (``idv`` 0: no fault). A run the plant shuts down ends early.

    Raises
    ------
    EnvironmentUnavailable
        RES-245 without tep-studio.
    InvalidInput
        ``idv`` outside 0..28 or no steps.
    """
    if not 0 <= idv <= 28 or steps < 1:
        raise InvalidInput("a TEP run has 1+ steps and an IDV in 0..28", idv=idv, steps=steps)
    onset_h = onset * STEP_HOURS

    def schedule(t: float) -> np.ndarray:
        v = np.zeros(28)
        if idv and t >= onset_h:
            v[idv - 1] = 1.0
        return v

    every = round(STEP_HOURS / CONTROL_INTERVAL)
    result = _closed_loop(steps * STEP_HOURS).run(
        seed=seed, disturbance_schedule=schedule, record_every=every
    )
    rows = result.results[:steps]
    meas = np.array([r.measurements for r in rows], dtype=float).reshape(len(rows), -1)
    mv = np.array([r.implemented_action for r in rows], dtype=float).reshape(len(rows), -1)
    times = np.array([r.time for r in rows], dtype=float)
    cols: dict[str, Any] = {n: meas[:, i] for i, n in enumerate(XMEAS[: meas.shape[1]])}
    cols.update({n: mv[:, i] for i, n in enumerate(XMV[: mv.shape[1]])})
    cols["hour"] = times
    faulty = (np.arange(len(rows)) >= onset) & (idv > 0)
    cols[STATE] = np.where(faulty, "fault", "normal")
    return pa.table(cols)


def history(*, runs: list[tuple[int, int]], steps: int, onset: int, seed: int = 0) -> pa.Table:
    """Training history: one run per ``(idv, seed offset)``, each normal until ``onset``
    then faulty, with a ``run`` column (the group key: never a feature, a split boundary)."""
    parts = []
    for k, (idv, offset) in enumerate(runs):
        t = simulate(seed=seed + offset, steps=steps, idv=idv, onset=onset)
        parts.append(t.append_column("run", pa.array([f"r{k:03d}-idv{idv}"] * t.num_rows)))
    return pa.concat_tables(parts)
