"""Reverse-mode gradients: `vjp` for every poolnd op, through one registry.

Each differentiable public function is registered with the implementation that can return a
pullback. `vjp` binds the caller's arguments to the public signature (so positional and
keyword calls behave exactly as the forward does) and asks the implementation for both.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from ._dispatch import backend as _backend

__all__ = ["differentiable", "pullback_grad", "rule_of", "selection_result", "vjp"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Rule:
    impl: Callable[..., tuple[Any, Callable[[Any], np.ndarray] | None]]
    op: str
    ndim: int | None
    signature: inspect.Signature


_RULES: dict[Callable[..., Any], _Rule] = {}


def differentiable(
    impl: Callable[..., tuple[Any, Callable[[Any], np.ndarray] | None]],
    ndim: int | None = None,
) -> Callable[[F], F]:
    """Register a public op whose forward and pullback ``impl`` computes.

    ``impl`` takes the op's parameters by name plus keyword-only ``op`` (the public name, for
    messages), ``ndim`` (fixed here for rank-specific wrappers) and ``grad``. The op is
    returned wrapped by `poolnd._dispatch.backend.dispatching`, so it takes any Array API array.
    """

    def register(fn: F) -> F:
        public = _backend.dispatching(fn)
        _RULES[public] = _Rule(impl, fn.__name__, ndim, inspect.signature(fn))
        return public

    return register


def rule_of(fn: Callable[..., Any]) -> _Rule:
    """The registered rule of a public op (its implementation, name, rank, signature)."""
    return _RULES[fn]


def _numpy_vjp(
    rule: _Rule, arguments: dict[str, Any]
) -> tuple[Any, Callable[[Any], np.ndarray]]:
    """`vjp` on NumPy arguments (bound by name to the public signature)."""
    arguments = dict(arguments)
    ndim = arguments.pop("ndim", rule.ndim)
    out, pullback = rule.impl(**arguments, op=rule.op, ndim=ndim, grad=True)
    assert pullback is not None
    return out, pullback


def vjp(
    fn: Callable[..., Any], x: Any, *args: Any, **kwargs: Any
) -> tuple[Any, Callable[[Any], np.ndarray]]:
    """Run a poolnd op and return its output with a pullback for the input gradient.

    Parameters
    ----------
    fn : callable
        A poolnd pooling op, e.g. ``poolnd.max_pool`` or ``poolnd.functional.avg_pool2d``.
    x : array_like
        The input, a floating array of any Array API library (NumPy, PyTorch, JAX, CuPy,
        Dask, ...); the output and the gradient are arrays of the same library and device
        (lazy for Dask).
    *args, **kwargs
        The op's other arguments, exactly as ``fn`` takes them.

    Returns
    -------
    out : ndarray or tuple of ndarray
        What ``fn(x, *args, **kwargs)`` returns (``(values, indices)`` with
        ``return_indices=True``).
    pullback : callable
        ``pullback(grad_out)`` returns the gradient with respect to ``x`` given the gradient
        of the (values) output, as PyTorch's autograd computes it.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> x = np.array([[1., 2, -1, 0, 2, 3, -2, 0]])
    >>> out, pullback = poolnd.vjp(poolnd.functional.max_pool1d, x, 2)
    >>> pullback(np.ones_like(out))
    array([[0., 1., 0., 1., 0., 1., 0., 1.]])
    >>> out, pullback = poolnd.vjp(poolnd.functional.avg_pool1d, x, 2)
    >>> pullback(np.ones_like(out))
    array([[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])
    """
    rule = _RULES.get(fn) if callable(fn) else None
    if rule is None:
        raise TypeError(f"vjp(): fn must be a differentiable poolnd op; got {fn!r}")
    bound = rule.signature.bind(x, *args, **kwargs)
    bound.apply_defaults()  # the public defaults, which the implementation's may not be
    return _backend.call_vjp(fn, dict(bound.arguments), functools.partial(_numpy_vjp, rule))


def pullback_grad(op: str, grad_output: Any, like: np.ndarray, batched: bool) -> np.ndarray:
    """Check a pullback's cotangent against the output it belongs to; return it batched.

    It must have the output's shape and a real numeric dtype; it is cast to the output dtype.
    """
    g = np.asarray(grad_output)
    if g.dtype.kind not in "fiu":
        raise TypeError(
            f"{op}() backward: grad_output must be a real numeric array; got dtype {g.dtype}"
        )
    if g.shape != like.shape:
        raise ValueError(
            f"{op}() backward: grad_output must have the output's shape {like.shape}; "
            f"got shape {g.shape}"
        )
    g = g.astype(like.dtype.newbyteorder("="), copy=False)
    return g if batched else g[np.newaxis]


def selection_result(
    op: str,
    values: np.ndarray,
    indices: np.ndarray | None,
    batched: bool,
    want_indices: bool,
    grad: bool,
    scatter: Callable[[np.ndarray, np.ndarray], np.ndarray],
    shown: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[Any, Callable[[Any], np.ndarray] | None]:
    """``(out, pullback)`` of an op that selects input cells (max, adaptive and fractional max).

    ``values`` and ``indices`` are batched; ``out`` is the values, or ``(values, indices)``
    with ``want_indices``, unbatched like the input. The pullback (``grad`` only) checks the
    cotangent and hands it to ``scatter(g, indices)``, which adds it to the selected cells.
    ``shown(indices, values)``, when given, maps the kernel's indices to the public ones.
    """
    out_values = values if batched else values[0]
    if want_indices:
        assert indices is not None
        public = indices if shown is None else shown(indices, values)
        out = (out_values, public if batched else public[0])
    else:
        out = out_values
    if not grad:
        return out, None
    assert indices is not None
    # the caller owns the indices it was given: the pullback keeps its own, so that writing
    # into the returned array cannot redirect the gradient
    kept = indices.copy() if want_indices and shown is None else indices

    def pullback(grad_output: Any) -> np.ndarray:
        g = pullback_grad(op, grad_output, out_values, batched)
        grad_in = scatter(g, kept)
        return grad_in if batched else grad_in[0]

    return out, pullback
