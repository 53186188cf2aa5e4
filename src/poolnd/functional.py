"""PyTorch's ``torch.nn.functional`` pooling functions, with the same signatures.

Max and average pooling are thin wrappers of the N-dimensional `poolnd.max_pool` /
`poolnd.avg_pool` that fix the number of spatial dimensions; the rest of the family lives in
its own modules and is re-exported here. All of them work with `poolnd.vjp`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._autodiff import differentiable
from ._ops.adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
)
from ._ops.blur import blur_pool1d, blur_pool2d, max_blur_pool1d, max_blur_pool2d
from ._ops.fractional import fractional_max_pool2d, fractional_max_pool3d
from ._ops.lp import lp_pool1d, lp_pool2d, lp_pool3d
from ._ops.pooling import avg_pool_impl, max_pool_impl, sliding_window
from ._ops.unpool import max_unpool1d, max_unpool2d, max_unpool3d

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "blur_pool1d",
    "blur_pool2d",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_blur_pool1d",
    "max_blur_pool2d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


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

    Parameters and results are those of `poolnd.max_pool` with one spatial dimension.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.functional.max_pool1d(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), 2)
    array([[2., 0., 3., 0.]])
    """
    return max_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        channels_last=channels_last, op="max_pool1d", ndim=1, grad=False,
    )[0]


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

    Parameters and results are those of `poolnd.max_pool` with two spatial dimensions.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.functional.max_pool2d(np.arange(16.).reshape(1, 4, 4), 2)
    array([[[ 5.,  7.],
            [13., 15.]]])
    """
    return max_pool_impl(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        channels_last=channels_last, op="max_pool2d", ndim=2, grad=False,
    )[0]


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

    Parameters and results are those of `poolnd.max_pool` with three spatial dimensions.

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

    Parameters and results are those of `poolnd.avg_pool` with one spatial dimension;
    like torch's ``avg_pool1d`` it has no ``divisor_override``.

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

    Parameters and results are those of `poolnd.avg_pool` with two spatial dimensions.

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

    Parameters and results are those of `poolnd.avg_pool` with three spatial dimensions.

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
