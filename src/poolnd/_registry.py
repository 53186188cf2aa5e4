"""The op registry: one entry per public op, carrying what the layers below need of it.

Every public op is registered here by `poolnd._autodiff.differentiable` when its module is
imported. An entry holds the op's implementation (``impl(..., op, ndim, grad) -> (out,
pullback)``), its public name and signature, and how its windows are laid out:

* ``window``: for ops whose windows slide (``o * stride - pad``), the function that
  canonicalises a call's window exactly as the op does (the Dask planner cuts blocks by it);
  ``None`` for ops that work on whole planes (adaptive, fractional, global, blur, unpooling);
* ``samples``: for ops that draw random samples per plane (fractional pooling), the function
  that draws them, so that a blocked run draws once for the whole input as a NumPy run does.

The dispatch layer (`poolnd._dispatch`) knows ops only through these entries: adding an op
means registering it, never editing the dispatch code. This module imports nothing of poolnd.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Entry", "Pullback", "entry_of", "lookup", "numpy_vjp", "register"]

Pullback = Callable[[Any], np.ndarray]
Impl = Callable[..., tuple[Any, Pullback | None]]
# window(op, x, arguments, ndim) -> the canonical `poolnd._args.Window` of a call on ``x``
WindowOf = Callable[[str, np.ndarray, Mapping[str, Any], "int | None"], Any]
# samples(op, given, rng, like, n, rank) -> (n * c, rank) draws in [0, 1)
SamplesOf = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Entry:
    """What the layers below the public face know of one op."""

    impl: Impl
    op: str
    ndim: int | None
    signature: inspect.Signature
    window: WindowOf | None = None
    samples: SamplesOf | None = None

    @property
    def input_name(self) -> str:
        """The name of the op's input parameter (its first)."""
        return next(iter(self.signature.parameters))

    @property
    def sliding(self) -> bool:
        """Do the op's windows slide over the input (else it works on whole planes)?"""
        return self.window is not None


_ENTRIES: dict[Callable[..., Any], Entry] = {}


def register(public: Callable[..., Any], entry: Entry) -> None:
    """Record ``entry`` as the entry of the public function ``public``."""
    _ENTRIES[public] = entry


def lookup(fn: object) -> Entry | None:
    """The entry of a registered public op, or None for anything else."""
    return _ENTRIES.get(fn) if callable(fn) else None


def entry_of(fn: Callable[..., Any]) -> Entry:
    """The entry of a registered public op."""
    return _ENTRIES[fn]


def numpy_vjp(entry: Entry, arguments: Mapping[str, Any]) -> tuple[Any, Pullback]:
    """The op's output and pullback on NumPy arguments bound by name to its signature (the
    public defaults applied)."""
    arguments = dict(arguments)
    ndim = arguments.pop("ndim", entry.ndim)
    out, pullback = entry.impl(**arguments, op=entry.op, ndim=ndim, grad=True)
    assert pullback is not None
    return out, pullback
