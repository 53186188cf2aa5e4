"""Power-average (LP) pooling layers, as ``torch.nn.LPPool1d`` ... ``LPPool3d``."""

from __future__ import annotations

from typing import Any

from .._ops.lp import lp_pool1d, lp_pool2d, lp_pool3d
from .module import Module

__all__ = ["LPPool1d", "LPPool2d", "LPPool3d"]


class _LPPoolNd(Module):
    _fn_args = ("norm_type", "kernel_size", "stride", "ceil_mode")
    _repr_args = ("norm_type", "kernel_size", "stride", "ceil_mode")

    def __init__(
        self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels_last)
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode


class LPPool1d(_LPPoolNd):
    """1D power-average pooling layer, as ``torch.nn.LPPool1d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.nn import LPPool1d
    >>> pool = LPPool1d(2, 2)
    >>> pool
    LPPool1d(norm_type=2, kernel_size=2, stride=None, ceil_mode=False)
    >>> pool(np.array([[3., 4., 0., 0.]]))
    array([[5., 0.]])
    >>> pool.backward(np.array([[1., 1.]]))
    array([[0.6, 0.8, 0. , 0. ]])
    """

    _fn = staticmethod(lp_pool1d)


class LPPool2d(_LPPoolNd):
    """2D power-average pooling layer, as ``torch.nn.LPPool2d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.nn import LPPool2d
    >>> pool = LPPool2d(2.0, 2)
    >>> pool
    LPPool2d(norm_type=2.0, kernel_size=2, stride=None, ceil_mode=False)
    >>> pool(np.array([[[1., 2.], [2., 4.]]]))
    array([[[5.]]])
    """

    _fn = staticmethod(lp_pool2d)


class LPPool3d(_LPPoolNd):
    """3D power-average pooling layer, as ``torch.nn.LPPool3d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.nn import LPPool3d
    >>> LPPool3d(float("inf"), 2)(np.arange(-8., 0.).reshape(1, 2, 2, 2))
    array([[[[8.]]]])
    """

    _fn = staticmethod(lp_pool3d)
