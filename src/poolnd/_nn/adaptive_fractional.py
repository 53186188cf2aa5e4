"""Layers for adaptive and fractional max pooling, with ``torch.nn``'s constructors and reprs.

`poolnd.nn` re-exports them; they subclass `poolnd._nn.module.Module`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._ops.adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
)
from .._ops.fractional import fractional_max_pool2d, fractional_max_pool3d
from .module import Module, _ntuple

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
]


class _AdaptiveMaxPoolNd(Module):
    _fn_args = ("output_size", "return_indices")
    _repr_args = ("output_size",)

    def __init__(
        self, output_size: Any, return_indices: bool = False, *, channels_last: bool = False
    ) -> None:
        super().__init__(channels_last)
        self.output_size = output_size
        self.return_indices = return_indices


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

    _fn = adaptive_max_pool1d


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

    _fn = adaptive_max_pool2d


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3D adaptive max pooling layer, as ``torch.nn.AdaptiveMaxPool3d``.

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveMaxPool3d(1)(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[7.]]]])
    """

    _fn = adaptive_max_pool3d


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

    _fn = adaptive_avg_pool1d


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

    _fn = adaptive_avg_pool2d


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3D adaptive average pooling layer, as ``torch.nn.AdaptiveAvgPool3d``.

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveAvgPool3d(1)
    AdaptiveAvgPool3d(output_size=1)
    """

    _fn = adaptive_avg_pool3d




class _FractionalMaxPoolNd(Module):
    _nd: int
    _fn_args = ("kernel_size", "output_size", "output_ratio", "return_indices", "_random_samples")
    _repr_args = ()  # PyTorch's FractionalMaxPool layers have no extra_repr

    def __init__(
        self,
        kernel_size: Any,
        output_size: Any = None,
        output_ratio: Any = None,
        return_indices: bool = False,
        _random_samples: Any = None,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels_last)
        name, nd = type(self).__name__, self._nd
        kernel = _ntuple(kernel_size, nd)
        for k in kernel:
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
                raise TypeError(
                    f"{name}(): kernel_size must be an int or a tuple of ints; got {kernel_size!r}"
                )
            if k <= 0:
                raise ValueError(f"{name}(): kernel_size must be positive; got {kernel_size!r}")
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{name}(): exactly one of output_size and output_ratio must be given; got "
                f"neither (output_size=None, output_ratio=None)"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError(
                f"{name}(): exactly one of output_size and output_ratio must be given; got "
                f"both (output_size={output_size!r}, output_ratio={output_ratio!r})"
            )
        self.kernel_size = kernel
        self.return_indices = return_indices
        self._random_samples = _random_samples
        self.output_size = _ntuple(output_size, nd) if output_size is not None else None
        self.output_ratio = _ntuple(output_ratio, nd) if output_ratio is not None else None
        if self.output_ratio is not None:
            for r in self.output_ratio:
                if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real):
                    raise TypeError(
                        f"{name}(): output_ratio must be a number or a tuple of numbers; "
                        f"got {output_ratio!r}"
                    )
                if not 0 < r < 1:
                    raise ValueError(
                        f"{name}(): output_ratio must be between 0 and 1 (exclusive); "
                        f"got {output_ratio!r}"
                    )


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2D fractional max pooling layer, as ``torch.nn.FractionalMaxPool2d``.

    Without ``_random_samples`` every call draws fresh samples (NumPy's default generator).

    Examples
    --------
    >>> import numpy as np
    >>> pool = FractionalMaxPool2d(2, output_size=3, _random_samples=np.full((1, 1, 2), 0.5))
    >>> pool
    FractionalMaxPool2d()
    >>> pool(np.arange(25.).reshape(1, 5, 5))
    array([[[ 6.,  8.,  9.],
            [16., 18., 19.],
            [21., 23., 24.]]])
    """

    _nd = 2
    _fn = fractional_max_pool2d


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3D fractional max pooling layer, as ``torch.nn.FractionalMaxPool3d``.

    Examples
    --------
    >>> import numpy as np
    >>> pool = FractionalMaxPool3d(2, output_ratio=0.5)
    >>> pool
    FractionalMaxPool3d()
    >>> pool(np.zeros((2, 1, 6, 6, 6))).shape
    (2, 1, 3, 3, 3)
    """

    _nd = 3
    _fn = fractional_max_pool3d
