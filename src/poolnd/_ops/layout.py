"""Channels-last calls of the ops whose kernels read channels-first planes.

Max, average, min, sum and generic pooling read ``(N, *spatial, C)`` in place (their
window gains a kernel-1 dimension over the channels, `poolnd._args.over_channels`). The
table-driven ops (adaptive, fractional, global) and unpooling instead see a channels-first
view of the input: `by_transpose` wraps their implementations so that arrays go in and come
out channels-last, gradients included.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _args

__all__ = ["by_transpose"]


def _rank(ndim: int | None, a: np.ndarray) -> int:
    return ndim if ndim is not None else a.ndim - 2


def _first(a: Any, rank: int, many: bool = False) -> Any:
    """A channels-last array as a channels-first view; anything else as it is. ``many``:
    the op takes any number of leading batch axes."""
    arr = np.asarray(a) if not isinstance(a, np.ndarray) else a
    if arr.dtype == object or rank < 1 or arr.ndim < rank + 1 or \
            (arr.ndim > rank + 2 and not many):
        return a  # the op names what is wrong with it
    return np.moveaxis(arr, -1, -(rank + 1))


def _last(a: np.ndarray, rank: int, like_ndim: int) -> np.ndarray:
    """A channels-first result back to channels-last (results without their spatial axes,
    such as global pooling's ``(N, C)``, already end with the channels)."""
    return np.moveaxis(a, -(rank + 1), -1) if a.ndim == like_ndim else a


def by_transpose(*arrays: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give an op implementation a keyword ``channels_last``, served through channels-first
    views of the named array arguments, the input first."""

    def wrap(impl: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(impl)

        @functools.wraps(impl)
        def wrapped(*args: Any, channels_last: Any = False, **kwargs: Any) -> Any:
            if not _args.as_bool(kwargs["op"], "channels_last", channels_last):
                return impl(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            x = bound.arguments[arrays[0]]
            rank = _rank(kwargs["ndim"], np.asarray(x) if not isinstance(x, np.ndarray) else x)
            for name in arrays[1:]:  # checked here, so that the message shows the caller's shapes
                other = bound.arguments.get(name)
                if isinstance(other, np.ndarray) and other.shape != np.shape(x):
                    raise ValueError(
                        f"{kwargs['op']}(): {name} must have the input's shape {np.shape(x)}; "
                        f"got shape {other.shape}"
                    )
            many = kwargs["op"] in _args.LEAD_OPS
            for name in arrays:
                if bound.arguments.get(name) is not None:
                    bound.arguments[name] = _first(bound.arguments[name], rank, many)
            like = np.ndim(bound.arguments[arrays[0]])
            out, pullback = impl(*bound.args, **bound.kwargs)
            if isinstance(out, tuple):
                out = tuple(_last(a, rank, like) for a in out)
            else:
                out = _last(out, rank, like)
            if pullback is None:
                return out, None

            def pullback_last(grad_output: Any) -> np.ndarray:
                g = np.asarray(grad_output)
                g = np.moveaxis(g, -1, -(rank + 1)) if g.ndim == like else g
                return _last(pullback(g), rank, like)

            return out, pullback_last

        return wrapped

    return wrap
