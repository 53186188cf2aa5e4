"""Max and average pooling over any number of trailing spatial axes, forward and backward.

The public `max_pool` and `avg_pool` and every rank-specific wrapper in `poolnd.functional`
go through `max_pool_impl` / `avg_pool_impl`, which canonicalise the arguments once, run the
generic windowed reduction of the kernel backend, and (when asked) return a pullback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import _args
from .._autodiff import differentiable, selection_result
from .._docs import CHANNELS_LAST, INPUT_SHAPE_ERROR, INPUT_TYPE_ERROR, RAISES, fill
from .._geometry import window_sizes
from .._kernels import sliding as kernels
from .._kernels import tables as tk
from .._typing import MaxPoolFixed, MaxPoolN, same_array, typed_as
from . import plans
from .bfloat16 import narrow, widen

__all__ = [
    "avg_pool",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "avg_pool_impl",
    "max_pool",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_pool_impl",
    "scatter_selected",
    "sliding_window",
]

Pullback = Callable[[Any], np.ndarray]


def _prepare(
    op: str,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: Any,
    ndim: int | None,
    channels_last: Any = False,
) -> tuple[np.ndarray, _args.Window, _args.Batched]:
    """Canonicalise a windowed call: (batched native-endian input, window, was it batched).

    A channels-last input ``(N, *spatial, C)`` keeps its layout: the window gains a trailing
    dimension of kernel 1 over the channels, so the kernels read it in place.
    """
    rank, kernel, strides, pads, dilations, ceil, last = _args.window_arguments(
        op, kernel_size, stride, padding, dilation, ceil_mode, ndim, channels_last)
    x, batched = _args.as_batched(op, input, rank, bfloat16=True)
    spatial = x.shape[1:-1] if last else x.shape[2:]
    win = _args.make_window(op, spatial, kernel, strides, pads, dilations, ceil)
    return x, (_args.over_channels(win, x.shape[-1]) if last else win), batched


def sliding_window(
    op: str, x: np.ndarray, arguments: Mapping[str, Any], ndim: int | None
) -> _args.Window:
    """The canonical window of a sliding-window call on ``x`` with these (public) arguments:
    the registry's ``window`` of every op whose windows slide (max, average, min, sum,
    generic and LP pooling), by which the Dask planner cuts its blocks."""
    a = arguments
    return _prepare(op, x, a.get("kernel_size"), a.get("stride"), a.get("padding", 0),
                    a.get("dilation", 1), a.get("ceil_mode", False), ndim,
                    a.get("channels_last", False))[1]


def max_pool_impl(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: Any = False,
    return_indices: Any = False,
    *,
    channels_last: Any = False,
    op: str,
    ndim: int | None,
    grad: bool,
    minimum: bool = False,
) -> tuple[Any, Pullback | None]:
    """Max (``minimum``: min) pooling; returns ``(out, pullback)``, ``pullback`` None unless
    ``grad``.

    bfloat16 is selected in float32 (exact); its pullback adds in bfloat16, as PyTorch's.
    A call without ``grad`` on a NumPy array may run a remembered launch (`plans`).
    """
    call = None if grad or minimum else plans.key(
        op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        channels_last, ndim)
    remembered = plans.recall(call, input)
    if remembered is not None:
        return (remembered if len(remembered) > 1 else remembered[0]), None
    x, win, batched = _prepare(
        op, input, kernel_size, stride, padding, dilation, ceil_mode, ndim, channels_last
    )
    want_indices = _args.as_bool(op, "return_indices", return_indices)
    if grad:
        _args.require_differentiable(op, x.dtype)
    # (channels-last indices are mapped to the public ones: not one launch's output)
    plan = kernels.max_plan(x, win, want_indices) if call is not None and \
        x.dtype == input.dtype and not (want_indices and win.ndim == x.ndim - 1) else None
    got = plans.run(call, plan, x, batched, 2 if want_indices else 1)
    if got is not None:
        return (got if want_indices else got[0]), None
    forward = kernels.min_forward if minimum else kernels.max_forward
    values, indices = forward(widen(x), win, want_indices or grad,
                              kernels.pullback_index_dtype(win) if grad and not want_indices
                              else np.int64)
    return selection_result(
        op, narrow(values, x.dtype), indices, batched, want_indices, grad,
        lambda g, idx: kernels.max_backward(g, idx, win),
        shown=_args.spatial_index if win.ndim == x.ndim - 1 else None,
    )


def scatter_selected(
    grad_output: np.ndarray, indices: np.ndarray, in_shape: tuple[int, ...]
) -> np.ndarray:
    """The input gradient of a selecting op (max, adaptive max, fractional max) from its
    saved indices: each output gradient added to the input cell its plane-flat index names,
    in output raster order (index -1: nowhere), as every selecting op's pullback does.

    ``grad_output`` and ``indices`` are ``(*lead, *out_spatial)``; ``in_shape`` is the
    input's spatial shape; the result is ``(*lead, *in_shape)``, zero where nothing lands.

    Examples
    --------
    >>> import numpy as np
    >>> scatter_selected(np.array([[1., 2.]]), np.array([[1, 1]]), (3,))
    array([[0., 3., 0.]])
    """
    return tk.max_backward(np.asarray(grad_output), np.asarray(indices), tuple(in_shape))


def divisors(win: _args.Window, count_include_pad: bool) -> list[np.ndarray]:
    """Per spatial dim, each output's window size with or without padding (int64)."""
    return [
        np.asarray(window_sizes(o, n, k, s, lo, hi, d)[0 if count_include_pad else 1], np.int64)
        for o, n, k, s, (lo, hi), d in zip(
            win.out_shape, win.in_shape, win.kernel, win.stride, win.pad, win.dilation
        )
    ]


def avg_pool_impl(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: Any = False,
    count_include_pad: Any = True,
    divisor_override: Any = None,
    *,
    channels_last: Any = False,
    op: str,
    ndim: int | None,
    grad: bool,
    dilation: Any = 1,
) -> tuple[Any, Pullback | None]:
    """Average pooling; returns ``(out, pullback)`` with ``pullback`` None unless ``grad``.

    ``dilation`` serves `poolnd.pool`'s mean (PyTorch's average pooling has none).
    bfloat16 sums in float32 and rounds once; its pullback adds in bfloat16, as PyTorch's.
    A call without ``grad`` on a NumPy array may run a remembered launch (`plans`).
    """
    call = None if grad else plans.key(
        op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override, channels_last, ndim, dilation)
    remembered = plans.recall(call, input)
    if remembered is not None:
        return remembered[0], None
    x, win, batched = _prepare(
        op, input, kernel_size, stride, padding, dilation, ceil_mode, ndim, channels_last
    )
    if x.dtype == np.bool_:
        raise _args.dtype_error(op, x.dtype)
    include_pad = _args.as_bool(op, "count_include_pad", count_include_pad)
    override = _args.as_optional_divisor(op, divisor_override)
    if grad:
        _args.require_differentiable(op, x.dtype)
    if override is not None and override < 0 and x.dtype.kind == "u":
        raise ValueError(
            f"{op}(): divisor_override must be positive for unsigned input ({x.dtype}); "
            f"got {override}"
        )
    if override is None:
        divisors_, scale = divisors(win, include_pad), 1
    else:
        divisors_, scale = [np.ones(n, np.int64) for n in win.out_shape], override
    plan = kernels.sum_plan(x, win, divisors_, scale, x.dtype) if call is not None and \
        x.dtype == input.dtype else None
    got = plans.run(call, plan, x, batched, 1)
    if got is not None:
        return got[0], None
    out = _args.unbatch(narrow(kernels.sum_forward(widen(x), win, divisors_, scale), x.dtype),
                        batched)
    if not grad:
        return out, None

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, batched)
        return _args.unbatch(kernels.sum_backward(g, win, divisors_, scale), batched)

    return out, pullback


@typed_as(MaxPoolN)
@differentiable(max_pool_impl, window=sliding_window)
def max_pool(
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
    """Max pooling over the trailing spatial axes of ``(N, C, *spatial)`` or ``(C, *spatial)``.

    Takes PyTorch's ``max_pool{1,2,3}d`` arguments for any number of spatial dimensions: the
    trailing ``len(kernel_size)`` axes are pooled, or ``ndim`` of them for an int kernel.
    Values and indices are bit-identical to PyTorch's CPU results.

    Parameters
    ----------
    input : array_like
        ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; float16/32/64 or any integer dtype.
    kernel_size : int or tuple of int
        Window size per spatial dimension.
    stride : int or tuple of int, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple of int, tuple of (lo, hi) pairs, or str, default 0
        Implicit ``-inf`` padding. Ints pad both sides, at most half the dilated kernel (as
        PyTorch); pairs pad each side by any amount; ``'valid'`` is none; ``'same'`` gives
        ``ceil(n / stride)`` outputs with the odd cell of padding at the end (Keras, ONNX
        SAME_UPPER), ``'same_lower'`` at the start (ONNX SAME_LOWER).
    dilation : int or tuple of int, default 1
        Spacing between window cells.
    ceil_mode : bool, default False
        Round the number of windows up; a window starting in the right padding is dropped.
    return_indices : bool, default False
        Also return the int64 flat index of each maximum within its ``(n, c)`` plane.
    ndim : int, optional
        Number of spatial dimensions; needed only when ``kernel_size`` is an int.
    channels_last : bool, default False
        The channels are the last axis: ``(N, *spatial, C)`` or ``(*spatial, C)``, pooled in
        place (no transposed copy); results are channels-last too, indices the same as the
        channels-first call's.

    Returns
    -------
    out : ndarray or tuple of ndarray
        The pooled values (input dtype); with ``return_indices``, ``(values, indices)``.
        A window that covers only padding gives the dtype's lowest value and index -1.

    Notes
    -----
    A cell replaces the running maximum when it is greater or NaN, scanning the window in
    row-major order, so the first maximum wins ties and NaN propagates.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.max_pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), (2,))
    array([[2., 0., 3., 0.]])
    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> values, indices = poolnd.max_pool(x, 2, ndim=2, return_indices=True)
    >>> values[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    >>> indices[0, 0]
    array([[ 5,  7],
           [13, 15]])
    >>> poolnd.max_pool(np.arange(5.)[None], (2,), padding="same")  # ceil(5 / 2) outputs
    array([[1., 3., 4.]])
    >>> poolnd.max_pool(np.arange(6.).reshape(3, 2), (2,), channels_last=True)  # (L, C)
    array([[2., 3.]])
    """
    return max_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        channels_last=channels_last, op="max_pool", ndim=ndim, grad=False,
    )[0]


@same_array
@differentiable(avg_pool_impl, window=sliding_window)
def avg_pool(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    ndim: int | None = None,
    channels_last: bool = False,
) -> np.ndarray:
    """Average pooling over the trailing spatial axes of ``(N, C, *spatial)`` or ``(C, *spatial)``.

    Takes PyTorch's ``avg_pool{1,2,3}d`` arguments for any number of spatial dimensions.
    Window sums accumulate left to right in float32 (float64 for float64 input, int64 for
    integers, which then divide with truncation toward zero), as PyTorch does.

    Parameters
    ----------
    input : array_like
        ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; float16/32/64 or any integer dtype.
    kernel_size : int or tuple of int
        Window size per spatial dimension.
    stride : int or tuple of int, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple of int, tuple of (lo, hi) pairs, or str, default 0
        Implicit zero padding: ints on both sides, at most half the kernel (as PyTorch);
        pairs per side, any size; ``'valid'``, ``'same'`` or ``'same_lower'`` as for
        `max_pool`.
    ceil_mode : bool, default False
        Round the number of windows up; a window starting in the right padding is dropped.
    count_include_pad : bool, default True
        Count padding cells in the divisor (never the ceil-mode overhang past the padding).
        Without them, a window reading only padding gives NaN (0 for integers).
    divisor_override : int, optional
        Divide every window sum by this non-zero int instead.
    ndim : int, optional
        Number of spatial dimensions; needed only when ``kernel_size`` is an int.
    channels_last : bool, default False
        The channels are the last axis: ``(N, *spatial, C)`` or ``(*spatial, C)``, pooled in
        place; results are channels-last too.

    Returns
    -------
    ndarray
        The pooled averages, in the input dtype.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.avg_pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), (2,))
    array([[ 1.5, -0.5,  2.5, -1. ]])
    >>> poolnd.avg_pool(np.ones((1, 3, 3)), 2, padding=1, count_include_pad=False, ndim=2)
    array([[[1., 1.],
            [1., 1.]]])
    """
    return avg_pool_impl(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
        channels_last=channels_last, op="avg_pool", ndim=ndim, grad=False,
    )[0]


# the torch-named forms of a fixed rank (`poolnd.functional`)


# The per-rank public forms are written out one by one, so that each keeps PyTorch's exact
# signature and its own docstring (help(), inspect, the API pages): repetition on purpose
# (docs/design.md, "Repetition kept on purpose").
@typed_as(MaxPoolFixed)
@differentiable(max_pool_impl, ndim=1, window=sliding_window)
def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    channels_last: bool = False,
) -> Any:
    """1D max pooling of ``(N, C, L)`` or ``(C, L)``, as torch's ``max_pool1d``.

    Windows, ties, NaN and indices as in `poolnd.max_pool`.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> import poolnd.functional as F
    >>> x = np.array([[1., 2, -1, 0, 2, 3, -2, 0]])
    >>> F.max_pool1d(x, 2)
    array([[2., 0., 3., 0.]])
    >>> F.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)
    (array([[2., 2., 3., 3.]]), array([[1, 1, 5, 5]]))
    """
    return max_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        channels_last=channels_last, op="max_pool1d", ndim=1, grad=False,
    )[0]


@typed_as(MaxPoolFixed)
@differentiable(max_pool_impl, ndim=2, window=sliding_window)
def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    channels_last: bool = False,
) -> Any:
    """2D max pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's ``max_pool2d``.

    Windows, ties, NaN and indices as in `poolnd.max_pool`; indices are ``h * W + w``.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> import poolnd.functional as F
    >>> F.max_pool2d(np.arange(16.).reshape(1, 4, 4), 2)
    array([[[ 5.,  7.],
            [13., 15.]]])
    >>> values, indices = F.max_pool2d(np.arange(16.).reshape(1, 4, 4), 2, return_indices=True)
    >>> indices
    array([[[ 5,  7],
            [13, 15]]])
    """
    return max_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        channels_last=channels_last, op="max_pool2d", ndim=2, grad=False,
    )[0]


@typed_as(MaxPoolFixed)
@differentiable(max_pool_impl, ndim=3, window=sliding_window)
def max_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    channels_last: bool = False,
) -> Any:
    """3D max pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's ``max_pool3d``.

    Windows, ties, NaN and indices as in `poolnd.max_pool`; indices are
    ``d * H * W + h * W + w``.
    {parameters}
    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.functional.max_pool3d(np.arange(8.).reshape(1, 2, 2, 2), 2)
    array([[[[7.]]]])
    """
    return max_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        channels_last=channels_last, op="max_pool3d", ndim=3, grad=False,
    )[0]


@same_array
@differentiable(avg_pool_impl, ndim=1, window=sliding_window)
def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """1D average pooling of ``(N, C, L)`` or ``(C, L)``, as torch's ``avg_pool1d``.

    Sums and divisors as in `poolnd.avg_pool`; like torch's ``avg_pool1d`` it has no
    ``divisor_override``.
    {parameters}
    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.functional.avg_pool1d(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), 2)
    array([[ 1.5, -0.5,  2.5, -1. ]])
    """
    return avg_pool_impl(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
        channels_last=channels_last, op="avg_pool1d", ndim=1, grad=False,
    )[0]


@same_array
@differentiable(avg_pool_impl, ndim=2, window=sliding_window)
def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """2D average pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's ``avg_pool2d``.

    Sums and divisors as in `poolnd.avg_pool`.
    {parameters}
    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.functional.avg_pool2d(np.arange(16.).reshape(1, 4, 4), 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    """
    return avg_pool_impl(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
        channels_last=channels_last, op="avg_pool2d", ndim=2, grad=False,
    )[0]


@same_array
@differentiable(avg_pool_impl, ndim=3, window=sliding_window)
def avg_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """3D average pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's ``avg_pool3d``.

    Sums and divisors as in `poolnd.avg_pool`.
    {parameters}
    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.functional.avg_pool3d(np.arange(8.).reshape(1, 2, 2, 2), 2)
    array([[[[3.5]]]])
    """
    return avg_pool_impl(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
        channels_last=channels_last, op="avg_pool3d", ndim=3, grad=False,
    )[0]


_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}

_WINDOW_PARAMETERS = """
    Parameters
    ----------
    input : array_like
        ``(N, C, {spatial})`` or unbatched ``(C, {spatial})``; float16/32/64 or any integer
        dtype, of any Array API library (the result is of the same library).
    kernel_size : int or tuple of {n} ints
        Window size per spatial dimension.
    stride : int or tuple of {n} ints, optional
        Step between windows; defaults to ``kernel_size`` (also when None or empty).
    padding : int, tuple of {n} ints, tuple of {n} (lo, hi) pairs, or str, default 0
        Implicit {padding} padding: ints pad both sides, at most half the {kernel} (as
        PyTorch); pairs pad each side by any amount; ``'valid'`` is none; ``'same'`` gives
        ``ceil(n / stride)`` outputs with the odd cell of padding at the end,
        ``'same_lower'`` at the start."""

_CEIL_MODE = """ceil_mode : bool, default False
        Round the number of windows up; a window starting in the right padding is dropped."""

_MAX_PARAMETERS = _WINDOW_PARAMETERS + """
    dilation : int or tuple of {n} ints, default 1
        Spacing between window cells.
    """ + _CEIL_MODE + """
    return_indices : bool, default False
        Also return the int64 flat index of each maximum within its ``(n, c)`` plane.
    """ + CHANNELS_LAST + """ Indices are those of the channels-first call.

    Returns
    -------
    out : ndarray or tuple of ndarray
        The maxima, ``(N, C, {out})`` (unbatched: ``(C, {out})``) in the input dtype and
        array library; with ``return_indices``, ``(values, indices)``. A window that covers
        only padding gives the dtype's lowest value and index -1.
""" + RAISES

_AVG_PARAMETERS = _WINDOW_PARAMETERS + """
    """ + _CEIL_MODE + """
    count_include_pad : bool, default True
        Count padding cells in the divisor (never the ceil-mode overhang past the padding).
        Without them, a window reading only padding gives NaN (0 for integers).{divisor}
    """ + CHANNELS_LAST + """

    Returns
    -------
    ndarray
        The averages, ``(N, C, {out})`` (unbatched: ``(C, {out})``) in the input dtype and
        array library: sums in float32 (float64 for float64 input, int64 for integers, which
        divide with truncation toward zero), as PyTorch.
""" + RAISES

_DIVISOR = """
    divisor_override : int, optional
        Divide every window sum by this non-zero int instead."""

_WINDOW_VALUE_ERROR = INPUT_SHAPE_ERROR + """; a size has the
        wrong length or is not positive; padding is negative, over half the {kernel}, or an
        unknown string; the windows leave no output cell{divisor_error}"""


def _fill_rank(fn: Callable[..., Any], n: int, template: str, **fields: str) -> None:
    spatial = _SPATIAL[n]
    out = ", ".join(f"O{d}" for d in spatial.split(", "))
    fill(fn, parameters=template, type_error=INPUT_TYPE_ERROR, value_error=_WINDOW_VALUE_ERROR,
         **fields, spatial=spatial, n=("one", "two", "three")[n - 1], out=out)


for _n, _fn in enumerate((max_pool1d, max_pool2d, max_pool3d), start=1):
    _fill_rank(_fn, _n, _MAX_PARAMETERS, padding="``-inf``", kernel="dilated kernel",
               divisor_error="")
for _n, _avg in enumerate((avg_pool1d, avg_pool2d, avg_pool3d), start=1):
    _fill_rank(_avg, _n, _AVG_PARAMETERS, padding="zero", kernel="kernel",
               divisor="" if _n == 1 else _DIVISOR,
               divisor_error="" if _n == 1 else "; ``divisor_override`` is 0")
del _n, _fn, _avg
