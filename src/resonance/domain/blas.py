"""One BLAS thread for small linear algebra on a small host."""

from __future__ import annotations

from typing import Any

from threadpoolctl import ThreadpoolController

_CONTROLLER: list[ThreadpoolController] = []  # looked up once: finding the libraries takes ~10 ms


def one_blas_thread() -> Any:
    """A context limiting BLAS to one thread.

    Idle OpenBLAS workers spin, taking the cores that numpy passes (and the
    caller's own threads) need; on small matrices more threads only contend.
    """
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")
