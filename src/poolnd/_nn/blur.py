"""Blur pooling layers: `BlurPool1d`, `BlurPool2d` (the ``antialiased-cnns`` package's
``BlurPool1D`` / ``BlurPool`` constructors) and Zhang's `MaxBlurPool1d`, `MaxBlurPool2d`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _args
from .._ops import blur as _blur
from .module import Module


class _BlurPoolNd(Module):
    _ndim: int
    _fn_args: tuple[str, ...] = ("pad_type", "filt_size", "stride", "pad_off")
    _repr_args: tuple[str, ...] = ("channels", "pad_type", "filt_size", "stride", "pad_off")

    def __init__(
        self,
        channels: int,
        pad_type: str = "reflect",
        filt_size: int = 4,
        stride: int = 2,
        pad_off: int = 0,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels_last)
        name = type(self).__name__
        if isinstance(channels, (bool, np.bool_)) or not isinstance(channels, (int, np.integer)):
            raise TypeError(f"{name}(): channels must be an int; got {channels!r}")
        if channels < 1:
            raise ValueError(f"{name}(): channels must be positive; got {channels}")
        self.channels = int(channels)
        self.pad_type = pad_type
        self.filt_size = filt_size
        self.stride = stride
        self.pad_off = pad_off
        # a bad argument fails here, not at the first call
        _blur.blur_args(name, pad_type, filt_size, stride, pad_off, self._ndim)

    @property
    def pad_sizes(self) -> list[int]:
        """Padding before and after each spatial dimension, the last one first (the package's
        order: left, right, top, bottom)."""
        _, filt, _, offsets = _blur.blur_args(
            type(self).__name__, self.pad_type, self.filt_size, self.stride, self.pad_off,
            self._ndim,
        )
        sizes: list[int] = []
        for f, off in zip(filt[::-1], offsets[::-1]):
            sizes.extend(_blur.blur_pool_pads(f, off))
        return sizes

    @property
    def filt(self) -> np.ndarray:
        """The filter of each channel, ``(channels, 1, *filter_shape)`` float32, as the
        package's ``filt`` buffer."""
        _, filt, _, _ = _blur.blur_args(
            type(self).__name__, self.pad_type, self.filt_size, self.stride, self.pad_off,
            self._ndim,
        )
        kernel = np.ones(())
        for f in filt:
            kernel = np.multiply.outer(kernel, _blur.binomial_filter(f))
        return np.broadcast_to(kernel.astype(np.float32), (self.channels, 1, *kernel.shape)).copy()

    def forward(self, input: Any) -> Any:
        """Blur-pool ``input``, whose channel axis must have ``channels`` entries."""
        shape = np.shape(input)
        axis = -1 if self.channels_last is True else -(self._ndim + 1)
        if len(shape) in (self._ndim + 1, self._ndim + 2) and shape[axis] != self.channels:
            raise ValueError(
                f"{type(self).__name__}(): input must have channels={self.channels} "
                f"channels (axis {axis}); got shape {shape}"
            )
        return super().forward(input)

    __call__ = forward

    def extra_repr(self) -> str:
        shown = [f"{name}={getattr(self, name)!r}" for name in self._repr_args]
        shown += [f"{k}={v}" for k, v in self._layout().items()]
        return ", ".join(shown)


# The per-rank layers are written out one by one, so that each keeps torch.nn's exact
# constructor signature and its own docstring: repetition on purpose (docs/design.md).
class BlurPool1d(_BlurPoolNd):
    """1D blur pooling layer with the ``antialiased-cnns`` package's ``BlurPool1D`` arguments.

    Parameters
    ----------
    channels : int
        Number of input channels (the input's channel axis must match).
    pad_type : {'reflect', 'refl', 'replicate', 'repl', 'zero'}, default 'reflect'
        How the borders are padded.
    filt_size : int, default 3
        Binomial filter taps, 1 to 7.
    stride : int, default 2
        Subsampling step.
    pad_off : int, default 0
        Extra padding on both sides.

    See Also
    --------
    poolnd.functional.blur_pool1d : the computation.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> pool = poolnd.nn.BlurPool1d(1)
    >>> pool
    BlurPool1d(channels=1, pad_type='reflect', filt_size=3, stride=2, pad_off=0)
    >>> pool(np.array([[0., 0, 1, 1, 0, 0, 1, 1]]))
    array([[0.  , 0.75, 0.25, 0.75]])
    >>> pool.backward(np.array([[1., 0, 0, 0]]))
    array([[0.5, 0.5, 0. , 0. , 0. , 0. , 0. , 0. ]])
    """

    _ndim = 1
    _fn = _blur.blur_pool1d

    def __init__(
        self,
        channels: int,
        pad_type: str = "reflect",
        filt_size: int = 3,
        stride: int = 2,
        pad_off: int = 0,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels, pad_type, filt_size, stride, pad_off,
                         channels_last=channels_last)


class BlurPool2d(_BlurPoolNd):
    """2D blur pooling layer with the ``antialiased-cnns`` package's ``BlurPool`` arguments.

    ``BlurPool2d(channels, pad_type='reflect', filt_size=4, stride=2, pad_off=0)`` computes
    what ``antialiased_cnns.BlurPool`` with the same arguments computes (up to float
    rounding), on NumPy arrays, batched ``(N, C, H, W)`` or unbatched ``(C, H, W)``.

    Parameters
    ----------
    channels : int
        Number of input channels (the input's channel axis must match).
    pad_type : {'reflect', 'refl', 'replicate', 'repl', 'zero'}, default 'reflect'
        How the borders are padded.
    filt_size : int, default 4
        Binomial filter taps per dimension, 1 to 7.
    stride : int, default 2
        Subsampling step.
    pad_off : int, default 0
        Extra padding on every side.

    See Also
    --------
    poolnd.functional.blur_pool2d : the computation.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> pool = poolnd.nn.BlurPool2d(1, filt_size=3)
    >>> pool
    BlurPool2d(channels=1, pad_type='reflect', filt_size=3, stride=2, pad_off=0)
    >>> pool.pad_sizes
    [1, 1, 1, 1]
    >>> x = np.zeros((1, 1, 4, 4)); x[0, 0, 2, 2] = 16.
    >>> pool(x)
    array([[[[0., 0.],
             [0., 4.]]]])
    >>> pool.backward(np.ones((1, 1, 2, 2))).sum()
    np.float64(4.0)
    """

    _ndim = 2
    _fn = _blur.blur_pool2d


class _MaxBlurPoolNd(_BlurPoolNd):
    _fn_args: tuple[str, ...] = ("pad_type", "filt_size", "stride", "pad_off", "kernel_size")
    _repr_args: tuple[str, ...] = (
        "channels", "kernel_size", "pad_type", "filt_size", "stride", "pad_off"
    )

    def __init__(
        self,
        channels: int,
        pad_type: str = "reflect",
        filt_size: int = 4,
        stride: int = 2,
        pad_off: int = 0,
        kernel_size: int = 2,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels, pad_type, filt_size, stride, pad_off,
                         channels_last=channels_last)
        name = type(self).__name__
        sizes = _args.as_int_tuple(name, "kernel_size", kernel_size, self._ndim)
        if min(sizes) < 1:
            raise ValueError(f"{name}(): kernel_size must be positive; got {kernel_size!r}")
        self.kernel_size = kernel_size


class MaxBlurPool1d(_MaxBlurPoolNd):
    """1D MaxBlurPool layer: max pooling with stride 1, then `BlurPool1d`.

    Takes `BlurPool1d`'s arguments, then ``kernel_size`` (default 2), the window of the
    stride-1 max pooling.

    See Also
    --------
    poolnd.functional.max_blur_pool1d : the computation.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> pool = poolnd.nn.MaxBlurPool1d(1)
    >>> pool
    MaxBlurPool1d(channels=1, kernel_size=2, pad_type='reflect', filt_size=3, stride=2, pad_off=0)
    >>> pool(np.array([[0., 0, 1, 1, 0, 0, 1, 1]]))
    array([[0.5, 1. , 0.5, 1. ]])
    """

    _ndim = 1
    _fn = _blur.max_blur_pool1d

    def __init__(
        self,
        channels: int,
        pad_type: str = "reflect",
        filt_size: int = 3,
        stride: int = 2,
        pad_off: int = 0,
        kernel_size: int = 2,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels, pad_type, filt_size, stride, pad_off, kernel_size,
                         channels_last=channels_last)


class MaxBlurPool2d(_MaxBlurPoolNd):
    """2D MaxBlurPool layer (Zhang 2019): max pooling with stride 1, then `BlurPool2d`.

    ``MaxBlurPool2d(channels, pad_type='reflect', filt_size=4, stride=2, pad_off=0,
    kernel_size=2)`` computes ``torch.nn.Sequential(torch.nn.MaxPool2d(kernel_size, 1),
    antialiased_cnns.BlurPool(channels, pad_type, filt_size, stride, pad_off))``, the
    anti-aliased replacement of ``MaxPool2d(kernel_size)`` in the package's networks. The
    first five arguments are `BlurPool2d`'s, in its order; ``kernel_size`` comes last.

    See Also
    --------
    poolnd.functional.max_blur_pool2d : the computation.

    Examples
    --------
    >>> import numpy as np, poolnd
    >>> pool = poolnd.nn.MaxBlurPool2d(3)
    >>> pool
    MaxBlurPool2d(channels=3, kernel_size=2, pad_type='reflect', filt_size=4, stride=2, pad_off=0)
    >>> pool(np.ones((2, 3, 8, 8))).shape
    (2, 3, 4, 4)
    """

    _ndim = 2
    _fn = _blur.max_blur_pool2d
