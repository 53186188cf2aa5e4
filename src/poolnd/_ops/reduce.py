"""Min, sum and any-reducer pooling: `min_pool`, `sum_pool` and the generic `pool`.

They share max and average pooling's canonicalisation (`poolnd._ops.pooling`) and kernels:
min pooling is max pooling of the order-reversed input, sum pooling is a windowed sum with
unit divisors, and a NumPy ufunc reducer folds the strided passes of the generic engine
from its identity, as ``jax.lax.reduce_window`` does.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import _args
from .._autodiff import differentiable
from .._docs import fill
from .._kernels import sliding as kernels
from .._typing import MaxPoolN, same_library, typed_as
from .pooling import Pullback, _prepare, avg_pool_impl, max_pool_impl, sliding_window

__all__ = ["REDUCERS", "min_pool", "pool", "pool_impl", "sum_pool"]

REDUCERS = ("max", "min", "sum", "mean")

min_pool_impl = functools.partial(max_pool_impl, minimum=True)


def _sum_out_dtype(dtype: np.dtype) -> np.dtype:
    """NumPy's ``sum`` dtype: floats keep theirs, integers widen to (u)int64."""
    if dtype.kind == "f":
        return dtype
    return np.dtype(np.uint64 if dtype.kind == "u" else np.int64)


def sum_pool_impl(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: Any = False,
    *,
    channels_last: Any = False,
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[Any, Pullback | None]:
    """Sum pooling; returns ``(out, pullback)`` with ``pullback`` None unless ``grad``."""
    x, win, batched = _prepare(
        op, input, kernel_size, stride, padding, dilation, ceil_mode, ndim, channels_last
    )
    if grad:
        _args.require_differentiable(op, x.dtype)
    ones = [np.ones(n, np.int64) for n in win.out_shape]
    out = _args.unbatch(kernels.sum_forward(x, win, ones, 1, _sum_out_dtype(x.dtype)), batched)
    if not grad:
        return out, None

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, batched)
        return _args.unbatch(kernels.sum_backward(g, win, ones, 1), batched)

    return out, pullback


def _as_reducer(op: str, reducer: Any) -> str | np.ufunc:
    """A reducer name, or a binary ufunc with an identity (`np.maximum`/`np.minimum`, which
    have none, mean 'max'/'min')."""
    if isinstance(reducer, str):
        if reducer not in REDUCERS:
            raise ValueError(
                f"{op}(): reducer must be one of {', '.join(map(repr, REDUCERS))} or a binary "
                f"NumPy ufunc with an identity; got {reducer!r}"
            )
        return reducer
    if reducer is np.maximum or reducer is np.minimum:
        return "max" if reducer is np.maximum else "min"
    if not isinstance(reducer, np.ufunc):
        raise TypeError(
            f"{op}(): reducer must be a str or a NumPy ufunc; got {reducer!r} of type "
            f"{type(reducer).__name__}"
        )
    if reducer.nin != 2 or reducer.nout != 1:
        raise ValueError(
            f"{op}(): a ufunc reducer must take two inputs and give one output; got "
            f"{reducer.__name__} with nin={reducer.nin}, nout={reducer.nout}"
        )
    if reducer.identity is None:
        raise ValueError(
            f"{op}(): a ufunc reducer needs an identity (the value of padding cells); "
            f"np.{reducer.__name__}.identity is None"
        )
    return reducer


def pool_impl(
    input: Any,
    reducer: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: Any = False,
    *,
    count_include_pad: Any = True,
    channels_last: Any = False,
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[Any, Pullback | None]:
    """Generic-reducer pooling; returns ``(out, pullback)``, ``pullback`` None unless
    ``grad``."""
    how = _as_reducer(op, reducer)
    common = {"channels_last": channels_last, "op": op, "ndim": ndim, "grad": grad}
    if how in ("max", "min"):
        impl = max_pool_impl if how == "max" else min_pool_impl
        return impl(input, kernel_size, stride, padding, dilation, ceil_mode, False, **common)
    if how == "sum":
        return sum_pool_impl(input, kernel_size, stride, padding, dilation, ceil_mode, **common)
    if how == "mean":
        return avg_pool_impl(
            input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
            dilation=dilation, **common,
        )
    assert isinstance(how, np.ufunc)
    if grad:
        raise TypeError(
            f"{op}(): gradients exist for the reducers {', '.join(map(repr, REDUCERS))}; "
            f"got the ufunc np.{how.__name__}"
        )
    x, win, batched = _prepare(
        op, input, kernel_size, stride, padding, dilation, ceil_mode, ndim, channels_last
    )
    try:
        how.resolve_dtypes((x.dtype, x.dtype, None))
    except TypeError:
        raise TypeError(
            f"{op}(): the ufunc reducer np.{how.__name__} has no loop for input dtype "
            f"{x.dtype} (its types: {', '.join(how.types)})"
        ) from None
    return _args.unbatch(kernels.ufunc_forward(x, win, how), batched), None


_INPUT = """
    input : array_like
        ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` (``(N, *spatial, C)`` or
        ``(*spatial, C)`` with ``channels_last``); float16/32/64 or any integer dtype."""

_PARAMETERS = """
    kernel_size : int or tuple of int
        Window size per spatial dimension.
    stride : int or tuple of int, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple of int, tuple of (lo, hi) pairs, or str, default 0
        Ints pad both sides under PyTorch's rule (at most half the dilated kernel); pairs pad
        each side by any amount; ``'valid'`` is none; ``'same'`` gives ``ceil(n / stride)``
        outputs with the odd padding cell at the end, ``'same_lower'`` at the start.
    dilation : int or tuple of int, default 1
        Spacing between window cells.
    ceil_mode : bool, default False
        Round the number of windows up; a window starting in the high padding is dropped."""


# The public reducers share their parameter text (filled by _docs.fill) but are written out
# one by one, so that each keeps its exact signature and its own docstring (help(), inspect,
# the API pages): repetition on purpose (docs/design.md, "Repetition kept on purpose").
@typed_as(MaxPoolN)
@differentiable(min_pool_impl, window=sliding_window)
def min_pool(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    ndim: int | None = None,
    channels_last: bool = False,
) -> Any:
    """Min pooling over the trailing spatial axes; `poolnd.max_pool`'s arguments and rules.

    Parameters
    ----------{input}{parameters}
    return_indices : bool, default False
        Also return the int64 flat index of each minimum within its ``(n, c)`` plane.
    ndim : int, optional
        Number of spatial dimensions; needed only when ``kernel_size`` is an int.
    channels_last : bool, default False
        The channels are the last axis: ``(N, *spatial, C)``, pooled in place.

    Returns
    -------
    out : ndarray or tuple of ndarray
        The window minima (input dtype); with ``return_indices``, ``(values, indices)``. The
        first minimum wins ties, NaN propagates; a window reading only padding gives ``+inf``
        (the dtype's maximum for integers) and index -1.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.min_pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), (2,))
    array([[ 1., -1.,  2., -2.]])
    >>> poolnd.min_pool(np.array([[5, 1, 7, 1]], np.uint8), (2,), return_indices=True)
    (array([[1, 1]], dtype=uint8), array([[1, 3]]))
    """
    return min_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        channels_last=channels_last, op="min_pool", ndim=ndim, grad=False,
    )[0]


@same_library
@differentiable(sum_pool_impl, window=sliding_window)
def sum_pool(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    *,
    ndim: int | None = None,
    channels_last: bool = False,
) -> np.ndarray:
    """Sum pooling over the trailing spatial axes: each window's sum, padding adding zero.

    Sums accumulate in float32 for float16/32 input, float64 for float64 and 64-bit integers
    for integers, cells in row-major order.

    Parameters
    ----------{input}{parameters}
    ndim : int, optional
        Number of spatial dimensions; needed only when ``kernel_size`` is an int.
    channels_last : bool, default False
        The channels are the last axis: ``(N, *spatial, C)``, pooled in place.

    Returns
    -------
    ndarray
        The window sums: the input's float dtype, or int64 (uint64 for unsigned input), as
        NumPy's ``sum`` gives.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.sum_pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), (2,))
    array([[ 3., -1.,  5., -2.]])
    >>> poolnd.sum_pool(np.full((1, 2, 2), 200, np.uint8), (2, 2))
    array([[[800]]], dtype=uint64)
    """
    return sum_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode,
        channels_last=channels_last, op="sum_pool", ndim=ndim, grad=False,
    )[0]


@same_library
@differentiable(pool_impl, window=sliding_window)
def pool(
    input: Any,
    reducer: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    *,
    count_include_pad: bool = True,
    ndim: int | None = None,
    channels_last: bool = False,
) -> np.ndarray:
    """Pool with any reducer, as ``jax.lax.reduce_window`` over the spatial axes.

    Parameters
    ----------
    input : array_like
        ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` (``(N, *spatial, C)`` or
        ``(*spatial, C)`` with ``channels_last``); float16/32/64 or any integer dtype.
    reducer : {'max', 'min', 'sum', 'mean'} or numpy.ufunc
        'max', 'min', 'sum' are `poolnd.max_pool`, `poolnd.min_pool`, `poolnd.sum_pool`;
        'mean' is `poolnd.avg_pool` (with dilation allowed). A binary ufunc with an identity
        (``np.multiply``, ``np.logical_or``, ``np.bitwise_and``, ...) folds each window from
        its identity in row-major order, padding cells being the identity; its result has
        the ufunc's dtype. ``np.maximum`` and ``np.minimum`` mean 'max' and 'min'.{parameters}
    count_include_pad : bool, default True
        For 'mean': count padding cells in the divisor.
    ndim : int, optional
        Number of spatial dimensions; needed only when ``kernel_size`` is an int.
    channels_last : bool, default False
        The channels are the last axis: ``(N, *spatial, C)``, pooled in place.

    Returns
    -------
    ndarray
        The reduced windows. `poolnd.vjp` works for the four named reducers.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> x = np.array([[1., 2, -1, 0, 2, 3, -2, 0]])
    >>> poolnd.pool(x, "mean", (2,))
    array([[ 1.5, -0.5,  2.5, -1. ]])
    >>> poolnd.pool(x, np.multiply, (2,))
    array([[ 2., -0.,  6., -0.]])
    >>> poolnd.pool(np.array([[0, 1, 0, 0]], bool).astype(np.uint8), np.bitwise_or, (2,))
    array([[1, 0]], dtype=uint8)
    """
    return pool_impl(
        input, reducer, kernel_size, stride, padding, dilation, ceil_mode,
        count_include_pad=count_include_pad, channels_last=channels_last, op="pool",
        ndim=ndim, grad=False,
    )[0]


for _fn in (min_pool, sum_pool, pool):
    fill(_fn, input=_INPUT, parameters=_PARAMETERS)
del _fn
