"""Routing: every public op takes any Array API array, through this one module.

`dispatching` wraps a registered op: NumPy arguments (and lists, scalars) reach the op
directly, with no cost beyond one type check per argument; another library's arrays are
converted by `poolnd._dispatch.convert` (zero-copy where the library allows it), run through
the NumPy op, and the results converted back; Dask arrays go to `poolnd._dispatch.dask`, which
keeps them lazy. `call_vjp` does the same for `poolnd.vjp`. Ops are known only through their
`poolnd._registry` entries.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .._registry import Entry, entry_of
from . import dask as blocked
from .convert import (
    PLAIN,
    convert_result,
    from_numpy,
    has_int64,
    is_foreign,
    library,
    namespace_device,
    to_numpy,
    widen,
)

__all__ = ["call_vjp", "dispatching"]

F = TypeVar("F", bound=Callable[..., Any])
Pullback = Callable[[Any], Any]


class _Call:
    """One call's arguments, classified: where the arrays live and who runs it."""

    def __init__(self, signature: inspect.Signature, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self.arguments = dict(signature.bind(*args, **kwargs).arguments)
        self.input_name = next(iter(signature.parameters))
        self.input = self.arguments[self.input_name]
        self.foreign = {name for name, v in self.arguments.items() if is_foreign(v)}

    @property
    def lazy(self) -> bool:
        """Is any array argument a Dask array (then the whole call stays lazy)?"""
        return any(library(self.arguments[n]) == "dask" for n in self.foreign)

    def numpy_arguments(self, op: str) -> tuple[dict[str, Any], Any]:
        """The arguments with every foreign array on the host; and what the results follow."""
        like = self.input if self.input_name in self.foreign else None
        narrow = like is not None and not has_int64(*namespace_device(like))
        converted = dict(self.arguments)
        for name in self.foreign:
            a = to_numpy(self.arguments[name], op, name)
            converted[name] = widen(a) if narrow and name != self.input_name else a
        return converted, like


# the exact types of nearly every argument, all of them `PLAIN`: looked up first, since an
# ``isinstance`` against `PLAIN`'s abstract `numbers.Number` costs microseconds a call once
# another library's call has pushed the interpreter out of the caches
_PLAIN_TYPES = frozenset({np.ndarray, int, float, bool, str, type(None), tuple, list})


def _needs_dispatch(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    for v in itertools.chain(args, kwargs.values()):
        if type(v) not in _PLAIN_TYPES and not isinstance(v, PLAIN) and is_foreign(v):
            return True
    return False


def dispatching(fn: F, entry: Entry) -> F:
    """Wrap the NumPy op ``fn`` (registered as ``entry``) so that it takes any Array API
    array (see the module doc).

    The wrapper keeps ``fn``'s name, docstring and signature; NumPy calls reach ``fn``
    directly.
    """
    signature = entry.signature

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        if not _needs_dispatch(args, kwargs):
            return fn(*args, **kwargs)
        call = _Call(signature, args, kwargs)
        if call.lazy:
            return blocked.pool(op, entry, call.arguments)
        arguments, like = call.numpy_arguments(entry.op)
        result = fn(**arguments)
        return result if like is None else convert_result(result, like, entry.op)

    return op  # type: ignore[return-value]


def call_vjp(
    fn: Callable[..., Any],
    arguments: dict[str, Any],
    run: Callable[[dict[str, Any]], tuple[Any, Callable[[Any], np.ndarray]]],
) -> tuple[Any, Pullback]:
    """`poolnd.vjp` of a registered op for any array library.

    ``arguments`` are the call's bound arguments; ``run(arguments)`` is the NumPy vjp.
    Dask inputs get a lazy output and a lazy pullback (`poolnd._dispatch.dask.vjp`); other
    libraries' a pullback that takes a gradient of any library and returns one like the input.
    """
    entry = entry_of(fn)
    if not _needs_dispatch(tuple(arguments.values()), {}):
        return run(arguments)
    call = _Call(entry.signature, (), arguments)
    op = entry.op
    if call.lazy:
        return blocked.vjp(fn, entry, call.arguments)
    numpy_arguments, like = call.numpy_arguments(op)
    out, pullback = run(numpy_arguments)
    if like is None:
        return out, lambda grad_output: pullback(to_numpy(grad_output, op, "grad_output"))

    def foreign_pullback(grad_output: Any) -> Any:
        grad = pullback(to_numpy(grad_output, op, "grad_output"))
        return from_numpy(grad, like, op)

    return convert_result(out, like, op), foreign_pullback
