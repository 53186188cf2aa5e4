"""How an idle helper thread sleeps on Linux: a futex wait without the GIL, rung awake early.

Waking a thread that sleeps on a lock of Python's costs twice on a virtual machine: the
kernel wakes it on another CPU (an interrupt between virtual CPUs: measured here, 17-30 µs
of the waker's time and about 50 µs before the thread runs), and the woken thread then
needs the GIL, which the launching thread holds until it enters its own chunk. Here a
helper sleeps inside a compiled function (`DOZE`), with the GIL released, on a futex: a
cell of an int64 array, the *bell*, that anyone may ring (`RING`). A `Plan` rings it as it
begins (`poolnd._kernels.launch.prewake`), before it makes its outputs and launches, and a
pullback before it makes the input gradient; the helper wakes meanwhile, spins without the
GIL until the launch counter moves (for a bounded time, `poolnd._threads.
HELPER_WAKE_TICKS`, then sleeps again), and so is awake, and finds the GIL free, when the
launch comes. The launch rings the bell too, which costs
only an atomic exchange when it has been rung already (a futex wake, 5 µs here, when not).

Measured on this project's two-core machines with `benchmarks/sweep.py` (helpers not
spinning, as in `poolnd bench`; two runs of each tree, alternated): a batch-1 112x112 max
pooling at 2/2 0.280-0.283 -> 0.229-0.241 ms, average 3/3 p1 0.293-0.294 -> 0.247-0.273
ms; of the 136 configurations, 65-67 -> 59-60 slower than onnxruntime.

Linux on x86-64 only (the futex system call, by number). Imported by `launch` with
`poolnd._kernels.spin`, whose atomic loads and time-stamp counter it uses; elsewhere helpers
sleep on Python's queue. Cached on disk like the kernels.
"""

from __future__ import annotations

from typing import Any

import numba as nb
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import SERIAL
from .spin import _cell, _load, _pause, _store, _ticks

__all__ = ["DOZE", "RING"]

_SYS_FUTEX = 202  # x86-64
_FUTEX_WAIT_PRIVATE = 128  # FUTEX_WAIT | FUTEX_PRIVATE_FLAG: waiters of this process only
_FUTEX_WAKE_PRIVATE = 129
_EVERYONE = 1 << 30  # wake every waiter


@intrinsic
def _swap(typingctx: Any, array: Any, i: Any, value: Any) -> Any:
    """``array[i] = value``, returning the value it replaces, as one atomic exchange (a full
    barrier on x86: no load after it is done before it)."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.atomic_rmw("xchg", _cell(context, builder, sig, args), args[2],
                                  "seq_cst")

    return types.int64(array, i, value), codegen


@intrinsic
def _futex(typingctx: Any, array: Any, i: Any, op: Any, value: Any) -> Any:
    """The futex system call ``op`` on the low 32 bits of ``array[i]`` (little-endian) with
    ``value``, no time-out: waits while the cell holds ``value`` (until woken, or at once
    when it does not), or wakes up to ``value`` waiters. Returns the call's result."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        i32, i64, ptr = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        syscall = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i64, [i64], var_arg=True), "syscall")
        cell = builder.bitcast(_cell(context, builder, sig, args), ptr)
        null = ir.Constant(ptr, None)
        return builder.call(syscall, [
            ir.Constant(i64, _SYS_FUTEX), cell, builder.trunc(args[2], i32),
            builder.trunc(args[3], i32), null, null, ir.Constant(i32, 0)])

    return types.int64(array, i, op, value), codegen


@nb.njit(**SERIAL)
def _doze(flag, bell, state, seen, limit, grace):  # pragma: no cover - compiled
    """Set ``flag[0]`` to 1 (when ``flag`` has a cell), then wait until ``state[0]`` is not
    ``seen``: asleep on ``bell[0]`` while it is 0; once rung, spinning for at most ``limit``
    ticks, then (the bell silenced) asleep again. After a change, wait ``grace`` ticks more
    (the launching thread is then inside its own chunk, not holding the GIL). Returns
    ``state[0]``.

    A ring from before this call is spent (the caller has seen that launch). The bell is
    silenced by an exchange, a full barrier, before the counter is read, and a ring
    exchanges it after the counter moved, so that of a ring and a silencing at once one
    sees the other: a launch never finds the bell rung while this thread sleeps."""
    if flag.shape[0]:
        _store(flag, 0, 1)
    _swap(bell, 0, 0)
    while True:
        now = _load(state, 0)
        if now != seen:
            break
        if _load(bell, 0) == 0:
            _futex(bell, 0, _FUTEX_WAIT_PRIVATE, 0)  # (returns at once if rung meanwhile)
            continue
        start = _ticks()
        while now == seen and _ticks() - start < limit:
            _pause()
            now = _load(state, 0)
        if now != seen:
            break
        _swap(bell, 0, 0)
    start = _ticks()
    while _ticks() - start < grace:
        _pause()
    return now


@nb.njit(**SERIAL)
def _ring(bell):  # pragma: no cover - compiled
    """Ring ``bell``: wake its sleepers, with a system call only when it was silent."""
    if _swap(bell, 0, 1) == 0:
        _futex(bell, 0, _FUTEX_WAKE_PRIVATE, _EVERYONE)


DOZE = _doze
RING = _ring
