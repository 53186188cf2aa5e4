"""Reverse-mode gradients: `vjp` for every poolnd op, through one registry.

Each differentiable public function is registered with the implementation that can return a
pullback. `vjp` binds the caller's arguments to the public signature (so positional and
keyword calls behave exactly as the forward does) and asks the implementation for both.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ._args import Batched, pullback_grad, unbatch
from ._dispatch.route import call_vjp, dispatching
from ._registry import Entry, Impl, SamplesOf, WindowOf, lookup, numpy_vjp, register

__all__ = ["differentiable", "selection_result", "vjp"]

F = TypeVar("F", bound=Callable[..., Any])


def differentiable(
    impl: Impl,
    ndim: int | None = None,
    *,
    window: WindowOf | None = None,
    samples: SamplesOf | None = None,
) -> Callable[[F], F]:
    """Register a public op whose forward and pullback ``impl`` computes.

    ``impl`` takes the op's parameters by name plus keyword-only ``op`` (the public name, for
    messages), ``ndim`` (fixed here for rank-specific wrappers) and ``grad``. ``window``
    (ops whose windows slide) and ``samples`` (ops that draw random samples) are recorded in
    the op's `poolnd._registry` entry for the dispatch layer. The op is returned wrapped by
    `poolnd._dispatch.route.dispatching`, so it takes any Array API array.
    """

    def decorate(fn: F) -> F:
        entry = Entry(impl, fn.__name__, ndim, inspect.signature(fn), window, samples)
        public = dispatching(fn, entry)
        register(public, entry)
        return public

    return decorate


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
    entry = lookup(fn)
    if entry is None:
        raise TypeError(f"vjp(): fn must be a differentiable poolnd op; got {fn!r}")
    bound = entry.signature.bind(x, *args, **kwargs)
    bound.apply_defaults()  # the public defaults, which the implementation's may not be
    return call_vjp(fn, dict(bound.arguments), functools.partial(numpy_vjp, entry))


def selection_result(
    op: str,
    values: np.ndarray,
    indices: np.ndarray | None,
    batched: Batched,
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
    out_values = unbatch(values, batched)
    if want_indices:
        assert indices is not None
        public = indices if shown is None else shown(indices, values)
        out: Any = (out_values, unbatch(public, batched))
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
        return unbatch(grad_in, batched)

    return out, pullback
