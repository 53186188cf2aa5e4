"""How every compiled kernel is launched: serially when small, else in dynamic parallel chunks.

A compiled kernel is a `Form`: its serial body ``serial(*args, start, stop)`` over work items
``start .. stop - 1``, and its parallel wrapper ``parallel(*args, n_chunks)``, which runs the
body on ``n_chunks`` contiguous chunks at once. The selectors hand `launch` the `Form` itself
(never a name to look up), so a kernel that does not exist fails when its module is imported,
not when an input shape first selects it.

Each Numba module builds its forms at its foot (``MAX_ROWS = Form(_max_rows_chunk,
max_rows)``). The parallel wrappers are written out per kernel, a ``prange`` over the body's
chunks: Numba caches only top-level functions on disk, and one generic wrapper would take the
body as a dispatcher argument, which Numba compiles anew in every process: it is never served
from the on-disk cache (`benchmarks/generic_wrapper.py`; on a 2-core AMD EPYC under load, a
toy kernel's first call in a second process: own wrapper 3.7 s from the cache, generic
wrapper 5.0 s compiled again, with no cache hit).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from .. import _threads as tuning

__all__ = ["Form", "launch", "run_parallel"]

# Numba's 'tbb' and 'omp' threading layers take parallel launches from several Python threads
# at once; 'workqueue' (its fallback when neither is installed) aborts the process on one.
_CONCURRENT_LAYERS = ("tbb", "omp")
_workqueue_lock = threading.Lock()


class Form(NamedTuple):
    """One compiled kernel: its serial body and its parallel wrapper."""

    serial: Callable[..., None]
    parallel: Callable[..., None]

    @property
    def name(self) -> str:
        """The parallel wrapper's name (``max_rows_triples``...), for tests and messages."""
        return str(getattr(self.parallel, "__name__", self.parallel))


def _parallel_guard() -> threading.Lock | None:
    """The lock that serialises parallel launches, unless the threading layer is known to
    take concurrent ones. Before the first launch the layer is not chosen yet: lock."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:
        return _workqueue_lock
    return None if layer in _CONCURRENT_LAYERS else _workqueue_lock


def launch(form: Form, work: int, total: int, *args: Any) -> None:
    """Run the kernel ``form`` over ``total`` work items.

    Small jobs (``work`` cell visits below `poolnd._threads.SERIAL_WORK`), and every job
    inside `poolnd._threads.serial`, run the serial body on the calling thread. Larger ones
    run in parallel chunks, scheduled dynamically (one chunk at a time) so that a thread
    stalled by a busy machine does not hold up the others. Every kernel releases the GIL;
    under Numba's 'workqueue' threading layer, which cannot run two parallel launches at
    once, concurrent parallel launches take turns.
    """
    threads = tuning.kernel_threads()
    if work < tuning.SERIAL_WORK or threads == 1:
        form.serial(*args, 0, total)
        return
    import numba

    guard = _parallel_guard()
    with numba.parallel_chunksize(1):
        if guard is None:
            form.parallel(*args, max(1, min(total, 16 * threads)))
        else:
            with guard:
                form.parallel(*args, max(1, min(total, 16 * threads)))


def run_parallel(kernel: Callable[..., None], *args: Any) -> None:
    """Call a ``parallel=True`` kernel that splits its own work (the unpooling kernels), with
    poolnd's thread count and the same guard as `launch`."""
    tuning.kernel_threads()
    guard = _parallel_guard()
    if guard is None:
        kernel(*args)
        return
    with guard:
        kernel(*args)
