"""Numba waits that spin without the GIL: how a launch's threads meet without sleeping.

A thread blocked on a lock or an event sleeps, and waking it costs tens of microseconds on a
virtual machine (measured on this project's two-core machines: 30 µs for a helper to start
its chunk, 70 µs for the caller to see the last chunk end), as long as a sub-millisecond
kernel's whole gain from a second thread. These two functions wait by reading a cell of an
int64 array in a loop (an atomic load, with the CPU's ``pause`` hint between reads) for at
most a given number of time-stamp counter ticks, with the GIL released: `launch` uses them
for the caller waiting for its last chunk and for a helper thread waiting a short while for
the next launch, and falls back to its blocking waits when the time is up.

Imported only by `launch`, on the first parallel launch of an x86 machine (elsewhere the
cycle counter may be closed to user code, and launches keep to blocking waits), so
``import poolnd`` never loads Numba. Each function has one signature; both are cached on
disk like the kernels.
"""

from __future__ import annotations

from typing import Any

import numba as nb
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import SERIAL

__all__ = ["SIGNAL_WAIT", "WAIT_SET"]


def _cell(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    """A pointer to ``args[0][args[1]]``."""
    ary = context.make_array(sig.args[0])(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, sig.args[0], ary, [args[1]])


@intrinsic
def _load(typingctx: Any, array: Any, i: Any) -> Any:
    """``array[i]`` read as an atomic acquire load (re-read on every call, never hoisted)."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.load_atomic(_cell(context, builder, sig, args), "acquire", 8)

    return types.int64(array, i), codegen


@intrinsic
def _store(typingctx: Any, array: Any, i: Any, value: Any) -> Any:
    """``array[i] = value`` as an atomic release store."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        builder.store_atomic(args[2], _cell(context, builder, sig, args), "release", 8)
        return context.get_dummy_value()

    return types.void(array, i, value), codegen


def _call(builder: Any, name: str, returns: Any) -> Any:
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(returns, []), name)
    return builder.call(fn, [])


@intrinsic
def _ticks(typingctx: Any) -> Any:
    """The CPU's time-stamp counter (``llvm.readcyclecounter``)."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return _call(builder, "llvm.readcyclecounter", ir.IntType(64))

    return types.int64(), codegen


@intrinsic
def _pause(typingctx: Any) -> Any:
    """The x86 ``pause`` hint of a spin loop (nothing on other CPUs)."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        if "x86" in str(builder.module.triple) or "i686" in str(builder.module.triple):
            _call(builder, "llvm.x86.sse2.pause", ir.VoidType())
        return context.get_dummy_value()

    return types.void(), codegen


@nb.njit(**SERIAL)
def _signal_wait(flag, state, seen, limit, grace):  # pragma: no cover - compiled
    """Set ``flag[0]`` to 1 (when ``flag`` has a cell), then wait until ``state[0]`` is not
    ``seen`` or ``limit`` ticks have passed; after a change, wait ``grace`` ticks more (the
    launching thread is then inside its own chunk, not holding the GIL). Returns
    ``state[0]``."""
    if flag.shape[0]:
        _store(flag, 0, 1)
    start = _ticks()
    now = _load(state, 0)
    while now == seen:
        if _ticks() - start > limit:
            return now
        _pause()
        now = _load(state, 0)
    start = _ticks()
    while _ticks() - start < grace:
        _pause()
    return now


@nb.njit(**SERIAL)
def _wait_set(flag, limit, grace):  # pragma: no cover - compiled
    """Whether ``flag[0]`` became non-zero within ``limit`` ticks; once it has, wait
    ``grace`` ticks more (the thread that set it is then past letting the GIL go)."""
    start = _ticks()
    while _load(flag, 0) == 0:
        if _ticks() - start > limit:
            return False
        _pause()
    start = _ticks()
    while _ticks() - start < grace:
        _pause()
    return True


SIGNAL_WAIT = _signal_wait
WAIT_SET = _wait_set
