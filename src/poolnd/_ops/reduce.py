"""Min, sum and any-reducer pooling: `min_pool`, `sum_pool` and the generic `pool`.

They share max and average pooling's canonicalisation (`poolnd._ops.pooling`) and kernels:
min pooling is max pooling of the order-reversed input, sum pooling is a windowed sum with
unit divisors, and a NumPy ufunc reducer folds the strided passes of the generic engine
from its identity, as ``jax.lax.reduce_window`` does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _args
from .._autodiff import differentiable
from .._docs import fill
from .._kernels import sliding as kernels
from .._typing import MaxPoolN, same_library, typed_as
from .bfloat16 import via_float32
from .pooling import (
    Pullback,
    _prepare,
    avg_pool_impl,
    divisors,
    max_pool_impl,
    sliding_window,
)

__all__ = ["NAN_REDUCERS", "REDUCERS", "min_pool", "pool", "pool_impl", "sum_pool"]

REDUCERS = ("max", "min", "sum", "mean")
NAN_REDUCERS = ("nanmax", "nanmin", "nansum", "nanmean")

min_pool_impl = functools.partial(max_pool_impl, minimum=True)


def _sum_out_dtype(dtype: np.dtype) -> np.dtype:
    """NumPy's ``sum`` dtype: floats keep theirs, integers widen to (u)int64."""
    if dtype.kind == "f":
        return dtype
    return np.dtype(np.uint64 if dtype.kind == "u" else np.int64)


@via_float32
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


def _as_reducer(op: str, reducer: Any) -> str | np.ufunc | Callable[..., Any]:
    """A reducer name; a binary ufunc with an identity (`np.maximum`/`np.minimum`, which have
    none, mean 'max'/'min', and `np.fmax`/`np.fmin` 'nanmax'/'nanmin'); or any other
    callable, a function reducing over ``axis=``."""
    if isinstance(reducer, str):
        if reducer not in REDUCERS + NAN_REDUCERS:
            raise ValueError(
                f"{op}(): reducer must be one of "
                f"{', '.join(map(repr, REDUCERS + NAN_REDUCERS))}, a binary NumPy ufunc with "
                f"an identity, or a function reducing over axis= (np.median, ...); got "
                f"{reducer!r}"
            )
        return reducer
    named = {np.maximum: "max", np.minimum: "min", np.fmax: "nanmax", np.fmin: "nanmin"}
    for ufunc, name in named.items():
        if reducer is ufunc:
            return name
    if isinstance(reducer, np.ufunc):
        if reducer.nin != 2 or reducer.nout != 1:
            raise ValueError(
                f"{op}(): a ufunc reducer must take two inputs and give one output; got "
                f"{reducer.__name__} with nin={reducer.nin}, nout={reducer.nout}"
            )
        if reducer.identity is None:
            raise ValueError(
                f"{op}(): a ufunc reducer needs an identity (the value of padding cells); "
                f"np.{reducer.__name__}.identity is None (pass a function reducing over "
                f"axis= instead, such as functools.partial(np.{reducer.__name__}.reduce))"
            )
        return reducer
    if callable(reducer):
        return reducer
    raise TypeError(
        f"{op}(): reducer must be a str or a NumPy ufunc, or a function reducing over axis= "
        f"(np.median, ...); got {reducer!r} of type {type(reducer).__name__}"
    )


def _describe(how: Any) -> str:
    if isinstance(how, str):
        return repr(how)
    if isinstance(how, np.ufunc):
        return f"the ufunc np.{how.__name__}"
    return f"the function {getattr(how, '__name__', repr(how))}"


def _calling(op: str, fn: Callable[..., Any]) -> kernels.Reduce:
    """``fn`` as `kernels.view_forward` calls it: ``fn(windows, axis=axes)``, its result
    checked to be one value per window."""
    name = getattr(fn, "__name__", repr(fn))

    def reduce(windows: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        try:
            result = np.asarray(fn(windows, axis=axes))
        except TypeError as exc:
            if "axis" not in str(exc):
                raise
            raise TypeError(
                f"{op}(): a function reducer must take an axis= keyword (a tuple of axes), "
                f"as NumPy's reductions do; {name}(windows, axis={axes}) raised: {exc}"
            ) from None
        if result.shape != windows.shape[: windows.ndim - len(axes)]:
            raise ValueError(
                f"{op}(): a function reducer must reduce away the axes it is given; {name} "
                f"returned shape {result.shape} for windows of shape {windows.shape} with "
                f"axis={axes}"
            )
        return result

    return reduce


def _outside(win: _args.Window) -> np.ndarray:
    """Per output (``win.out_shape``), the number of its window's cells outside the input:
    padding and a ceil-mode window's overhang."""
    inside = np.asarray(1, np.int64)
    for axis, d in enumerate(divisors(win, False)):
        shape = [1] * win.ndim
        shape[axis] = d.size
        inside = inside * d.reshape(shape)
    return math.prod(win.kernel) - inside


def _function_fill(op: str, x: np.ndarray, win: _args.Window, fill: Any) -> Any:
    """What a function reducer sees in padding cells: ``pad_value``; else NaN for floating
    input; integers and bools need a ``pad_value`` when a window reads padding."""
    if fill is not None:
        return fill
    if x.dtype.kind == "f" or _args.is_bfloat16(x.dtype):
        return np.nan
    if np.any(_outside(win) > 0):
        raise ValueError(
            f"{op}(): a function reducer on {x.dtype} input reads padding cells here (padding "
            f"or ceil_mode), and they have no value for integers: pass pad_value= (as "
            f"block_reduce's cval)"
        )
    return 0


def _with_padding(out: np.ndarray, win: _args.Window, fill: Any, how: str) -> np.ndarray:
    """A padding-free reduction ``out`` (batch axes, then ``win.out_shape``) combined with
    the ``fill`` cells of each window (`_outside` of them)."""
    outside = _outside(win)
    if how in ("max", "min", "nanmax", "nanmin"):
        fold = {"max": np.maximum, "min": np.minimum, "nanmax": np.fmax, "nanmin": np.fmin}[how]
        return np.where(outside > 0, fold(out, fill), out)
    with np.errstate(all="ignore"):  # integer wrap-around, float overflow: as the sums do
        return (out + (outside * fill).astype(out.dtype)).astype(out.dtype)


def _mean_with_padding(
    op: str, x: np.ndarray, win: _args.Window, fill: Any, include_pad: bool
) -> np.ndarray:
    """'mean' with ``pad_value``: every window cell counts, padding ones as ``fill``; sums
    as `poolnd.avg_pool` accumulates them (integers divide truncating toward zero)."""
    if not include_pad:
        raise ValueError(
            f"{op}(): count_include_pad=False leaves padding cells out of the mean, so a "
            f"pad_value has no effect there; drop one of them"
        )
    if x.dtype == np.bool_:
        raise _args.dtype_error(op, x.dtype)
    acc = np.dtype(np.float64 if x.dtype == np.float64 else np.float32) if x.dtype.kind == "f" \
        else np.dtype(np.int64)
    ones = [np.ones(n, np.int64) for n in win.out_shape]
    total = kernels.sum_forward(x, win, ones, 1, acc)
    outside = _outside(win)
    size = math.prod(win.kernel)
    with np.errstate(all="ignore"):
        if acc.kind == "f":
            total = total + (outside * acc.type(fill)).astype(acc)
            return np.add((total / acc.type(size)).astype(x.dtype), 0)
        total = total + outside * int(fill)
        quotient = np.abs(total) // size
        return np.where(total < 0, -quotient, quotient).astype(x.dtype)


def _reduce(
    op: str, x: np.ndarray, win: _args.Window, how: Any, fill: Any, include_pad: bool
) -> np.ndarray:
    """Any reducer but the four named ones without ``pad_value`` over the windows of the
    batched ``x``; ``fill`` is the ``pad_value`` as an ``x.dtype`` scalar, or None."""
    if isinstance(how, np.ufunc):
        try:
            out_dtype = how.resolve_dtypes((x.dtype, x.dtype, None))[-1]
        except TypeError:
            raise TypeError(
                f"{op}(): the ufunc reducer np.{how.__name__} has no loop for input dtype "
                f"{x.dtype} (its types: {', '.join(how.types)})"
            ) from None
        if fill is None:
            return kernels.ufunc_forward(x, win, how)
        return kernels.view_forward(
            x, win, lambda w, axes: how.reduce(w, axis=axes, dtype=out_dtype), fill)
    if how is np.median:  # compiled for float32/float64, the same bits
        return kernels.median_forward(x, win, _calling(op, how), _function_fill(op, x, win, fill))
    if not isinstance(how, str):
        return kernels.view_forward(x, win, _calling(op, how), _function_fill(op, x, win, fill))
    if how == "mean":
        return _mean_with_padding(op, x, win, fill, include_pad)
    floating = x.dtype.kind == "f"
    base = how.removeprefix("nan")
    if floating and how in NAN_REDUCERS:
        out = kernels.nan_forward(x, win, how, None if fill is None or np.isnan(fill) else
                                  (fill, _outside(win)))
        return out if fill is None or how in ("nansum", "nanmean") else \
            _with_padding(out, win, fill, how)
    if base in ("max", "min"):
        out = (kernels.max_forward if base == "max" else kernels.min_forward)(x, win, False)[0]
    elif base == "sum":
        ones = [np.ones(n, np.int64) for n in win.out_shape]
        out_dtype = np.dtype(np.int64) if x.dtype == np.bool_ else _sum_out_dtype(x.dtype)
        out = kernels.sum_forward(x, win, ones, 1, out_dtype)
    else:  # 'nanmean' of integers or bools: NumPy's float64 mean of the window's cells
        ones = [np.ones(n, np.int64) for n in win.out_shape]
        acc = np.dtype(np.uint64 if x.dtype.kind == "u" else np.int64)
        total = kernels.sum_forward(x, win, ones, 1, acc).astype(np.float64)
        count = math.prod(win.kernel) - _outside(win)
        if fill is not None:
            total = total + _outside(win) * float(fill)
            count = np.full_like(count, math.prod(win.kernel))
        with np.errstate(all="ignore"):
            return total / count
    return out if fill is None else _with_padding(out, win, fill, base)


@via_float32
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
    pad_value: Any = None,
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[Any, Pullback | None]:
    """Generic-reducer pooling; returns ``(out, pullback)``, ``pullback`` None unless
    ``grad``."""
    how = _as_reducer(op, reducer)
    common = {"channels_last": channels_last, "op": op, "ndim": ndim, "grad": grad}
    if pad_value is None and how in ("max", "min"):
        impl = max_pool_impl if how == "max" else min_pool_impl
        return impl(input, kernel_size, stride, padding, dilation, ceil_mode, False, **common)
    if pad_value is None and how == "sum":
        return sum_pool_impl(input, kernel_size, stride, padding, dilation, ceil_mode, **common)
    if pad_value is None and how == "mean":
        return avg_pool_impl(
            input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
            dilation=dilation, **common,
        )
    if grad:
        raise TypeError(
            f"{op}(): gradients exist for the reducers {', '.join(map(repr, REDUCERS))} "
            f"without pad_value; got {_describe(how)}"
            f"{'' if pad_value is None else f' with pad_value={pad_value!r}'}"
        )
    x, win, batched = _prepare(
        op, input, kernel_size, stride, padding, dilation, ceil_mode, ndim, channels_last
    )
    include_pad = _args.as_bool(op, "count_include_pad", count_include_pad)
    fill = None if pad_value is None else _args.as_pad_value(op, pad_value, x.dtype)
    return _args.unbatch(_reduce(op, x, win, how, fill, include_pad), batched), None


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
    pad_value: Any = None,
) -> np.ndarray:
    """Pool with any reducer, as ``jax.lax.reduce_window`` over the spatial axes.

    Parameters
    ----------
    input : array_like
        ``(*batch, C, *spatial)`` with any number of leading batch axes, or unbatched
        ``(C, *spatial)`` (``(*batch, *spatial, C)`` or ``(*spatial, C)`` with
        ``channels_last``); bool, float16/32/64, bfloat16 or any integer dtype.
    reducer : str, numpy.ufunc or callable
        'max', 'min', 'sum' are `poolnd.max_pool`, `poolnd.min_pool`, `poolnd.sum_pool`;
        'mean' is `poolnd.avg_pool` (with dilation allowed). 'nanmax', 'nanmin', 'nansum',
        'nanmean' skip NaN cells as NumPy's ``nanmax``... do (a window without a number
        gives NaN, 0 for 'nansum'; ``np.fmax`` and ``np.fmin`` mean 'nanmax' and
        'nanmin'); for integer and bool input they are the plain reductions, except that
        'nanmean' gives NumPy's float64 mean. A binary ufunc with an identity
        (``np.multiply``, ``np.logical_or``, ``np.bitwise_and``, ...) folds each window from
        its identity in row-major order, padding cells being the identity; its result has
        the ufunc's dtype. ``np.maximum`` and ``np.minimum`` mean 'max' and 'min'. Any
        other callable is a function reducing over an ``axis=`` tuple as NumPy's do
        (``np.median``, ``np.std``, ``functools.partial(np.percentile, q=90)``, your own):
        it is called on read-only views of blocks of windows, shape ``(planes,
        *out_block, *kernel_size)``, with ``axis`` the kernel axes, and sees every window
        cell, padding cells holding ``pad_value`` (NaN for floating input when it is None;
        integer or bool input reading padding needs a ``pad_value``). Its result dtype is
        the output's.{parameters}
    count_include_pad : bool, default True
        For 'mean': count padding cells in the divisor.
    ndim : int, optional
        Number of spatial dimensions; needed only when ``kernel_size`` is an int.
    channels_last : bool, default False
        The channels are the last axis: ``(N, *spatial, C)``, pooled in place.
    pad_value : number, optional
        The value of every window cell outside the input (padding and a ``ceil_mode``
        window's overhang), which the reducer then sees: ``skimage.measure.block_reduce``'s
        ``cval`` is ``pool(x, func, block, ceil_mode=True, pad_value=cval)``. For 'mean'
        every cell then counts in the divisor. It must fit the input dtype exactly (NaN
        for floats means "missing": the NaN reducers skip it). None (the default): padding
        is the reducer's identity (excluded), as described under ``reducer``.

    Returns
    -------
    ndarray
        The reduced windows. `poolnd.vjp` works for the four named reducers without
        ``pad_value``.

    Notes
    -----
    A function reducer gets at most about ``2**20`` window cells per call (blocks of planes
    and output rows), so extra memory stays bounded by that block and what the function
    allocates for it, whatever the input's size. ``np.median`` itself (the function, not a
    wrapper of it) runs compiled for float32 and float64 input, up to three spatial
    dimensions and windows of up to 128 cells, with the same bits and no call of
    ``np.median`` (nor its RuntimeWarnings). The named NaN reducers run as one strided
    pass per kernel offset, with memory of a few outputs.

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
    >>> poolnd.pool(np.array([[1., 5, 2, np.nan, 4, 3]]), np.median, (3,))
    array([[ 2., nan]])
    >>> poolnd.pool(np.array([[1., 5, 2, np.nan, 4, 3]]), "nanmean", (3,))
    array([[2.66666667, 3.5       ]])
    >>> poolnd.pool(np.arange(5.)[None], np.max, (2,), ceil_mode=True, pad_value=9)
    array([[1., 3., 9.]])
    """
    return pool_impl(
        input, reducer, kernel_size, stride, padding, dilation, ceil_mode,
        count_include_pad=count_include_pad, channels_last=channels_last, pad_value=pad_value,
        op="pool", ndim=ndim, grad=False,
    )[0]


for _fn in (min_pool, sum_pool, pool):
    fill(_fn, input=_INPUT, parameters=_PARAMETERS)
del _fn
