"""The one owner of threads: the kernels' thread count, a scoped serial override, and the
tuning constants that decide when work runs in parallel and which kernel form it takes.

The count is one process-wide setting (`set_num_threads`), which the launcher
(`poolnd._kernels.launch`) reads before every parallel launch, whichever Python thread makes
it. `serial` overrides it for the calling thread only, for as long as its block runs: the Dask
path runs each block's kernels under it, since Dask already runs blocks in parallel. Nothing
here imports Numba: the kernels' threads are poolnd's own (the launcher's helpers).
"""

from __future__ import annotations

import contextlib
import operator
import os
import threading
from collections.abc import Iterator

__all__ = [
    "get_compile_mode",
    "get_num_threads",
    "kernel_threads",
    "serial",
    "set_compile_mode",
    "set_num_threads",
    "thread_limit",
    "usable_cpus",
]

_requested: int | None = None  # set_num_threads' count; None: the default


class _Local(threading.local):
    """Per-thread state: ``serial``, the depth of `serial` blocks on this thread (0, a class
    default, on threads that never entered one: reading it then raises nothing, where a
    ``getattr`` default would raise and catch an AttributeError on every launch)."""

    serial = 0


_local = _Local()


# --------------------------------------------------------------------------------------------
# tuning constants (read at call time, as attributes of this module, so tests can vary them)

# Compile kernels in the background while the NumPy forms answer (`poolnd._kernels.compiler`);
# ``POOLND_COMPILE=wait`` compiles in the calling thread instead.
COMPILE_IN_BACKGROUND = os.environ.get("POOLND_COMPILE", "background") != "wait"
# Below this many cell visits a parallel launch costs more than it saves. (1 << 16 before the
# row kernels lost their per-row overheads; measured on the AMD EPYC, 2 threads, batch-1
# 112x112 pooling: 1 << 18 makes 3/2 max 0.61 -> 0.54 ms, average 0.79 -> 0.63 ms, 5/3 max
# 0.85 -> 0.64 ms; the 0.4-3 ms benchmark cases are unchanged or up to 6% faster.)
SERIAL_WORK = 1 << 18
# No chunk of a parallel launch holds fewer cell visits, where that leaves at least four a
# thread. Each chunk's end takes the GIL to claim the next, and where the other thread holds
# it the claimant sleeps and is woken, tens of microseconds on a virtual machine: fewer,
# longer chunks meet less often. (Was SERIAL_WORK. Measured on the Intel Xeon, 2 threads,
# helpers not spinning, poolnd/onnxruntime in interleaved rounds, two runs alternated:
# 8x64x57x57 5/2 max 1.32 -> 1.23, average 1.24 -> 1.13; 6/3 p3 1.29 -> 1.23 and 1.47 ->
# 1.37; batch-1 112x112 7/2 p3 1.25 -> 1.06 and 1.53 -> 1.30; the benchmark's large cases
# unchanged; 1 << 22 no better than 1 << 20.)
CHUNK_WORK = 1 << 20
# How long, in time-stamp counter ticks (about 3 GHz), a launch's threads wait for each other
# by spinning without the GIL (`poolnd._kernels.spin`) before they sleep: a helper thread
# waits this long for the next launch after running a chunk (then it sleeps until a launch
# wakes it), and for this long more once a launch came, so that the launching thread is in
# its own chunk, not holding the GIL, when the helper needs it; the launching thread waits
# this long for the last chunk to end.
HELPER_SPIN_TICKS = 300_000
HELPER_GRACE_TICKS = 15_000
# A dozing helper rung awake before a launch (`poolnd._kernels.doze`) spins this long for it
# without the GIL, then sleeps again: the launching thread publishes its launch tens of
# microseconds after the ring (about a tenth of a millisecond at 3 GHz).
HELPER_WAKE_TICKS = 300_000
CALLER_SPIN_TICKS = 6_000_000
# A helper that ended a launch's last chunk and then sleeps sets the launch's flag just
# before it lets the GIL go; the caller, seeing the flag, waits this many ticks more before
# it takes the GIL, so that it finds the GIL free: had it found the helper still holding it,
# it would have slept and been woken tens of microseconds later (Intel Xeon, 2 threads,
# helpers not spinning, each call right after onnxruntime's, medians: batch-1 112x112
# average 3/3 0.40 -> 0.34 ms, 5/3 p2 0.48 -> 0.43; max 4/2 0.38 -> 0.35; 8x64x57x57 max
# 6/3 0.67 -> 0.61, average 3/2 0.71 -> 0.68-0.70).
CALLER_GRACE_TICKS = 9_000
# Parallel launches after which a process compiling in the background queues those waits for
# compiling (before, and until they are compiled, its launches use blocking waits only).
SPIN_AFTER_LAUNCHES = 16
# The max kernel folds each window's rows into a padded row of ``(out_w - 1) * sw +
# (kw - 1) * dw + 1`` cells (`_kernels/sliding/numba_rows.py`); where that is more than
# twice the input row plus this many cells (padding pairs or a dilation far wider than the
# input), the argmax kernel, whose buffers are one input row, gives the values instead.
PADDED_ROW_SLACK = 256
# Cells of one band of phase planes (`_kernels/sliding/numba_phases.py`): the input rows of a
# band of output rows are copied by phase into a buffer of at most this many cells (or one
# output row's), small enough to stay in a core's L1 cache beside its accumulator (float32:
# 16 KiB each; 1 << 13 was L2-sized, and the kernel cells' passes over the band ran at L2's
# rate. Intel Xeon, one thread, average pooling: 1x64x112x112 7x7 at stride 1 2.25-2.34 ->
# 1.78-1.82 ms, 6x6 p3 1.81-1.97 -> 1.56-1.57, 2x16x224x224 5x5 p2 2.74-2.91 -> 2.26; at
# stride 2 on 224-wide planes 0.92-1.03 -> 0.86-0.87; bands of whole 57-wide planes, which
# fit either way, unchanged; 1 << 11 slower at strides 2 and 3).
PHASE_CELLS = 1 << 12
# Output rows at most this wide take the 2-wide tile sum (it divides blocks of rows at once);
# on wider rows the general tile sum is faster (single-threaded, measured: 1.4-1.5x faster at
# 14 to 32 outputs a row, 0.85-0.95x at 56 and 112).
SUM2_MAX_WIDTH = 32
# The max backward at stride 1 gathers (`_kernels/sliding/numba_rows.py`, gather_argmax):
# one pass over the plane per window cell (3x3 windows: all nine in one loop), so only for
# windows of at most this many cells; the scatter's time does not grow with the window.
# (8, 256, 56, 56), 3x3 at stride 1, the pullback, medians of 30: one thread 15.0-15.5 ms
# -> 10.2-10.5, two threads 6.4-6.9 -> 4.8-5.7.
GATHER_MAX_CELLS = 16
# Wider kernels run on the NumPy passes, which visit only the kernel offsets that read the
# input: the compiled kernels keep a table entry per kernel column and scan every kernel
# offset of a window, which for a kernel of 10**9 (with padding pairs) is memory and time
# spent on padding.
COMPILED_MAX_KERNEL = 1 << 16
# The compiled median (`numba_select`) takes this many outputs of a row at once, and only
# windows of at most MEDIAN_NETWORK_MAX cells: its compare-exchange network costs about the
# square of the cells per output, and NumPy's partition (the `view_forward` path) was as fast
# from 12 x 12 windows on (1024 x 1024 float32, AMD EPYC, 2 threads: 8 x 8 0.009 s against
# 0.033 s, 10 x 10 0.023 s against 0.031 s, 12 x 12 0.031 s against 0.031 s, 16 x 16 0.028 s
# against 0.024 s).
MEDIAN_LANES = 64
MEDIAN_NETWORK_MAX = 128
# The largest flipped copy min pooling makes at once, unless the output is larger still.
FLIP_BUDGET = 1 << 24
# Table kernels (adaptive, fractional): planes per block in the plane-minor forms (32
# float32, 16 float64) ...
LANE_BYTES = 128
# ... when a block of input planes fits in this many bytes (L2) ...
LANE_BUFFER = 1 << 19
# ... and, for sums, windows average at most this many cells.
LANE_AVG_WINDOW = 16
# Unpooling calls with at least this many elements run the compiled scatter.
UNPOOL_COMPILED_MIN_SIZE = 1 << 14
# LP pooling's elementwise passes (powers, roots) run on blocks of planes of about this size.
LP_BLOCK_BYTES = 1 << 22
# Compile-time constants of the Numba kernels (frozen into the compiled code when it is built,
# so changing them here takes effect after the kernels recompile): the accumulator cells of
# the row and 2-wide tile sums (a block of output rows, divided block by block), and the
# squared input cells LP's one-pass kernel keeps per block of output rows.
ACC_CELLS = 4096
SCRATCH_CELLS = 1 << 13


def thread_limit() -> int:
    """The most threads a launch may use: ``NUMBA_NUM_THREADS`` when set, else the CPUs
    this process may run on; read once a process, as Numba reads it (every launch asks,
    and the CPUs cost a system call)."""
    global _limit
    if _limit is None:
        try:
            _limit = max(1, int(os.environ.get("NUMBA_NUM_THREADS", "") or usable_cpus()))
        except ValueError:
            _limit = usable_cpus()
    return _limit


_limit: int | None = None  # thread_limit's answer, once asked


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the platform has one, else the
    machine's count; at least 1)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count()
    return max(1, cpus or 1)


def kernel_threads() -> int:
    """The thread count for a kernel launched from the calling thread (1 inside `serial`)."""
    if _local.serial:
        return 1
    return (_limit or thread_limit()) if _requested is None else _requested


@contextlib.contextmanager
def serial() -> Iterator[None]:
    """Run the kernels this thread launches inside the block on this thread only.

    Other threads are unaffected, and `set_num_threads` inside or before the block does not
    undo it.
    """
    _local.serial += 1
    try:
        yield
    finally:
        _local.serial -= 1


def get_num_threads() -> int:
    """Number of threads the compiled kernels use.

    Defaults to the number of CPUs, or ``NUMBA_NUM_THREADS`` when that is set.

    Examples
    --------
    >>> import poolnd
    >>> poolnd.get_num_threads() >= 1
    True
    """
    return kernel_threads()


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the compiled kernels (1 <= n <= ``NUMBA_NUM_THREADS``).

    The setting is process-wide: launches from every Python thread use it. Results are
    bitwise identical for any thread count: each output is computed by one thread in a
    fixed order.

    Parameters
    ----------
    n : int
        Positive thread count, at most ``NUMBA_NUM_THREADS`` when that is set, else the
        number of CPUs this process may run on.

    Examples
    --------
    >>> import poolnd
    >>> before = poolnd.get_num_threads()
    >>> poolnd.set_num_threads(1)
    >>> poolnd.get_num_threads()
    1
    >>> poolnd.set_num_threads(before)
    """
    if isinstance(n, bool):
        raise TypeError(f"set_num_threads(): n must be an int; got {n!r}")
    try:
        count = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads(): n must be an int; got {n!r}") from None
    limit = thread_limit()
    if not 1 <= count <= limit:
        raise ValueError(
            f"set_num_threads(): n must be between 1 and NUMBA_NUM_THREADS={limit}; got {count}"
        )
    global _requested
    _requested = count


def get_compile_mode() -> str:
    """How the compiled kernels are built on first use: ``'background'`` or ``'wait'``.

    See `set_compile_mode`. The default is ``'background'``, or ``'wait'`` when the
    environment variable ``POOLND_COMPILE`` is ``wait``.

    Examples
    --------
    >>> import poolnd
    >>> poolnd.get_compile_mode() in ("background", "wait")
    True
    """
    return "background" if COMPILE_IN_BACKGROUND else "wait"


def set_compile_mode(mode: str) -> None:
    """Choose how the compiled (Numba) kernels are built the first time a process needs them.

    ``'background'`` (the default): a kernel that Numba's on-disk cache holds is loaded at
    once (a fraction of a second, the first time mostly Numba's own start-up); one not
    compiled yet is compiled on a thread of its own, and until it is ready the call runs
    the NumPy form of the same computation, which gives the same bits (slower on large
    inputs, but at once: no first call waits seconds for a compiler). The interpreter's
    exit waits for a compilation in flight and drops the others. ``'wait'``: the call
    compiles the kernel itself and then runs it (every call runs the form it selects: for
    timing the compiled kernels, and for tests of them). ``POOLND_COMPILE=wait`` in the
    environment sets ``'wait'`` from the start. Either way, processes sharing a cache
    compile each kernel once between them.

    Parameters
    ----------
    mode : {'background', 'wait'}
        The new mode, for the whole process.

    Examples
    --------
    >>> import poolnd
    >>> before = poolnd.get_compile_mode()
    >>> poolnd.set_compile_mode("wait")
    >>> poolnd.get_compile_mode()
    'wait'
    >>> poolnd.set_compile_mode(before)
    """
    if mode not in ("background", "wait"):
        raise ValueError(
            f"set_compile_mode(): mode must be 'background' or 'wait'; got {mode!r}")
    global COMPILE_IN_BACKGROUND
    COMPILE_IN_BACKGROUND = mode == "background"
