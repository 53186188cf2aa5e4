"""Max and average pooling over any number of trailing spatial axes, forward and backward.

The public `max_pool` and `avg_pool` and every rank-specific wrapper in `poolnd.functional`
go through `max_pool_impl` / `avg_pool_impl`, which canonicalise the arguments once, run the
generic windowed reduction of the kernel backend, and (when asked) return a pullback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _args
from . import _kernels as kernels
from ._autodiff import differentiable, pullback_grad, selection_result
from ._shape import window_sizes

__all__ = ["avg_pool", "avg_pool_impl", "max_pool", "max_pool_impl"]

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
) -> tuple[np.ndarray, _args.Window, bool]:
    """Canonicalise a windowed call: (batched native-endian input, window, was it batched)."""
    rank = _args.spatial_rank(op, kernel_size, ndim)
    kernel = _args.as_int_tuple(op, "kernel_size", kernel_size, rank)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        strides = None  # torch treats an empty stride like None: the kernel size
    else:
        strides = _args.as_int_tuple(op, "stride", stride, rank)
    pads = _args.as_int_tuple(op, "padding", padding, rank)
    dilations = _args.as_int_tuple(op, "dilation", dilation, rank)
    ceil = _args.as_bool(op, "ceil_mode", ceil_mode)
    x, batched = _args.as_batched(op, input, rank)
    win = _args.make_window(op, x.shape[2:], kernel, strides, pads, dilations, ceil)
    return x, win, batched


def max_pool_impl(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: Any = False,
    return_indices: Any = False,
    *,
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[Any, Pullback | None]:
    """Max pooling; returns ``(out, pullback)`` with ``pullback`` None unless ``grad``."""
    x, win, batched = _prepare(op, input, kernel_size, stride, padding, dilation, ceil_mode, ndim)
    want_indices = _args.as_bool(op, "return_indices", return_indices)
    if grad:
        _args.require_differentiable(op, x.dtype)
    values, indices = kernels.max_forward(x, win, with_indices=want_indices or grad)
    return selection_result(
        op, values, indices, batched, want_indices, grad,
        lambda g, idx: kernels.max_backward(g, idx, win),
    )


def _divisors(win: _args.Window, count_include_pad: bool) -> list[np.ndarray]:
    """Per spatial dim, each output's window size with or without padding (int64)."""
    return [
        np.asarray(window_sizes(o, n, k, s, lo, hi)[0 if count_include_pad else 1], np.int64)
        for o, n, k, s, (lo, hi) in zip(
            win.out_shape, win.in_shape, win.kernel, win.stride, win.pad
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
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[Any, Pullback | None]:
    """Average pooling; returns ``(out, pullback)`` with ``pullback`` None unless ``grad``."""
    x, win, batched = _prepare(op, input, kernel_size, stride, padding, 1, ceil_mode, ndim)
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
        divisors, scale = _divisors(win, include_pad), 1
    else:
        divisors, scale = [np.ones(n, np.int64) for n in win.out_shape], override
    out = _args.unbatch(kernels.sum_forward(x, win, divisors, scale), batched)
    if not grad:
        return out, None

    def pullback(grad_output: Any) -> np.ndarray:
        g = pullback_grad(op, grad_output, out, batched)
        return _args.unbatch(kernels.sum_backward(g, win, divisors, scale), batched)

    return out, pullback


@differentiable(max_pool_impl)
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
    padding : int or tuple of int, default 0
        Implicit ``-inf`` padding on both sides, at most half the dilated kernel.
    dilation : int or tuple of int, default 1
        Spacing between window cells.
    ceil_mode : bool, default False
        Round the number of windows up; a window starting in the right padding is dropped.
    return_indices : bool, default False
        Also return the int64 flat index of each maximum within its ``(n, c)`` plane.
    ndim : int, optional
        Number of spatial dimensions; needed only when ``kernel_size`` is an int.

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
    """
    return max_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        op="max_pool", ndim=ndim, grad=False,
    )[0]


@differentiable(avg_pool_impl)
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
    padding : int or tuple of int, default 0
        Implicit zero padding on both sides, at most half the kernel.
    ceil_mode : bool, default False
        Round the number of windows up; a window starting in the right padding is dropped.
    count_include_pad : bool, default True
        Count padding cells in the divisor (never the ceil-mode overhang past the padding).
    divisor_override : int, optional
        Divide every window sum by this non-zero int instead.
    ndim : int, optional
        Number of spatial dimensions; needed only when ``kernel_size`` is an int.

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
        op="avg_pool", ndim=ndim, grad=False,
    )[0]
