"""How every compiled kernel is launched: serially when small, else in dynamic parallel chunks.

A compiled kernel ``name`` comes in two forms: ``_name_chunk(*args, start, stop)``, the serial
body over work items ``start .. stop - 1``, and ``name(*args, n_chunks)``, which runs the body
on ``n_chunks`` contiguous chunks in parallel.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from .._threads import kernel_threads

__all__ = ["SERIAL_WORK", "launch", "run_parallel"]

SERIAL_WORK = 1 << 16  # below this many cell visits a parallel launch costs more than it saves

# Numba's 'tbb' and 'omp' threading layers take parallel launches from several Python threads
# at once; 'workqueue' (its fallback when neither is installed) aborts the process on one.
_CONCURRENT_LAYERS = ("tbb", "omp")
_workqueue_lock = threading.Lock()


def _parallel_guard() -> threading.Lock | None:
    """The lock that serialises parallel launches, unless the threading layer is known to
    take concurrent ones. Before the first launch the layer is not chosen yet: lock."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:
        return _workqueue_lock
    return None if layer in _CONCURRENT_LAYERS else _workqueue_lock


def launch(module: str, name: str, work: int, total: int, *args: Any) -> None:
    """Run kernel ``name`` of ``poolnd._kernels.<module>`` over ``total`` work items.

    Small jobs (``work`` cell visits below `SERIAL_WORK`) run the serial body on the calling
    thread. Larger ones run in parallel chunks, scheduled dynamically (one chunk at a time)
    so that a thread stalled by a busy machine does not hold up the others. Kernel modules
    are imported on first use, so that ``import poolnd`` stays light. Every kernel releases
    the GIL; under Numba's 'workqueue' threading layer, which cannot run two parallel
    launches at once, concurrent parallel launches take turns.
    """
    import numba

    kernels = importlib.import_module(f"poolnd._kernels.{module}")
    threads = kernel_threads()
    if work < SERIAL_WORK or threads == 1:
        getattr(kernels, f"_{name}_chunk")(*args, 0, total)
        return
    guard = _parallel_guard()
    with numba.parallel_chunksize(1):
        if guard is None:
            getattr(kernels, name)(*args, max(1, min(total, 16 * threads)))
        else:
            with guard:
                getattr(kernels, name)(*args, max(1, min(total, 16 * threads)))


def run_parallel(kernel: Any, *args: Any) -> None:
    """Call a ``parallel=True`` kernel that splits its own work (the unpooling kernels), with
    poolnd's thread count and the same guard as `launch`."""
    kernel_threads()
    guard = _parallel_guard()
    if guard is None:
        kernel(*args)
        return
    with guard:
        kernel(*args)
