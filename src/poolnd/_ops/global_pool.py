"""Global pooling: max, average and LP norm over every trailing spatial axis, any rank.

Global pooling is adaptive pooling to size 1 over every spatial axis, so it runs on the
table-driven kernels (`poolnd._kernels.tables`) like adaptive pooling; LP norms are
computed here, in blocks of planes. Every public function here is registered with
`poolnd.vjp`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .. import _args, _threads
from .._autodiff import differentiable
from .._kernels import tables as tk
from .._typing import same_array, same_library
from .adaptive import Pullback, accumulator, adaptive_tables, require_float
from .layout import by_transpose

__all__ = [
    "global_avg_impl",
    "global_avg_pool",
    "global_lp_impl",
    "global_lp_pool",
    "global_max_impl",
    "global_max_pool",
]


def _global_prepare(
    op: str, x: Any, ndim: Any, keepdims: Any
) -> tuple[np.ndarray, _args.Batched, bool]:
    """(batched input, was it batched, keepdims) for a global op over ``ndim`` trailing axes."""
    keep = _args.as_bool(op, "keepdims", keepdims)
    if ndim is None:
        try:
            rank = np.ndim(x) - 2
        except ValueError:  # ragged nested sequences: as_input names the problem
            rank = 1
        if rank < 1 and not isinstance(x, (str, bytes)):
            raise ValueError(
                f"{op}(): input must have at least 3 dims (N, C, *spatial) when ndim is None; "
                f"got {np.ndim(x)} dims (pass ndim= for unbatched (C, *spatial) input)"
            )
        rank = max(rank, 1)
    else:
        rank = _args.spatial_rank(op, None, ndim)
    arr, batched = _args.as_batched(op, x, rank)
    return arr, batched, keep


def _global_out(a: np.ndarray, batched: _args.Batched, keep: bool) -> np.ndarray:
    """``(N, C, 1, ..., 1)`` results as the caller asked: unbatched (or with their leading
    batch axes split again) and/or squeezed."""
    rank = a.ndim - 2
    a = _args.unbatch(a, batched)
    return a if keep else a.reshape(a.shape[: a.ndim - rank])


@by_transpose("x")
def global_max_impl(
    x: Any, *, keepdims: Any = False, op: str, ndim: Any, grad: bool
) -> tuple[Any, Pullback | None]:
    """Global max pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``."""
    arr, batched, keep = _global_prepare(op, x, ndim, keepdims)
    if grad:
        _args.require_differentiable(op, arr.dtype)
    in_shape = arr.shape[2:]
    tables = adaptive_tables(in_shape, (1,) * len(in_shape))
    if arr.dtype == np.bool_:  # a mask: the max is the logical or
        values = tk.max_forward(arr.view(np.uint8), tables, with_indices=False)[0].view(np.bool_)
        return _global_out(values, batched, keep), None
    values, indices = tk.max_forward(arr, tables, with_indices=grad)
    out = _global_out(values, batched, keep)
    if not grad:
        return out, None

    assert indices is not None  # asked for with grad

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, True).reshape(values.shape)
        return _args.unbatch(tk.max_backward(g, indices, in_shape), batched)

    return out, pullback


@by_transpose("x")
def global_avg_impl(
    x: Any, *, keepdims: Any = False, op: str, ndim: Any, grad: bool
) -> tuple[Any, Pullback | None]:
    """Global average pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``."""
    arr, batched, keep = _global_prepare(op, x, ndim, keepdims)
    require_float(op, arr.dtype)
    in_shape = arr.shape[2:]
    acc = accumulator(arr.dtype)
    means = tk.mean_forward(arr, len(in_shape), acc)
    out = _global_out(means.reshape(means.shape + (1,) * len(in_shape)), batched, keep)
    if not grad:
        return out, None

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, True).reshape(means.shape)
        return _args.unbatch(tk.mean_backward(g, in_shape, acc), batched)

    return out, pullback


def _norm_type(op: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{op}(): norm_type must be a real number (float('inf') for the max norm); "
            f"got {value!r} of type {type(value).__name__}"
        )
    p = float(value)
    if not p > 0:
        raise ValueError(f"{op}(): norm_type must be positive (or inf); got {value!r}")
    return p


def _lp_grad(a: np.ndarray, norm: np.ndarray, g: np.ndarray, p: float) -> np.ndarray:
    """d norm / d a times ``g`` per plane (rows of ``a``), as torch's ``norm_backward``:
    zero where the norm is zero; p = inf splits ``g`` evenly among the largest cells."""
    norm, g = norm[:, None], g[:, None]
    mag = np.abs(a)
    sign = np.where(np.isnan(a), 0, np.sign(a)).astype(a.dtype)  # torch: sign(NaN) = 0
    if p == 1:
        return sign * g
    if p == 2:
        return g * np.where(norm == 0, 0, a / norm)
    if math.isinf(p):
        mask = (mag == norm) | np.isnan(mag)
        return sign * (g / mask.sum(axis=1, keepdims=True).astype(a.dtype)) * mask
    if p < 1:
        scaled = sign * np.where(a == 0, 0, mag ** (p - 1))
        return scaled * g * norm ** (1 - p)
    # sign(a) * (|a| / norm) ** (p - 1): the ratio keeps the powers from overflowing
    return sign * np.where(norm == 0, 0, (mag / norm) ** (p - 1)) * g


def _lp_norms(a: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of each row of ``a`` (in ``a``'s dtype), scaled by the row's largest
    magnitude so that ``|x| ** p`` cannot overflow (a float64 1.3e154 squared does)."""
    with np.errstate(all="ignore"):
        mag = np.abs(a)
        if math.isinf(p):
            return mag.max(axis=1, initial=0)
        if p == 1:
            return mag.sum(axis=1)
        top = mag.max(axis=1, initial=0)
        scale = np.where((top > 0) & np.isfinite(top), top, 1).astype(a.dtype)
        rel = mag / scale[:, None]
        if p == 2:
            return np.sqrt(np.square(rel).sum(axis=1)) * scale
        return (rel ** a.dtype.type(p)).sum(axis=1) ** a.dtype.type(1 / p) * scale


@by_transpose("x")
def global_lp_impl(
    x: Any, norm_type: Any = 2.0, *, keepdims: Any = False, op: str, ndim: Any, grad: bool
) -> tuple[Any, Pullback | None]:
    """Global Lp pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``."""
    p = _norm_type(op, norm_type)
    arr, batched, keep = _global_prepare(op, x, ndim, keepdims)
    require_float(op, arr.dtype)
    in_shape = arr.shape[2:]
    # float64 for every input, as PyTorch's CPU norms accumulate: |x| ** p of a float32 6.98e12
    # overflows float32 (the norm would be inf)
    acc = np.dtype(np.float64)
    rows = arr.reshape(arr.shape[0] * arr.shape[1], math.prod(in_shape))
    # blocks of planes: the temporaries (|x|, its power) stay near _threads.LP_BLOCK_BYTES
    step = max(1, _threads.LP_BLOCK_BYTES // max(1, rows.shape[1] * acc.itemsize * 2))
    # C order: NumPy's power differs by an ulp between strided and contiguous arrays
    norm = np.concatenate([_lp_norms(np.ascontiguousarray(rows[i:i + step], dtype=acc), p)
                           for i in range(0, rows.shape[0], step)] or [np.empty(0, acc)])
    shape = arr.shape[:2] + (1,) * len(in_shape)
    out = _global_out(norm.astype(arr.dtype).reshape(shape), batched, keep)
    if not grad:
        return out, None

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, True).reshape(-1).astype(acc)
        d = np.empty(rows.shape, arr.dtype)
        for i in range(0, rows.shape[0], step):  # blocks of planes, as the forward
            a = np.ascontiguousarray(rows[i:i + step], dtype=acc)
            with np.errstate(all="ignore"):
                d[i:i + step] = _lp_grad(a, norm[i:i + step], g[i:i + step], p)
        return _args.unbatch(d.reshape(arr.shape), batched)

    return out, pullback


# The global pooling functions are written out one by one, so that each keeps PyTorch's exact
# signature and its own docstring (help(), inspect, the API pages): repetition on purpose
# (docs/design.md, "Repetition kept on purpose").
@same_array
@differentiable(global_max_impl)
def global_max_pool(
    x: Any, *, ndim: int | None = None, keepdims: bool = False, channels_last: bool = False
) -> np.ndarray:
    """Maximum over all trailing spatial axes of ``(N, C, *spatial)``.

    The same as adaptive max pooling to size 1 in every spatial dimension (the first
    maximum in row-major order wins ties; NaN propagates), in any number of dimensions.

    Parameters
    ----------
    x : array_like
        ``(N, C, *spatial)``, or unbatched ``(C, *spatial)`` when ``ndim`` is given; any
        float or integer dtype.
    ndim : int, optional
        Number of trailing spatial axes; default ``x.ndim - 2``.
    keepdims : bool, default False
        Keep the pooled axes with size 1 (``(N, C, 1, ..., 1)``) instead of dropping them.

    Returns
    -------
    ndarray
        ``(N, C)`` (or ``(C,)``) in the input dtype, or with size-1 axes per ``keepdims``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(24.).reshape(2, 3, 4)
    >>> global_max_pool(x)
    array([[ 3.,  7., 11.],
           [15., 19., 23.]])
    >>> global_max_pool(x, ndim=2, keepdims=True)
    array([[[11.]],
    <BLANKLINE>
           [[23.]]])
    """
    return global_max_impl(
        x, keepdims=keepdims, channels_last=channels_last, op="global_max_pool", ndim=ndim,
        grad=False,
    )[0]


@same_array
@differentiable(global_avg_impl)
def global_avg_pool(
    x: Any, *, ndim: int | None = None, keepdims: bool = False, channels_last: bool = False
) -> np.ndarray:
    """Mean over all trailing spatial axes of ``(N, C, *spatial)``.

    The same as ``torch.mean`` over the spatial axes (and adaptive average pooling to size 1),
    summed in float32 (float64 for float64 input) and divided once, equal to PyTorch's within
    float rounding.

    Parameters
    ----------
    x : array_like
        ``(N, C, *spatial)``, or unbatched ``(C, *spatial)`` when ``ndim`` is given;
        float16, float32 or float64.
    ndim : int, optional
        Number of trailing spatial axes; default ``x.ndim - 2``.
    keepdims : bool, default False
        Keep the pooled axes with size 1.

    Returns
    -------
    ndarray
        ``(N, C)`` (or ``(C,)``) in the input dtype, or with size-1 axes per ``keepdims``.

    Examples
    --------
    >>> import numpy as np
    >>> global_avg_pool(np.arange(24.).reshape(2, 3, 4))
    array([[ 1.5,  5.5,  9.5],
           [13.5, 17.5, 21.5]])
    """
    return global_avg_impl(
        x, keepdims=keepdims, channels_last=channels_last, op="global_avg_pool", ndim=ndim,
        grad=False,
    )[0]


@same_library
@differentiable(global_lp_impl)
def global_lp_pool(
    x: Any,
    norm_type: float = 2.0,
    *,
    ndim: int | None = None,
    keepdims: bool = False,
    channels_last: bool = False,
) -> np.ndarray:
    """Lp norm over all trailing spatial axes of ``(N, C, *spatial)``: ONNX's GlobalLpPool.

    ``(sum |x| ** p) ** (1 / p)`` per ``(n, c)`` plane, computed in float64 (as PyTorch's CPU
    norms are, so that ``|x| ** p`` cannot overflow a float32) and rounded to the input dtype;
    ``p = inf`` gives ``max |x|``. Equal to ``torch.linalg.vector_norm`` over
    the spatial axes within float rounding, and so is the gradient (zero where the norm is
    zero; for ``p = inf`` split evenly among the largest cells). Unlike PyTorch's
    ``lp_pool``, the absolute value is taken first.

    Parameters
    ----------
    x : array_like
        ``(N, C, *spatial)``, or unbatched ``(C, *spatial)`` when ``ndim`` is given;
        float16, float32 or float64.
    norm_type : float, default 2.0
        ``p > 0``, or ``float('inf')``.
    ndim : int, optional
        Number of trailing spatial axes; default ``x.ndim - 2``.
    keepdims : bool, default False
        Keep the pooled axes with size 1.

    Returns
    -------
    ndarray
        ``(N, C)`` (or ``(C,)``) in the input dtype, or with size-1 axes per ``keepdims``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[3., -4.], [0., 0.]]])
    >>> global_lp_pool(x)
    array([[5., 0.]])
    >>> global_lp_pool(x, 1)
    array([[7., 0.]])
    >>> global_lp_pool(x, float("inf"))
    array([[4., 0.]])
    """
    return global_lp_impl(
        x, norm_type, keepdims=keepdims, channels_last=channels_last, op="global_lp_pool",
        ndim=ndim, grad=False,
    )[0]
