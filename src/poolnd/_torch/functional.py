"""The pooling functions of ``torch.nn.functional`` over poolnd's custom ops
(`poolnd._torch.ops`): same names, signatures and results, autograd and ``torch.compile``
included. Re-exported by `poolnd.torch`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._docs import fill
from . import ops

Sizes = int | Sequence[int]
Pooled = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def _tensor(op: str, input: Any, name: str = "input") -> torch.Tensor:
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{op}(): {name} must be a torch.Tensor; got {type(input).__name__}")
    return input


def sizes(op: str, name: str, value: Any, rank: int) -> list[int]:
    """An int or a sequence of 1 or ``rank`` ints as ``rank`` ints (as PyTorch reads them)."""
    values = list(value) if isinstance(value, (list, tuple, torch.Size)) else [value]
    try:
        if any(isinstance(v, bool) for v in values):
            raise TypeError
        out = [operator.index(v) for v in values]
    except TypeError:
        raise TypeError(
            f"{op}(): {name} must be an int or a tuple of ints; got {value!r}") from None
    if len(out) == 1:
        return out * rank
    if len(out) != rank:
        raise ValueError(f"{op}(): {name} must have 1 or {rank} elements; got {value!r}")
    return out


def _stride(op: str, stride: Any, rank: int) -> list[int]:
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        return []  # the kernel size, in every op
    return sizes(op, "stride", stride, rank)


def _pair(values: torch.Tensor, indices: torch.Tensor, return_indices: bool) -> Pooled:
    return (values, indices) if return_indices else values


_RETURNS_SELECTED = """Returns
    -------
    Tensor or tuple of Tensor
        The values (input dtype, on the input's device); with ``return_indices``,
        ``(values, indices)``, the int64 flat position of each maximum in its ``(n, c)``
        plane. Differentiable with respect to ``input``."""

_RETURNS = """Returns
    -------
    Tensor
        The pooled values (input dtype, on the input's device), differentiable with respect
        to ``input``."""


# --------------------------------------------------------------------------------------------
# max pooling


def _max(op: str, rank: int, input: Any, kernel_size: Any, stride: Any, padding: Any,
         dilation: Any, ceil_mode: bool, return_indices: bool) -> Pooled:
    x = _tensor(op, input)
    values, indices = ops.max_pool(
        x, sizes(op, "kernel_size", kernel_size, rank), _stride(op, stride, rank),
        sizes(op, "padding", padding, rank), sizes(op, "dilation", dilation, rank),
        bool(ceil_mode))
    return _pair(values, indices, return_indices)


# The per-rank functions are written out one by one, so that each keeps PyTorch's exact
# signature and its own docstring: repetition on purpose (docs/design.md).
def max_pool1d(input: torch.Tensor, kernel_size: Sizes, stride: Sizes | None = None,
               padding: Sizes = 0, dilation: Sizes = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Pooled:
    """1D max pooling of ``(N, C, L)`` or ``(C, L)``, as ``torch.nn.functional.max_pool1d``.

    Parameters
    ----------
    input : Tensor
        float16/32/64 or integer, on any device (computed on the host).
    kernel_size, stride, padding, dilation, ceil_mode, return_indices
        As in PyTorch (``stride`` defaults to ``kernel_size``); padding may be up to half the
        dilated kernel (PyTorch: half the kernel).

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.max_pool1d(torch.tensor([[1., 2, -1, 0, 2, 3, -2, 0]]), 2)
    tensor([[2., 0., 3., 0.]])
    """
    return _max("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                return_indices)


def max_pool2d(input: torch.Tensor, kernel_size: Sizes, stride: Sizes | None = None,
               padding: Sizes = 0, dilation: Sizes = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Pooled:
    """2D max pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as
    ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    input : Tensor
        float16/32/64 or integer, on any device (computed on the host).
    kernel_size, stride, padding, dilation, ceil_mode, return_indices
        As in PyTorch; a window lying wholly in padding gives index -1 and a zero gradient.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> x = torch.arange(16.).reshape(1, 1, 4, 4).requires_grad_()
    >>> values, indices = pt.max_pool2d(x, 2, return_indices=True)
    >>> indices
    tensor([[[[ 5,  7],
              [13, 15]]]])
    >>> values.sum().backward()
    >>> x.grad[0, 0]
    tensor([[0., 0., 0., 0.],
            [0., 1., 0., 1.],
            [0., 0., 0., 0.],
            [0., 1., 0., 1.]])
    """
    return _max("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                return_indices)


def max_pool3d(input: torch.Tensor, kernel_size: Sizes, stride: Sizes | None = None,
               padding: Sizes = 0, dilation: Sizes = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Pooled:
    """3D max pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as
    ``torch.nn.functional.max_pool3d``.

    Parameters
    ----------
    input : Tensor
        float16/32/64 or integer, on any device (computed on the host).
    kernel_size, stride, padding, dilation, ceil_mode, return_indices
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.max_pool3d(torch.arange(8.).reshape(1, 2, 2, 2), 2)
    tensor([[[[7.]]]])
    """
    return _max("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                return_indices)


# --------------------------------------------------------------------------------------------
# average pooling


def _avg(op: str, rank: int, input: Any, kernel_size: Any, stride: Any, padding: Any,
         ceil_mode: bool, count_include_pad: bool, divisor_override: int | None
         ) -> torch.Tensor:
    x = _tensor(op, input)
    if divisor_override is not None:
        divisor_override = operator.index(divisor_override)
    return ops.avg_pool(
        x, sizes(op, "kernel_size", kernel_size, rank), _stride(op, stride, rank),
        sizes(op, "padding", padding, rank), bool(ceil_mode), bool(count_include_pad),
        divisor_override)


def avg_pool1d(input: torch.Tensor, kernel_size: Sizes, stride: Sizes | None = None,
               padding: Sizes = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> torch.Tensor:
    """1D average pooling of ``(N, C, L)`` or ``(C, L)``, as
    ``torch.nn.functional.avg_pool1d``.

    Parameters
    ----------
    input : Tensor
        float16/32/64 or integer (averages truncate), on any device.
    kernel_size, stride, padding, ceil_mode, count_include_pad
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.avg_pool1d(torch.tensor([[1., 2, -1, 0, 2, 3, -2, 0]]), 2)
    tensor([[ 1.5000, -0.5000,  2.5000, -1.0000]])
    """
    return _avg("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                count_include_pad, None)


def avg_pool2d(input: torch.Tensor, kernel_size: Sizes, stride: Sizes | None = None,
               padding: Sizes = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> torch.Tensor:
    """2D average pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as
    ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    input : Tensor
        float16/32/64 or integer (averages truncate), on any device.
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.avg_pool2d(torch.ones(1, 3, 3), 2, padding=1, count_include_pad=False)
    tensor([[[1., 1.],
             [1., 1.]]])
    """
    return _avg("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                count_include_pad, divisor_override)


def avg_pool3d(input: torch.Tensor, kernel_size: Sizes, stride: Sizes | None = None,
               padding: Sizes = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> torch.Tensor:
    """3D average pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as
    ``torch.nn.functional.avg_pool3d``.

    Parameters
    ----------
    input : Tensor
        float16/32/64 or integer (averages truncate), on any device.
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.avg_pool3d(torch.arange(8.).reshape(1, 2, 2, 2), 2)
    tensor([[[[3.5000]]]])
    """
    return _avg("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                count_include_pad, divisor_override)


# --------------------------------------------------------------------------------------------
# LP pooling


def _lp(op: str, rank: int, input: Any, norm_type: float, kernel_size: Any, stride: Any,
        ceil_mode: bool) -> torch.Tensor:
    x = _tensor(op, input)
    return ops.lp_pool(x, float(norm_type),
                                    sizes(op, "kernel_size", kernel_size, rank),
                                    _stride(op, stride, rank), bool(ceil_mode))


def lp_pool1d(input: torch.Tensor, norm_type: float, kernel_size: Sizes,
              stride: Sizes | None = None, ceil_mode: bool = False) -> torch.Tensor:
    """1D power-average pooling, as ``torch.nn.functional.lp_pool1d``:
    ``(sum of x**p over the window) ** (1/p)``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, L)`` or ``(C, L)``, float16/32/64 or integer.
    norm_type, kernel_size, stride, ceil_mode
        As in PyTorch (``norm_type`` ``inf`` is max pooling of ``|x|``).

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.lp_pool1d(torch.tensor([[3., 4, 0, 1]]), 2, 2)
    tensor([[5., 1.]])
    """
    return _lp("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: torch.Tensor, norm_type: float, kernel_size: Sizes,
              stride: Sizes | None = None, ceil_mode: bool = False) -> torch.Tensor:
    """2D power-average pooling, as ``torch.nn.functional.lp_pool2d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, H, W)`` or ``(C, H, W)``, float16/32/64 or integer.
    norm_type, kernel_size, stride, ceil_mode
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.lp_pool2d(torch.full((1, 2, 2), 2.), 1, 2)
    tensor([[[8.]]])
    """
    return _lp("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: torch.Tensor, norm_type: float, kernel_size: Sizes,
              stride: Sizes | None = None, ceil_mode: bool = False) -> torch.Tensor:
    """3D power-average pooling, as ``torch.nn.functional.lp_pool3d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, D, H, W)`` or ``(C, D, H, W)``, float16/32/64 or integer.
    norm_type, kernel_size, stride, ceil_mode
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.lp_pool3d(torch.ones(1, 2, 2, 2), 1, 2)
    tensor([[[[8.]]]])
    """
    return _lp("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# --------------------------------------------------------------------------------------------
# adaptive pooling


def output_sizes(op: str, x: torch.Tensor, output_size: Any, rank: int) -> list[int]:
    """``output_size`` as ``rank`` ints, a ``None`` entry taking the input's size there."""
    if isinstance(output_size, (list, tuple, torch.Size)):
        if len(output_size) not in (1, rank):
            raise ValueError(
                f"{op}(): output_size must have 1 or {rank} elements; got {output_size!r}")
        given = list(output_size) * (rank if len(output_size) == 1 else 1)
    else:
        given = [output_size] * rank
    spatial = x.shape[x.dim() - rank:] if x.dim() >= rank else [None] * rank
    resolved = [n if v is None else v for v, n in zip(given, spatial)]
    return sizes(op, "output_size", resolved, rank)


def _adaptive_max(op: str, rank: int, input: Any, output_size: Any, return_indices: bool
                  ) -> Pooled:
    x = _tensor(op, input)
    values, indices = ops.adaptive_max_pool(
        x, output_sizes(op, x, output_size, rank))
    return _pair(values, indices, return_indices)


def adaptive_max_pool1d(input: torch.Tensor, output_size: Sizes,
                        return_indices: bool = False) -> Pooled:
    """1D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool1d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, L)`` or ``(C, L)``, float16/32/64 or integer.
    output_size : int or tuple of int
        The output length.
    return_indices : bool, default False
        Also return the indices of the maxima.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.adaptive_max_pool1d(torch.tensor([[1., 5, 2, 0, 3]]), 2)
    tensor([[5., 3.]])
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: torch.Tensor, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Pooled:
    """2D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, H, W)`` or ``(C, H, W)``, float16/32/64 or integer.
    output_size : int or tuple of (int or None)
        The output size; ``None`` keeps the input's size in that dimension.
    return_indices : bool, default False
        Also return the indices of the maxima.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.adaptive_max_pool2d(torch.arange(9.).reshape(1, 3, 3), (1, None))
    tensor([[[6., 7., 8.]]])
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: torch.Tensor, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Pooled:
    """3D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool3d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, D, H, W)`` or ``(C, D, H, W)``, float16/32/64 or integer.
    output_size : int or tuple of (int or None)
        The output size; ``None`` keeps the input's size in that dimension.
    return_indices : bool, default False
        Also return the indices of the maxima.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.adaptive_max_pool3d(torch.arange(8.).reshape(1, 2, 2, 2), 1)
    tensor([[[[7.]]]])
    """
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def _adaptive_avg(op: str, rank: int, input: Any, output_size: Any) -> torch.Tensor:
    x = _tensor(op, input)
    return ops.adaptive_avg_pool(x, output_sizes(op, x, output_size, rank))


def adaptive_avg_pool1d(input: torch.Tensor, output_size: Sizes) -> torch.Tensor:
    """1D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool1d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, L)`` or ``(C, L)``, float16/32/64.
    output_size : int or tuple of int
        The output length (1: the mean, equal to PyTorch's within float rounding).

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.adaptive_avg_pool1d(torch.tensor([[1., 3, 2, 4]]), 2)
    tensor([[2., 3.]])
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: torch.Tensor, output_size: int | Sequence[int | None]
                        ) -> torch.Tensor:
    """2D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, H, W)`` or ``(C, H, W)``, float16/32/64.
    output_size : int or tuple of (int or None)
        The output size; ``None`` keeps the input's size there. All ones is the mean, equal
        to PyTorch's (``torch.mean``) within float rounding.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.adaptive_avg_pool2d(torch.arange(4.).reshape(1, 2, 2), (2, 1))
    tensor([[[0.5000],
             [2.5000]]])
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: torch.Tensor, output_size: int | Sequence[int | None]
                        ) -> torch.Tensor:
    """3D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool3d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, D, H, W)`` or ``(C, D, H, W)``, float16/32/64.
    output_size : int or tuple of (int or None)
        The output size; ``None`` keeps the input's size there.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.adaptive_avg_pool3d(torch.arange(8.).reshape(1, 2, 2, 2), (2, 1, 1))
    tensor([[[[1.5000]],
    <BLANKLINE>
             [[5.5000]]]])
    """
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


# --------------------------------------------------------------------------------------------
# fractional max pooling


def fractional_sizes(op: str, x: torch.Tensor, output_size: Any, output_ratio: Any,
                     rank: int) -> list[int]:
    """The output size, given or ``int(n * ratio)`` per dimension as PyTorch computes it."""
    if output_size is not None:
        return sizes(op, "output_size", output_size, rank)
    if output_ratio is None:
        raise ValueError(f"{op}(): requires specifying either an output_size or an "
                         "output_ratio")
    ratios = list(output_ratio) if isinstance(output_ratio, (list, tuple)) else [output_ratio]
    if len(ratios) not in (1, rank):
        raise ValueError(f"{op}(): output_ratio must have 1 or {rank} elements; "
                         f"got {output_ratio!r}")
    ratios = ratios * (rank if len(ratios) == 1 else 1)
    return [int(n * r) for n, r in zip(x.shape[x.dim() - rank:], ratios)]


def _fractional(op: str, rank: int, input: Any, kernel_size: Any, output_size: Any,
                output_ratio: Any, return_indices: bool, samples: Any) -> Pooled:
    x = _tensor(op, input)
    out = fractional_sizes(op, x, output_size, output_ratio, rank)
    if samples is None:  # drawn as PyTorch draws them: same generator, same numbers
        batch = 1 if x.dim() == rank + 1 else x.size(0)
        samples = torch.rand(batch, x.size(-rank - 1), rank, dtype=x.dtype, device=x.device)
    values, indices = ops.fractional_max_pool(
        x, sizes(op, "kernel_size", kernel_size, rank), out,
        _tensor(op, samples, "_random_samples"))
    return _pair(values, indices, return_indices)


def fractional_max_pool2d(input: torch.Tensor, kernel_size: Sizes,
                          output_size: Sizes | None = None,
                          output_ratio: float | Sequence[float] | None = None,
                          return_indices: bool = False,
                          _random_samples: torch.Tensor | None = None) -> Pooled:
    """2D fractional max pooling, as ``torch.nn.functional.fractional_max_pool2d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, H, W)`` or ``(C, H, W)``, float16/32/64.
    kernel_size, output_size, output_ratio, return_indices
        As in PyTorch (one of ``output_size`` and ``output_ratio``).
    _random_samples : Tensor, optional
        ``(N, C, 2)`` samples in ``[0, 1)``, the input's dtype; drawn with ``torch.rand``
        (PyTorch's generator, as PyTorch draws them) when not given.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> pt.fractional_max_pool2d(x, 2, (2, 2), _random_samples=torch.full((1, 1, 2), .5))
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input: torch.Tensor, kernel_size: Sizes,
                          output_size: Sizes | None = None,
                          output_ratio: float | Sequence[float] | None = None,
                          return_indices: bool = False,
                          _random_samples: torch.Tensor | None = None) -> Pooled:
    """3D fractional max pooling, as ``torch.nn.functional.fractional_max_pool3d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, T, H, W)`` or ``(C, T, H, W)``, float16/32/64.
    kernel_size, output_size, output_ratio, return_indices
        As in PyTorch.
    _random_samples : Tensor, optional
        ``(N, C, 3)`` samples in ``[0, 1)``; drawn with ``torch.rand`` when not given.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> x = torch.arange(8.).reshape(1, 1, 2, 2, 2)
    >>> pt.fractional_max_pool3d(x, 1, 1, _random_samples=torch.zeros(1, 1, 3))
    tensor([[[[[7.]]]]])
    """
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


# --------------------------------------------------------------------------------------------
# max unpooling


def unpool_sizes(op: str, x: torch.Tensor, kernel: list[int], stride: list[int],
                 padding: list[int], output_size: Any, rank: int) -> list[int]:
    """The spatial output size: the given one (its trailing ``rank`` entries) or PyTorch's
    default ``(n - 1) * stride - 2 * padding + kernel``."""
    if output_size is None:
        spatial = x.shape[x.dim() - rank:]
        return [(n - 1) * s - 2 * p + k
                for n, k, s, p in zip(spatial, kernel, stride or kernel, padding)]
    given = list(output_size)
    if len(given) == rank + 2 or len(given) == rank + 1:
        given = given[len(given) - rank:]
    return sizes(op, "output_size", given, rank)


def _unpool(op: str, rank: int, input: Any, indices: Any, kernel_size: Any, stride: Any,
            padding: Any, output_size: Any) -> torch.Tensor:
    x = _tensor(op, input)
    idx = _tensor(op, indices, "indices")
    kernel = sizes(op, "kernel_size", kernel_size, rank)
    strides = _stride(op, stride, rank) or kernel
    pads = sizes(op, "padding", padding, rank)
    out = unpool_sizes(op, x, kernel, strides, pads, output_size, rank)
    return ops.max_unpool(x, idx, kernel, strides, pads, out)


def max_unpool1d(input: torch.Tensor, indices: torch.Tensor, kernel_size: Sizes,
                 stride: Sizes | None = None, padding: Sizes = 0,
                 output_size: Sequence[int] | None = None) -> torch.Tensor:
    """1D max unpooling, as ``torch.nn.functional.max_unpool1d``: each value written to the
    cell its index names, zeros elsewhere.

    Parameters
    ----------
    input : Tensor
        ``(N, C, L)`` or ``(C, L)``; any dtype poolnd takes.
    indices : Tensor
        int64, the shape of ``input``, as `max_pool1d` returns them.
    kernel_size, stride, padding, output_size
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.max_unpool1d(torch.tensor([[2., 3]]), torch.tensor([[1, 2]]), 2)
    tensor([[0., 2., 3., 0.]])
    """
    return _unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                   output_size)


def max_unpool2d(input: torch.Tensor, indices: torch.Tensor, kernel_size: Sizes,
                 stride: Sizes | None = None, padding: Sizes = 0,
                 output_size: Sequence[int] | None = None) -> torch.Tensor:
    """2D max unpooling, as ``torch.nn.functional.max_unpool2d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, H, W)`` or ``(C, H, W)``.
    indices : Tensor
        int64 plane-flat indices, the shape of ``input``.
    kernel_size, stride, padding, output_size
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> v, i = pt.max_pool2d(x, 2, return_indices=True)
    >>> pt.max_unpool2d(v, i, 2)[0, 0]
    tensor([[ 0.,  0.,  0.,  0.],
            [ 0.,  5.,  0.,  7.],
            [ 0.,  0.,  0.,  0.],
            [ 0., 13.,  0., 15.]])
    """
    return _unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                   output_size)


def max_unpool3d(input: torch.Tensor, indices: torch.Tensor, kernel_size: Sizes,
                 stride: Sizes | None = None, padding: Sizes = 0,
                 output_size: Sequence[int] | None = None) -> torch.Tensor:
    """3D max unpooling, as ``torch.nn.functional.max_unpool3d``.

    Parameters
    ----------
    input : Tensor
        ``(N, C, D, H, W)`` or ``(C, D, H, W)``.
    indices : Tensor
        int64 plane-flat indices, the shape of ``input``.
    kernel_size, stride, padding, output_size
        As in PyTorch.

    {returns}

    Examples
    --------
    >>> import torch, poolnd.torch as pt
    >>> pt.max_unpool3d(torch.ones(1, 1, 1, 1), torch.tensor([[[[7]]]]), 2).flatten()
    tensor([0., 0., 0., 0., 0., 0., 0., 1.])
    """
    return _unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                   output_size)


_f: Callable[..., Any]
for _f in (max_pool1d, max_pool2d, max_pool3d, adaptive_max_pool1d, adaptive_max_pool2d,
           adaptive_max_pool3d, fractional_max_pool2d, fractional_max_pool3d):
    fill(_f, returns=_RETURNS_SELECTED)
for _f in (avg_pool1d, avg_pool2d, avg_pool3d, lp_pool1d, lp_pool2d, lp_pool3d,
           adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, max_unpool1d,
           max_unpool2d, max_unpool3d):
    fill(_f, returns=_RETURNS)
del _f
