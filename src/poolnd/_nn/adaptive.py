"""Adaptive max and average pooling layers, as ``torch.nn.AdaptiveMaxPool1d`` ...
``AdaptiveAvgPool3d``."""

from __future__ import annotations

from typing import Any

from .._ops import adaptive as ops
from .module import Module


class _AdaptiveMaxPoolNd(Module):
    _fn_args = ("output_size", "return_indices")
    _repr_args = ("output_size",)

    def __init__(
        self, output_size: Any, return_indices: bool = False, *, channels_last: bool = False
    ) -> None:
        super().__init__(channels_last)
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Any) -> Any:
        """Pool ``input``: the values, or ``(values, indices)`` when the layer was built with
        ``return_indices=True`` (so typed ``Any``)."""
        return super().forward(input)

    __call__ = forward


# The per-rank layers are written out one by one, so that each keeps torch.nn's exact
# constructor signature and its own docstring: repetition on purpose (docs/design.md).
class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1D adaptive max pooling layer, as ``torch.nn.AdaptiveMaxPool1d``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveMaxPool1d(3)
    >>> pool
    AdaptiveMaxPool1d(output_size=3)
    >>> pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]))
    array([[2., 3., 3.]])
    >>> pool.backward(np.ones((1, 3)))
    array([[0., 1., 0., 0., 0., 2., 0., 0.]])
    """

    _fn = ops.adaptive_max_pool1d


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2D adaptive max pooling layer, as ``torch.nn.AdaptiveMaxPool2d``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveMaxPool2d((None, 2), return_indices=True)
    >>> pool
    AdaptiveMaxPool2d(output_size=(None, 2))
    >>> pool(np.arange(6.).reshape(1, 2, 3))[1]
    array([[[1, 2],
            [4, 5]]])
    """

    _fn = ops.adaptive_max_pool2d


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3D adaptive max pooling layer, as ``torch.nn.AdaptiveMaxPool3d``.

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveMaxPool3d(1)(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[7.]]]])
    """

    _fn = ops.adaptive_max_pool3d


class _AdaptiveAvgPoolNd(Module):
    _fn_args = ("output_size",)
    _repr_args = ("output_size",)

    def __init__(self, output_size: Any, *, channels_last: bool = False) -> None:
        super().__init__(channels_last)
        self.output_size = output_size


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1D adaptive average pooling layer, as ``torch.nn.AdaptiveAvgPool1d``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveAvgPool1d(2)
    >>> pool
    AdaptiveAvgPool1d(output_size=2)
    >>> pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]))
    array([[0.5 , 0.75]])
    """

    _fn = ops.adaptive_avg_pool1d


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2D adaptive average pooling layer, as ``torch.nn.AdaptiveAvgPool2d``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = AdaptiveAvgPool2d((1, 1))
    >>> pool(np.arange(8.).reshape(2, 2, 2))
    array([[[1.5]],
    <BLANKLINE>
           [[5.5]]])
    >>> pool.backward(np.ones((2, 1, 1)))[0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """

    _fn = ops.adaptive_avg_pool2d


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3D adaptive average pooling layer, as ``torch.nn.AdaptiveAvgPool3d``.

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveAvgPool3d(1)
    AdaptiveAvgPool3d(output_size=1)
    """

    _fn = ops.adaptive_avg_pool3d
