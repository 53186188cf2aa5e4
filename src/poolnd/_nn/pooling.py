"""Max and average pooling layers (``torch.nn.MaxPool1d`` ... ``AvgPool3d``)."""

from __future__ import annotations

from typing import Any

from .._ops import pooling as ops
from .module import Module, _single


class _MaxPoolNd(Module):
    _fn_args = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    _repr_args = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels_last)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Any) -> Any:
        """Pool ``input``: the values, or ``(values, indices)`` when the layer was built with
        ``return_indices=True`` (so typed ``Any``)."""
        return super().forward(input)

    __call__ = forward


# The per-rank layers are written out one by one, so that each keeps torch.nn's exact
# constructor signature and its own docstring: repetition on purpose (docs/design.md).
class MaxPool1d(_MaxPoolNd):
    """1D max pooling layer, as ``torch.nn.MaxPool1d``.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> pool = poolnd.nn.MaxPool1d(2)
    >>> pool
    MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]))
    array([[2., 0., 3., 0.]])
    >>> pool.backward(np.array([[1., 1, 1, 1]]))
    array([[0., 1., 0., 1., 0., 1., 0., 1.]])
    """

    _fn = ops.max_pool1d


class MaxPool2d(_MaxPoolNd):
    """2D max pooling layer, as ``torch.nn.MaxPool2d``.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> pool = poolnd.nn.MaxPool2d(2, return_indices=True)
    >>> values, indices = pool(np.arange(16.).reshape(1, 4, 4))
    >>> indices
    array([[[ 5,  7],
            [13, 15]]])
    """

    _fn = ops.max_pool2d


class MaxPool3d(_MaxPoolNd):
    """3D max pooling layer, as ``torch.nn.MaxPool3d``.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.nn.MaxPool3d(2)(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[7.]]]])
    """

    _fn = ops.max_pool3d


class AvgPool1d(Module):
    """1D average pooling layer, as ``torch.nn.AvgPool1d``.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> pool = poolnd.nn.AvgPool1d(2)
    >>> pool
    AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    >>> pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]))
    array([[ 1.5, -0.5,  2.5, -1. ]])
    """

    _fn = ops.avg_pool1d
    _fn_args = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
    _repr_args = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels_last)
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad


class _AvgPoolNd(Module):
    _fn_args = (
        "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"
    )
    _repr_args = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels_last)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override


class AvgPool2d(_AvgPoolNd):
    """2D average pooling layer, as ``torch.nn.AvgPool2d``.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> pool = poolnd.nn.AvgPool2d(2)
    >>> pool
    AvgPool2d(kernel_size=2, stride=2, padding=0)
    >>> pool(np.arange(16.).reshape(1, 4, 4))
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    """

    _fn = ops.avg_pool2d


class AvgPool3d(_AvgPoolNd):
    """3D average pooling layer, as ``torch.nn.AvgPool3d``.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.nn.AvgPool3d(2)(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[3.5]]]])
    """

    _fn = ops.avg_pool3d
