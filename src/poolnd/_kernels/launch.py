"""How every compiled kernel is launched: serially when small, else in dynamic parallel chunks.

A compiled kernel ``name`` comes in two forms: ``_name_chunk(*args, start, stop)``, the serial
body over work items ``start .. stop - 1``, and ``name(*args, n_chunks)``, which runs the body
on ``n_chunks`` contiguous chunks in parallel.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SERIAL_WORK", "launch"]

SERIAL_WORK = 1 << 16  # below this many cell visits a parallel launch costs more than it saves


def launch(module: str, name: str, work: int, total: int, *args: Any) -> None:
    """Run kernel ``name`` of ``poolnd._kernels.<module>`` over ``total`` work items.

    Small jobs (``work`` cell visits below `SERIAL_WORK`) run the serial body on the calling
    thread. Larger ones run in parallel chunks, scheduled dynamically (one chunk at a time)
    so that a thread stalled by a busy machine does not hold up the others. Kernel modules
    are imported on first use, so that ``import poolnd`` stays light.
    """
    import numba

    kernels = importlib.import_module(f"poolnd._kernels.{module}")
    threads = numba.get_num_threads()
    if work < SERIAL_WORK or threads == 1:
        getattr(kernels, f"_{name}_chunk")(*args, 0, total)
        return
    with numba.parallel_chunksize(1):
        getattr(kernels, name)(*args, max(1, min(total, 16 * threads)))
