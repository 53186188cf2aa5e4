"""Pooling layers with ``torch.nn``'s constructor signatures and reprs, forward and backward.

Calling a layer runs its forward pass; ``layer.backward(grad_output)`` returns the gradient
with respect to the input of the most recent call. Layers hold no parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import functional as F
from ._autodiff import vjp

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "Module",
]


def _single(value: Any) -> tuple[Any, ...]:
    """torch's ``_single``: an iterable becomes a tuple, anything else a 1-tuple."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(value)
    return (value,)


class Module:
    """Base of the poolnd layers: ``__call__`` runs `forward` and keeps its pullback.

    Subclasses name the functional op (``_fn``) and the constructor arguments it takes
    (``_fn_args``); the repr lists ``_repr_args``.
    """

    _fn: Callable[..., Any]
    _fn_args: tuple[str, ...]
    _repr_args: tuple[str, ...]

    def __init__(self) -> None:
        self._pullback: Callable[[Any], np.ndarray] | None = None
        self._no_grad_reason = "backward() called before any forward call"

    def forward(self, input: Any) -> Any:
        """Pool ``input`` and remember how to pull a gradient back through this call."""
        args = [getattr(self, name) for name in self._fn_args]
        if np.asarray(input).dtype.kind != "f":
            self._pullback = None
            self._no_grad_reason = (
                "backward(): the last forward input was not floating point, so it has no "
                "gradient"
            )
            return type(self)._fn(input, *args)
        out, self._pullback = vjp(type(self)._fn, input, *args)
        return out

    __call__ = forward

    def backward(self, grad_output: Any) -> np.ndarray:
        """Gradient with respect to the input of the last forward call.

        Parameters
        ----------
        grad_output : array_like
            Gradient of the loss with respect to the layer's (values) output.

        Returns
        -------
        ndarray
            Gradient with respect to the last input, shaped like it.
        """
        if self._pullback is None:
            raise RuntimeError(f"{type(self).__name__}.{self._no_grad_reason}")
        return self._pullback(grad_output)

    def extra_repr(self) -> str:
        """The arguments shown inside the repr's parentheses."""
        return ", ".join(f"{name}={getattr(self, name)}" for name in self._repr_args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


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
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode


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

    _fn = F.max_pool1d


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

    _fn = F.max_pool2d


class MaxPool3d(_MaxPoolNd):
    """3D max pooling layer, as ``torch.nn.MaxPool3d``.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.nn.MaxPool3d(2)(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[7.]]]])
    """

    _fn = F.max_pool3d


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

    _fn = F.avg_pool1d
    _fn_args = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
    _repr_args = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
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
    ) -> None:
        super().__init__()
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

    _fn = F.avg_pool2d


class AvgPool3d(_AvgPoolNd):
    """3D average pooling layer, as ``torch.nn.AvgPool3d``.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> poolnd.nn.AvgPool3d(2)(np.arange(8.).reshape(1, 2, 2, 2))
    array([[[[3.5]]]])
    """

    _fn = F.avg_pool3d
