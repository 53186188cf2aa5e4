"""Remembered launches: a forward call repeated on NumPy arrays of one shape and dtype, with
the same arguments, runs the kernel launch chosen the first time.

A layer or a loop over batches calls an op with the same arguments on arrays of the same
shape again and again. Each call checks its arguments, builds its window, computes its
divisors and picks a kernel: some dozens of Python steps, which cost tens of microseconds
a call once a kernel (or another library's) has pushed the interpreter's code and data out
of the caches, as much as a small call's kernel. Here the op layer remembers, per call, the
kernel layer's `Plan` (the one launch that gave the result: kernel, work, shapes, operands)
and the result's shape: the next such call makes its outputs and runs that launch at once.

What a call is remembered by (`key`): the op, the input's exact type (a NumPy array, not a
subclass), shape and dtype (byte order included), and every other argument tagged with its
exact type (`poolnd._args.exactly`; ``1``, ``True`` and ``np.int64(1)`` differ, and
arguments of other types are not remembered). Only calls that succeeded and ran one
compiled launch on the input itself are remembered (no conversion, no pullback, no
channels-last index mapping), so every check a remembered call skips passed for the same
arguments, shape and dtype. The launch itself still reads the thread count and the compile
mode each call (a kernel being compiled in the background: the call takes the full path).

`ENABLED` turns remembering off (the test suite does, for tests that replace a kernel
selector); `forget` empties the memory.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, NamedTuple

import numpy as np

from .. import _args
from .._kernels.sliding import Plan

__all__ = ["ENABLED", "forget", "key", "recall", "remember", "run"]

ENABLED = True
_LIMIT = 512  # remembered calls; the memory is emptied when full
_memory: dict[Hashable, _Remembered] = {}


class _Remembered(NamedTuple):
    plan: Plan
    shapes: tuple[tuple[int, ...], ...]  # each result's shape as the op returns it


def key(op: str, input: Any, *arguments: Any) -> Hashable | None:
    """What a forward call of ``op`` on ``input`` with ``arguments`` is remembered by, or
    None where it is not remembered (not a NumPy array, or an argument of another type than
    `poolnd._args.exactly` tags)."""
    if not ENABLED or type(input) is not np.ndarray:
        return None
    tagged = _args.exactly(arguments)
    return None if tagged is None else (op, input.shape, input.dtype, tagged)


def recall(call: Hashable | None, input: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """The results of the remembered call ``call`` on ``input``, or None (not remembered,
    or its kernel is being compiled in the background)."""
    if call is None:
        return None
    got = _memory.get(call)
    if got is None:
        return None
    outs = got.plan(input)
    if outs is None:
        return None
    results = []  # (an argmax kernel's indices, when only the values were asked for, left out)
    for o, shape in zip(outs, got.shapes):
        results.append(o if o.shape == shape else o.reshape(shape))
    return tuple(results)


def remember(call: Hashable | None, plan: Plan, results: tuple[np.ndarray, ...]) -> None:
    """Remember that ``call`` ran ``plan``, whose outputs became ``results`` (reshaped)."""
    if call is None:
        return
    if len(_memory) >= _LIMIT:
        _memory.clear()
    _memory[call] = _Remembered(plan, tuple(r.shape for r in results))


def run(call: Hashable | None, plan: Plan | None, x: np.ndarray, batched: _args.Batched,
        keep: int) -> tuple[np.ndarray, ...] | None:
    """The first ``keep`` outputs of ``plan`` run on ``x`` (the input as `poolnd._args.
    as_batched` gives it), unbatched, remembered as ``call``'s results; None, running
    nothing, without a plan, or while its kernel is being compiled in the background."""
    got = None if plan is None else plan(x)
    if plan is None or got is None:
        return None
    results = tuple(_args.unbatch(o, batched) for o in got[:keep])
    remember(call, plan, results)
    return results


def forget() -> None:
    """Empty the memory."""
    _memory.clear()
