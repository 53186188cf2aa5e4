"""Blur pooling (Zhang, ICML 2019): a normalised binomial low-pass filter, then subsampling.

The semantics are those of the ``antialiased-cnns`` package's ``BlurPool`` / ``BlurPool1D``:
the input is padded by ``(filt_size - 1) // 2 + pad_off`` cells before and
``ceil((filt_size - 1) / 2) + pad_off`` after each spatial dimension (by reflection,
replication or zeros), filtered channel by channel with the outer product of the binomial
row ``C(f-1, i) / 2**(f-1)``, and sampled every ``stride`` cells.

The filter is separable and the padding is an index map, so the whole op is a sum of
weighted strided copies: per spatial dimension, one *term* per filter tap covers the
outputs whose tap lands inside the input (a strided slice of it), and one term per border
output whose tap lands in the padding names the input cell that padding repeats (or
nothing, for zeros). A product of one term per dimension adds ``weight * input[slices]``
to ``output[slices]``. Nothing is padded or copied: the extra memory is one output-sized
scratch array, and the pullback, the adjoint of the same linear map, runs the terms the
other way (float16 accumulates in a float32 array the size of the result, then rounds).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _args
from .._autodiff import differentiable
from .._docs import INPUT_SHAPE_ERROR, INPUT_TYPE_ERROR, RAISES, fill
from .._geometry import window_bounds
from .._typing import same_array
from .layout import by_transpose
from .pooling import max_pool_impl

__all__ = [
    "PAD_TYPES",
    "binomial_filter",
    "blur_args",
    "blur_pool1d",
    "blur_pool2d",
    "blur_pool_impl",
    "blur_pool_pads",
    "max_blur_pool1d",
    "max_blur_pool2d",
    "max_blur_pool_impl",
]

Pullback = Callable[[Any], np.ndarray]

PAD_TYPES = {
    "reflect": "reflect", "refl": "reflect",
    "replicate": "replicate", "repl": "replicate",
    "zero": "zero",
}
"""The package's ``pad_type`` spellings and the padding each one means."""

MAX_FILT_SIZE = 7


def binomial_filter(filt_size: int) -> np.ndarray:
    """The normalised binomial row of ``filt_size`` taps: ``C(f-1, i) / 2**(f-1)``.

    Every weight is a dyadic fraction, exact in any floating dtype.

    Examples
    --------
    >>> binomial_filter(4)
    array([0.125, 0.375, 0.375, 0.125])
    >>> binomial_filter(1)
    array([1.])
    """
    return np.array([math.comb(filt_size - 1, i) for i in range(filt_size)]) / 2 ** (filt_size - 1)


def blur_pool_pads(filt_size: int, pad_off: int) -> tuple[int, int]:
    """Padding ``(before, after)`` of one dimension, as the package computes it.

    Examples
    --------
    >>> blur_pool_pads(4, 0)
    (1, 2)
    >>> blur_pool_pads(3, 1)
    (2, 2)
    """
    return (filt_size - 1) // 2 + pad_off, filt_size // 2 + pad_off


@dataclass(frozen=True)
class _Term:
    """``output[out] += weight * input[src]`` along one dimension (``src`` may be strided)."""

    weight: float
    out: slice
    src: slice


def _source(q: int, length: int, mode: str) -> int | None:
    """The input cell that padded position ``q`` shows, or None for a zero."""
    if 0 <= q < length:
        return q
    if mode == "zero":
        return None
    if mode == "replicate":
        return min(max(q, 0), length - 1)
    return -q if q < 0 else 2 * (length - 1) - q  # reflect: the edge cell is not repeated


def _axis_terms(
    length: int, out_len: int, filt_size: int, stride: int, pad_lo: int, mode: str
) -> list[_Term]:
    """The terms of one dimension: per tap, its interior slice, then its border cells."""
    terms = []
    for tap, weight in enumerate(binomial_filter(filt_size).tolist()):
        first, count, start = window_bounds(out_len, length, stride, pad_lo, 1, tap)
        if count:
            terms.append(_Term(weight, slice(first, first + count),
                               slice(start, start + (count - 1) * stride + 1, stride)))
        for o in itertools.chain(range(min(first, out_len)), range(first + count, out_len)):
            src = _source(o * stride - pad_lo + tap, length, mode)
            if src is not None:
                terms.append(_Term(weight, slice(o, o + 1), slice(src, src + 1)))
    return terms


@dataclass(frozen=True)
class _Plan:
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    axes: tuple[list[_Term], ...]

    def terms(self) -> Any:
        """``(weight, out_index, src_index)`` for every product of per-dimension terms."""
        for combo in itertools.product(*self.axes):
            weight = math.prod(t.weight for t in combo)
            yield (weight, (Ellipsis, *(t.out for t in combo)),
                   (Ellipsis, *(t.src for t in combo)))


def _plan(
    op: str, in_shape: tuple[int, ...], filt: tuple[int, ...], stride: tuple[int, ...],
    pad_off: tuple[int, ...], mode: str,
) -> _Plan:
    axes, out_shape = [], []
    for dim, (n, f, s, off) in enumerate(zip(in_shape, filt, stride, pad_off)):
        lo, hi = blur_pool_pads(f, off)
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(
                f"{op}(): pad_type='reflect' needs the padding of each side smaller than the "
                f"input size it reflects; got padding ({lo}, {hi}) for size {n} in spatial "
                f"dimension {dim} (filt_size={f}, pad_off={off}); use a larger input or "
                f"pad_type 'replicate' or 'zero'"
            )
        out = (n + lo + hi - f) // s + 1
        out_shape.append(out)
        axes.append(_axis_terms(n, out, f, s, lo, mode))
    return _Plan(in_shape, tuple(out_shape), tuple(axes))


def _pad_mode(op: str, pad_type: Any) -> str:
    if not isinstance(pad_type, str):
        raise TypeError(
            f"{op}(): pad_type must be a str, one of {sorted(PAD_TYPES)}; got {pad_type!r} "
            f"of type {type(pad_type).__name__}"
        )
    if pad_type not in PAD_TYPES:
        raise ValueError(f"{op}(): pad_type must be one of {sorted(PAD_TYPES)}; got {pad_type!r}")
    return PAD_TYPES[pad_type]


def _check_ints(
    op: str, name: str, values: tuple[int, ...], low: int, high: int | None, rule: str
) -> None:
    if min(values) < low or (high is not None and max(values) > high):
        raise ValueError(f"{op}(): {name} must be {rule}; got {values}")


def blur_args(
    op: str, pad_type: Any, filt_size: Any, stride: Any, pad_off: Any, ndim: int
) -> tuple[str, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Checked blur arguments: ``(padding mode, filt_size, stride, pad_off)`` per dimension."""
    mode = _pad_mode(op, pad_type)
    filt = _args.as_int_tuple(op, "filt_size", filt_size, ndim)
    _check_ints(op, "filt_size", filt, 1, MAX_FILT_SIZE,
                f"between 1 and {MAX_FILT_SIZE} (the binomial filters [1] to [1, 6, 15, 20, 15, "
                f"6, 1])")
    strides = _args.as_int_tuple(op, "stride", stride, ndim)
    _check_ints(op, "stride", strides, 1, None, "positive")
    offsets = _args.as_int_tuple(op, "pad_off", pad_off, ndim)
    _check_ints(op, "pad_off", offsets, 0, None, "non-negative (extra padding on each side)")
    return mode, filt, strides, offsets


@by_transpose("input")
def blur_pool_impl(
    input: Any,
    pad_type: Any = "reflect",
    filt_size: Any = 4,
    stride: Any = 2,
    pad_off: Any = 0,
    *,
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[np.ndarray, Pullback | None]:
    """Blur pooling; returns ``(out, pullback)`` with ``pullback`` None unless ``grad``."""
    assert ndim is not None
    mode, filt, strides, offsets = blur_args(op, pad_type, filt_size, stride, pad_off, ndim)
    x, batched = _args.as_batched(op, input, ndim)
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}(): input dtype must be float16, float32 or float64 (the filter weights are "
            f"fractions); got {x.dtype}"
        )
    plan = _plan(op, x.shape[2:], filt, strides, offsets, mode)
    acc_dtype = np.dtype(np.float64 if x.dtype == np.float64 else np.float32)
    lead = x.shape[:2]
    out = _args.unbatch(_blur_forward(x, plan, acc_dtype).astype(x.dtype, copy=False), batched)
    if not grad:
        return out, None

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, batched)
        grad_in = _blur_backward(g, plan, lead, acc_dtype).astype(x.dtype, copy=False)
        return _args.unbatch(grad_in, batched)

    return out, pullback


def _blur_forward(x: np.ndarray, plan: _Plan, acc_dtype: np.dtype) -> np.ndarray:
    """``sum(weight * x[src])`` into an output-sized accumulator, term by term."""
    shape = x.shape[:2] + plan.out_shape
    acc = np.zeros(shape, dtype=acc_dtype)
    scratch = np.empty(shape, dtype=acc_dtype)
    for weight, out_index, src_index in plan.terms():
        part = scratch[out_index]
        np.multiply(x[src_index], weight, out=part, dtype=acc_dtype)
        target = acc[out_index]
        np.add(target, part, out=target)
    return acc


def _blur_backward(
    g: np.ndarray, plan: _Plan, lead: tuple[int, ...], acc_dtype: np.dtype
) -> np.ndarray:
    """The adjoint: each term adds ``weight * g[out]`` to the input cells it read."""
    grad = np.zeros(lead + plan.in_shape, dtype=acc_dtype)
    scratch = np.empty(g.shape, dtype=acc_dtype)
    for weight, out_index, src_index in plan.terms():
        part = scratch[out_index]
        np.multiply(g[out_index], weight, out=part, dtype=acc_dtype)
        target = grad[src_index]
        np.add(target, part, out=target)
    return grad


# The per-rank public forms are written out one by one, so that each keeps PyTorch's exact
# signature and its own docstring (help(), inspect, the API pages): repetition on purpose
# (docs/design.md, "Repetition kept on purpose").
@same_array
@differentiable(blur_pool_impl, ndim=1)
def blur_pool1d(
    input: Any,
    pad_type: str = "reflect",
    filt_size: Any = 3,
    stride: Any = 2,
    pad_off: Any = 0,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """1D blur pooling of ``(N, C, L)`` or ``(C, L)``: binomial low-pass, then subsample.

    Parameters
    ----------
    input : array_like
        ``(N, C, L)`` or unbatched ``(C, L)``, float16/32/64.
    pad_type : {'reflect', 'refl', 'replicate', 'repl', 'zero'}, default 'reflect'
        How the borders are padded.
    filt_size : int, default 3
        Number of filter taps, 1 to 7: the normalised row ``C(f-1, i) / 2**(f-1)``.
    stride : int, default 2
        Keep every ``stride``-th filtered cell.
    pad_off : int, default 0
        Extra padding on both sides, beyond the filter's ``(f-1)//2`` before and
        ``f//2`` after.
    channels_last : bool, default False
        Read and return ``(N, L, C)`` (or ``(L, C)``) instead.

    Returns
    -------
    ndarray
        ``(N, C, L_out)`` (or ``(C, L_out)``) in the input dtype, with
        ``L_out = (L + 2*pad_off - 1) // stride + 1``.

{raises}
    Notes
    -----
    Reflection needs each side's padding smaller than the input size, as in PyTorch.

    Padding sizes, the filter and the output size are those of the ``antialiased-cnns``
    package (``BlurPool``/``BlurPool1D``); the values equal it up to float rounding (sums are
    taken in a different order). Sums accumulate in float32 (float64 for float64 input).

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> x = np.array([[0., 0, 1, 1, 0, 0, 1, 1]])
    >>> poolnd.functional.blur_pool1d(x, filt_size=3)
    array([[0.  , 0.75, 0.25, 0.75]])
    >>> poolnd.functional.blur_pool1d(x[:, 1:], filt_size=3)  # shifted by one cell
    array([[0.5 , 0.75, 0.25, 1.  ]])
    """
    return blur_pool_impl(input, pad_type, filt_size, stride, pad_off,
                          channels_last=channels_last, op="blur_pool1d", ndim=1, grad=False)[0]


@same_array
@differentiable(blur_pool_impl, ndim=2)
def blur_pool2d(
    input: Any,
    pad_type: str = "reflect",
    filt_size: Any = 4,
    stride: Any = 2,
    pad_off: Any = 0,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """2D blur pooling of ``(N, C, H, W)`` or ``(C, H, W)``: binomial low-pass, then subsample.

    The anti-aliased downsampling of Zhang (2019): each channel is filtered with the outer
    product of two binomial rows and every ``stride``-th cell is kept.

    Parameters
    ----------
    input : array_like
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``, float16/32/64.
    pad_type : {'reflect', 'refl', 'replicate', 'repl', 'zero'}, default 'reflect'
        How the borders are padded.
    filt_size : int or tuple of int, default 4
        Filter taps per dimension, 1 to 7 (``4``: ``[1, 3, 3, 1] / 8``).
    stride : int or tuple of int, default 2
        Keep every ``stride``-th filtered cell.
    pad_off : int or tuple of int, default 0
        Extra padding on both sides of each dimension.
    channels_last : bool, default False
        Read and return ``(N, H, W, C)`` (or ``(H, W, C)``) instead.

    Returns
    -------
    ndarray
        ``(N, C, H_out, W_out)`` (or unbatched) in the input dtype, with
        ``H_out = (H + 2*pad_off - 1) // stride + 1`` and likewise ``W_out``.

{raises}
    Notes
    -----
    Reflection needs each side's padding smaller than the input size, as in PyTorch.
    ``filt_size=1`` is plain subsampling, ``x[..., ::stride, ::stride]`` (after ``pad_off``).

    Padding sizes, the filter and the output size are those of the ``antialiased-cnns``
    package (``BlurPool``/``BlurPool1D``); the values equal it up to float rounding (sums are
    taken in a different order). Sums accumulate in float32 (float64 for float64 input).

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> x = np.zeros((1, 4, 4)); x[0, 1, 1] = 64.
    >>> poolnd.functional.blur_pool2d(x)
    array([[[16.,  4.],
            [ 4.,  1.]]])
    >>> poolnd.functional.blur_pool2d(x, 'zero', filt_size=1, pad_off=1)
    array([[[ 0.,  0.,  0.],
            [ 0., 64.,  0.],
            [ 0.,  0.,  0.]]])
    """
    return blur_pool_impl(input, pad_type, filt_size, stride, pad_off,
                          channels_last=channels_last, op="blur_pool2d", ndim=2, grad=False)[0]


@by_transpose("input")
def max_blur_pool_impl(
    input: Any,
    pad_type: Any = "reflect",
    filt_size: Any = 4,
    stride: Any = 2,
    pad_off: Any = 0,
    kernel_size: Any = 2,
    *,
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[np.ndarray, Pullback | None]:
    """Max pooling with stride 1, then blur pooling; the pullback chains both pullbacks."""
    pooled, max_pullback = max_pool_impl(input, kernel_size, 1, op=op, ndim=ndim, grad=grad)
    out, blur_pullback = blur_pool_impl(pooled, pad_type, filt_size, stride, pad_off,
                                        op=op, ndim=ndim, grad=grad)
    if not grad:
        return out, None
    assert max_pullback is not None and blur_pullback is not None
    return out, lambda grad_output: max_pullback(blur_pullback(grad_output))


@same_array
@differentiable(max_blur_pool_impl, ndim=1)
def max_blur_pool1d(
    input: Any,
    pad_type: str = "reflect",
    filt_size: Any = 3,
    stride: Any = 2,
    pad_off: Any = 0,
    kernel_size: Any = 2,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """1D MaxBlurPool of ``(N, C, L)`` or ``(C, L)``: max pooling with stride 1, then blur pooling.

    Zhang's anti-aliased max pooling: the max is taken densely (``kernel_size``, stride 1, no
    padding) and the subsampling is done by `blur_pool1d` with the other arguments.

    Parameters
    ----------
    input : array_like
        ``(N, C, L)`` or unbatched ``(C, L)``, float16/32/64.
    pad_type, filt_size, stride, pad_off
        As in `blur_pool1d`.
    kernel_size : int, default 2
        Window of the stride-1 max pooling.
    channels_last : bool, default False
        Channels on the last axis, in and out.

    Returns
    -------
    ndarray
        ``blur_pool1d(max_pool1d(input, kernel_size, 1), pad_type, filt_size, stride, pad_off)``.

{raises}
    Notes
    -----
    The dense max pooling is computed in full (one input-sized array) before it is blurred.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> x = np.array([[0., 0, 1, 1, 0, 0, 1, 1]])
    >>> poolnd.functional.max_blur_pool1d(x)
    array([[0.5, 1. , 0.5, 1. ]])
    """
    return max_blur_pool_impl(input, pad_type, filt_size, stride, pad_off, kernel_size,
                              channels_last=channels_last, op="max_blur_pool1d", ndim=1,
                              grad=False)[0]


@same_array
@differentiable(max_blur_pool_impl, ndim=2)
def max_blur_pool2d(
    input: Any,
    pad_type: str = "reflect",
    filt_size: Any = 4,
    stride: Any = 2,
    pad_off: Any = 0,
    kernel_size: Any = 2,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """2D MaxBlurPool of ``(N, C, H, W)`` or ``(C, H, W)``: stride-1 max pooling, then blur.

    Zhang's anti-aliased max pooling, as the ``antialiased-cnns`` networks build it from
    ``MaxPool2d(kernel_size, stride=1)`` followed by ``BlurPool(channels, pad_type,
    filt_size, stride, pad_off)``.

    Parameters
    ----------
    input : array_like
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``, float16/32/64.
    pad_type, filt_size, stride, pad_off
        As in `blur_pool2d`.
    kernel_size : int or tuple of int, default 2
        Window of the stride-1 max pooling.
    channels_last : bool, default False
        Channels on the last axis, in and out.

    Returns
    -------
    ndarray
        ``blur_pool2d(max_pool2d(input, kernel_size, 1), pad_type, filt_size, stride, pad_off)``.

{raises}
    Notes
    -----
    The dense max pooling is computed in full (one input-sized array) before it is blurred.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> x = np.zeros((1, 5, 5)); x[0, 2, 2] = 64.
    >>> poolnd.functional.max_blur_pool2d(x)
    array([[[25., 25.],
            [25., 25.]]])
    """
    return max_blur_pool_impl(input, pad_type, filt_size, stride, pad_off, kernel_size,
                              channels_last=channels_last, op="max_blur_pool2d", ndim=2,
                              grad=False)[0]


_VALUE_ERROR = INPUT_SHAPE_ERROR + """; an unknown ``pad_type``;
        ``filt_size`` outside 1 to 7, a stride or kernel size that is not positive, a negative
        ``pad_off``; reflection padding not smaller than the input size"""

for _fn, _spatial in ((blur_pool1d, "L"), (blur_pool2d, "H, W"), (max_blur_pool1d, "L"),
                      (max_blur_pool2d, "H, W")):
    fill(_fn, raises=RAISES.lstrip("\n"), type_error=INPUT_TYPE_ERROR, value_error=_VALUE_ERROR,
         spatial=_spatial)
del _fn, _spatial
