"""Adaptive and global pooling: windows that split each spatial dimension evenly.

Adaptive output ``i`` of ``O`` over an input of length ``L`` reads cells
``floor(i * L / O) .. ceil((i + 1) * L / O) - 1`` (`poolnd._geometry.adaptive_window`), so the
windows have uneven sizes, may overlap, and repeat cells when ``O > L``. They are not of the
form ``o * stride - pad``, so these ops run on the table-driven reduction
(`poolnd._kernels.tables`). Global pooling is adaptive pooling to size 1 over every trailing
spatial axis, in any number of dimensions.

Every public function here is registered with `poolnd.vjp`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _args, _threads
from .._autodiff import differentiable, selection_result
from .._geometry import adaptive_table
from .._kernels import tables as tk
from .layout import by_transpose

__all__ = [
    "adaptive_avg_impl",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_impl",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "global_avg_impl",
    "global_avg_pool",
    "global_lp_impl",
    "global_lp_pool",
    "global_max_impl",
    "global_max_pool",
]

Pullback = Callable[[Any], np.ndarray]


# --------------------------------------------------------------------------------------------
# arguments


def _require_float(op: str, dtype: np.dtype) -> None:
    if dtype.kind != "f":
        raise TypeError(
            f"{op}(): input dtype must be float16, float32 or float64 (averages and norms of "
            f"integers are not defined here); got {dtype}"
        )


def _output_size(
    op: str, output_size: Any, in_shape: tuple[int, ...], allow_none: bool
) -> tuple[int, ...]:
    """``output_size`` (an int, or one entry per spatial dim; None = that input size)."""
    nd = len(in_shape)
    spelled = "ints or Nones" if allow_none else "ints"
    if isinstance(output_size, np.ndarray) and output_size.ndim == 1:
        output_size = output_size.tolist()
    if isinstance(output_size, Sequence) and not isinstance(output_size, (str, bytes)):
        items = list(output_size)
        if len(items) != nd:
            raise ValueError(
                f"{op}(): output_size must be an int or a tuple of {nd} {spelled} for {nd} "
                f"spatial dimension(s); got {output_size!r} of length {len(items)}"
            )
    elif output_size is None:
        raise TypeError(
            f"{op}(): output_size must be an int or a tuple of {nd} {spelled}; got None"
        )
    else:
        items = [output_size] * nd
    sizes = []
    for value, length in zip(items, in_shape):
        if value is None:
            if not allow_none:
                raise TypeError(
                    f"{op}(): output_size must contain ints (None, for the input size, is "
                    f"accepted by the 2d and 3d ops only); got {output_size!r}"
                )
            sizes.append(length)
            continue
        size = _args._as_int(op, "output_size", value, output_size)
        if size < 0:
            raise ValueError(f"{op}(): output_size must be non-negative; got {output_size!r}")
        if size > _args.GEOMETRY_LIMIT // length:
            raise ValueError(
                f"{op}(): output_size times the input size must be at most 2**60 in every "
                f"spatial dimension (window bounds i * input size / output_size are computed "
                f"in int64); got output_size={output_size!r} for input size {in_shape}"
            )
        sizes.append(size)
    return tuple(sizes)


def _adaptive_tables(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[tk.Table]:
    return [tk.Table.shared(*adaptive_table(n, o), n) for n, o in zip(in_shape, out_shape)]


def _acc(dtype: np.dtype) -> np.dtype:
    """Accumulator of a float average: float64 for float64, float32 otherwise."""
    return np.dtype(np.float64 if dtype == np.float64 else np.float32)


# --------------------------------------------------------------------------------------------
# adaptive pooling


@by_transpose("input")
def adaptive_max_impl(
    input: Any,
    output_size: Any,
    return_indices: Any = False,
    *,
    op: str,
    ndim: int,
    grad: bool,
) -> tuple[Any, Pullback | None]:
    """Adaptive max pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``."""
    x, batched = _args.as_batched(op, input, ndim)
    want_indices = _args.as_bool(op, "return_indices", return_indices)
    in_shape = x.shape[2:]
    size = _output_size(op, output_size, in_shape, allow_none=ndim > 1)
    if grad:
        _args.require_differentiable(op, x.dtype)
    values, indices = tk.max_forward(x, _adaptive_tables(in_shape, size), want_indices or grad)
    return selection_result(
        op, values, indices, batched, want_indices, grad,
        lambda g, idx: tk.max_backward(g, idx, in_shape),
    )


@by_transpose("input")
def adaptive_avg_impl(
    input: Any, output_size: Any, *, op: str, ndim: int, grad: bool
) -> tuple[Any, Pullback | None]:
    """Adaptive average pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``.

    Sums accumulate in float32 (float64 for float64), except float16 in 3d, which PyTorch
    accumulates (and divides) in float16; each sum is divided by the window's extent in each
    dimension in turn. All output sizes 1 is ``torch.mean``: one division by the plane size.
    """
    x, batched = _args.as_batched(op, input, ndim)
    in_shape = x.shape[2:]
    size = _output_size(op, output_size, in_shape, allow_none=ndim > 1)
    _require_float(op, x.dtype)
    if all(o == 1 for o in size):
        acc = _acc(x.dtype)
        out = _args.unbatch(tk.mean_forward(x, ndim, acc).reshape(x.shape[:2] + size), batched)

        def mean_pullback(grad_output: Any) -> np.ndarray:
            g = _args.pullback_grad(op, grad_output, out, batched)
            return _args.unbatch(tk.mean_backward(g.reshape(g.shape[:2]), in_shape, acc), batched)

        return out, (mean_pullback if grad else None)
    acc = np.dtype(np.float16) if x.dtype == np.float16 and ndim == 3 else _acc(x.dtype)
    tables = _adaptive_tables(in_shape, size)
    out = _args.unbatch(tk.avg_forward(x, tables, acc), batched)

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, batched)
        return _args.unbatch(tk.avg_backward(g, tables), batched)

    return out, (pullback if grad else None)


@differentiable(adaptive_max_impl, ndim=1)
def adaptive_max_pool1d(
    input: Any, output_size: Any, return_indices: bool = False, *, channels_last: bool = False
) -> Any:
    """1D adaptive max pooling of ``(N, C, L)`` or ``(C, L)``, as torch's ``adaptive_max_pool1d``.

    Output ``i`` of ``O`` is the maximum of cells ``floor(i * L / O)`` to
    ``ceil((i + 1) * L / O) - 1``, scanned in order: a cell replaces the running maximum when
    it is greater or NaN, so the first maximum wins ties and NaN propagates.

    Parameters
    ----------
    input : array_like
        ``(N, C, L)`` or ``(C, L)``; float16/32/64 or any integer dtype.
    output_size : int or tuple of one int
        ``O >= 0``; it may exceed ``L`` (cells then repeat).
    return_indices : bool, default False
        Also return the int64 position of each maximum along ``L``.

    Returns
    -------
    out : ndarray or tuple of ndarray
        ``(N, C, O)`` values in the input dtype; with ``return_indices``, ``(values, indices)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1., 2, -1, 0, 2, 3, -2, 0]])
    >>> adaptive_max_pool1d(x, 3)
    array([[2., 3., 3.]])
    >>> adaptive_max_pool1d(x, 3, return_indices=True)[1]
    array([[1, 5, 5]])
    """
    return adaptive_max_impl(
        input, output_size, return_indices,
        channels_last=channels_last, op="adaptive_max_pool1d", ndim=1, grad=False,
    )[0]


@differentiable(adaptive_max_impl, ndim=2)
def adaptive_max_pool2d(
    input: Any, output_size: Any, return_indices: bool = False, *, channels_last: bool = False
) -> Any:
    """2D adaptive max pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's
    ``adaptive_max_pool2d``.

    Windows per dimension as in `adaptive_max_pool1d`, scanned in row-major order; indices
    are flat positions ``h * W + w`` within each plane.

    Parameters
    ----------
    input : array_like
        ``(N, C, H, W)`` or ``(C, H, W)``; float16/32/64 or any integer dtype.
    output_size : int or tuple of int or None
        ``(OH, OW)``, or one int for both; a None entry keeps that input size.
    return_indices : bool, default False
        Also return the int64 flat index of each maximum within its plane.

    Returns
    -------
    out : ndarray or tuple of ndarray
        The pooled values; with ``return_indices``, ``(values, indices)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(20.).reshape(1, 4, 5)
    >>> adaptive_max_pool2d(x, 2)
    array([[[ 7.,  9.],
            [17., 19.]]])
    >>> adaptive_max_pool2d(x, (None, 1)).shape
    (1, 4, 1)
    """
    return adaptive_max_impl(
        input, output_size, return_indices,
        channels_last=channels_last, op="adaptive_max_pool2d", ndim=2, grad=False,
    )[0]


@differentiable(adaptive_max_impl, ndim=3)
def adaptive_max_pool3d(
    input: Any, output_size: Any, return_indices: bool = False, *, channels_last: bool = False
) -> Any:
    """3D adaptive max pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's
    ``adaptive_max_pool3d``.

    Parameters and results are those of `adaptive_max_pool2d` with three spatial
    dimensions; indices are ``d * H * W + h * W + w``.

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_max_pool3d(np.arange(27.).reshape(1, 3, 3, 3), (1, 1, 2))
    array([[[[25., 26.]]]])
    """
    return adaptive_max_impl(
        input, output_size, return_indices,
        channels_last=channels_last, op="adaptive_max_pool3d", ndim=3, grad=False,
    )[0]


@differentiable(adaptive_avg_impl, ndim=1)
def adaptive_avg_pool1d(input: Any, output_size: Any, *, channels_last: bool = False) -> np.ndarray:
    """1D adaptive average pooling of ``(N, C, L)`` or ``(C, L)``, as torch's
    ``adaptive_avg_pool1d``.

    Each window (as in `adaptive_max_pool1d`) is summed in order in float32 (float64 for
    float64 input) and divided by its size. ``output_size=1`` is the mean of the row, as
    PyTorch computes it with ``torch.mean`` (equal within float rounding).

    Parameters
    ----------
    input : array_like
        ``(N, C, L)`` or ``(C, L)``; float16, float32 or float64.
    output_size : int or tuple of one int
        ``O >= 0``.

    Returns
    -------
    ndarray
        ``(N, C, O)`` in the input dtype.

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool1d(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), 3)
    array([[0.66666667, 1.        , 0.33333333]])
    """
    return adaptive_avg_impl(
        input, output_size, channels_last=channels_last, op="adaptive_avg_pool1d", ndim=1,
        grad=False,
    )[0]


@differentiable(adaptive_avg_impl, ndim=2)
def adaptive_avg_pool2d(input: Any, output_size: Any, *, channels_last: bool = False) -> np.ndarray:
    """2D adaptive average pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's
    ``adaptive_avg_pool2d``.

    Window sums run in row-major order in float32 (float64 for float64 input), then divide
    by the window's height and then its width (``sum / kh / kw``, two roundings, as PyTorch).
    Output size ``(1, 1)`` is the plane's mean, as PyTorch computes it with ``torch.mean``
    (equal within float rounding).

    Parameters
    ----------
    input : array_like
        ``(N, C, H, W)`` or ``(C, H, W)``; float16, float32 or float64.
    output_size : int or tuple of int or None
        ``(OH, OW)``, or one int for both; a None entry keeps that input size.

    Returns
    -------
    ndarray
        The pooled averages in the input dtype.

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool2d(np.arange(16.).reshape(1, 4, 4), 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    >>> adaptive_avg_pool2d(np.arange(6.).reshape(1, 2, 3), (None, 2))
    array([[[0.5, 1.5],
            [3.5, 4.5]]])
    """
    return adaptive_avg_impl(
        input, output_size, channels_last=channels_last, op="adaptive_avg_pool2d", ndim=2,
        grad=False,
    )[0]


@differentiable(adaptive_avg_impl, ndim=3)
def adaptive_avg_pool3d(input: Any, output_size: Any, *, channels_last: bool = False) -> np.ndarray:
    """3D adaptive average pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's
    ``adaptive_avg_pool3d``.

    As `adaptive_avg_pool2d`, dividing by depth, height and width in turn. float16 input
    accumulates and divides in float16 here, as PyTorch's 3d kernel does.

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool3d(np.arange(8.).reshape(1, 2, 2, 2), (1, 1, 2))
    array([[[[3., 4.]]]])
    """
    return adaptive_avg_impl(
        input, output_size, channels_last=channels_last, op="adaptive_avg_pool3d", ndim=3,
        grad=False,
    )[0]


# --------------------------------------------------------------------------------------------
# global pooling


def _global_prepare(op: str, x: Any, ndim: Any, keepdims: Any) -> tuple[np.ndarray, bool, bool]:
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


def _global_out(a: np.ndarray, batched: bool, keep: bool) -> np.ndarray:
    """``(N, C, 1, ..., 1)`` results as the caller asked: unbatched and/or squeezed."""
    a = _args.unbatch(a, batched)
    return a if keep else a.reshape(a.shape[: 2 if batched else 1])


@by_transpose("x")
def global_max_impl(
    x: Any, *, keepdims: Any = False, op: str, ndim: Any, grad: bool
) -> tuple[Any, Pullback | None]:
    """Global max pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``."""
    arr, batched, keep = _global_prepare(op, x, ndim, keepdims)
    if grad:
        _args.require_differentiable(op, arr.dtype)
    in_shape = arr.shape[2:]
    tables = _adaptive_tables(in_shape, (1,) * len(in_shape))
    values, indices = tk.max_forward(arr, tables, with_indices=grad)
    out = _global_out(values, batched, keep)
    if not grad:
        return out, None

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
    _require_float(op, arr.dtype)
    in_shape = arr.shape[2:]
    acc = _acc(arr.dtype)
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
    _require_float(op, arr.dtype)
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
