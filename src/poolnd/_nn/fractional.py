"""Fractional max pooling layers, as ``torch.nn.FractionalMaxPool2d`` and
``FractionalMaxPool3d``."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._ops.fractional import fractional_max_pool2d, fractional_max_pool3d
from .module import Module, _ntuple


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
                if not 0 < r < 1:  # type: ignore[operator]  # a real number (checked above)
                    raise ValueError(
                        f"{name}(): output_ratio must be between 0 and 1 (exclusive); "
                        f"got {output_ratio!r}"
                    )

    def forward(self, input: Any) -> Any:
        """Pool ``input``: the values, or ``(values, indices)`` when the layer was built with
        ``return_indices=True`` (so typed ``Any``)."""
        return super().forward(input)

    __call__ = forward


# The per-rank layers are written out one by one, so that each keeps torch.nn's exact
# constructor signature and its own docstring: repetition on purpose (docs/design.md).
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
