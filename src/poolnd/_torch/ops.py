"""poolnd's pooling ops as PyTorch custom ops (namespace ``poolnd``), with autograd and fake
(meta) implementations, so that they run in eager mode, under ``torch.compile`` and in
``nn.Module``s.

One op per family, the spatial rank being the length of its size lists:

==============================  ====================================================
``poolnd::max_pool``            values and indices of max pooling (1d/2d/3d)
``poolnd::avg_pool``            average pooling
``poolnd::lp_pool``             power-average (LP) pooling
``poolnd::adaptive_max_pool``   values and indices of adaptive max pooling
``poolnd::adaptive_avg_pool``   adaptive average pooling
``poolnd::fractional_max_pool`` values and indices of fractional max pooling
``poolnd::max_unpool``          max unpooling to a full spatial output size
==============================  ====================================================

Their backward passes are custom ops too (so ``torch.compile`` traces the backward graph
as well): ``poolnd::select_backward`` scatters the output gradient to the saved indices
(every max-type op, in output raster order, index -1 nowhere), and each other family has a
``poolnd::<family>_backward`` that runs poolnd's pullback (`poolnd.vjp`) on the saved input.

Every op computes on the host with poolnd's NumPy kernels: CPU tensors go in and out
zero-copy (``Tensor.numpy()`` / ``torch.from_numpy``), tensors on another device are copied
to the host and the results back to that device.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .._autodiff import vjp
from .._ops import adaptive, fractional, lp, pooling, unpool

__all__ = [
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "avg_pool",
    "fractional_max_pool",
    "lp_pool",
    "max_pool",
    "max_unpool",
    "pooled_size",
    "select_backward",
    "to_host",
]

_MAX = {1: pooling.max_pool1d, 2: pooling.max_pool2d, 3: pooling.max_pool3d}
_AVG = {1: pooling.avg_pool1d, 2: pooling.avg_pool2d, 3: pooling.avg_pool3d}
_LP = {1: lp.lp_pool1d, 2: lp.lp_pool2d, 3: lp.lp_pool3d}
_ADAPTIVE_MAX = {1: adaptive.adaptive_max_pool1d, 2: adaptive.adaptive_max_pool2d,
                 3: adaptive.adaptive_max_pool3d}
_ADAPTIVE_AVG = {1: adaptive.adaptive_avg_pool1d, 2: adaptive.adaptive_avg_pool2d,
                 3: adaptive.adaptive_avg_pool3d}
_FRACTIONAL = {2: fractional.fractional_max_pool2d, 3: fractional.fractional_max_pool3d}
_UNPOOL = {1: unpool.max_unpool1d, 2: unpool.max_unpool2d, 3: unpool.max_unpool3d}


def _fn(table: dict[int, Callable[..., Any]], family: str, rank: int) -> Callable[..., Any]:
    if rank not in table:
        ranks = "/".join(f"{r}d" for r in table)
        raise ValueError(f"poolnd::{family}: {ranks} only; got {rank} spatial dimensions")
    return table[rank]


def to_host(t: torch.Tensor, op: str, name: str = "input") -> np.ndarray:
    """A tensor as a NumPy array: a zero-copy view for a CPU tensor, a host copy otherwise."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    try:
        return t.resolve_conj().resolve_neg().numpy()
    except TypeError:  # bfloat16 and the other dtypes NumPy lacks
        raise TypeError(
            f"{op}(): {name} dtype must be float16, float32, float64 or an integer type with "
            f"a NumPy equivalent; got {t.dtype}"
        ) from None


def _tensor(a: np.ndarray, like: torch.Tensor, *sources: np.ndarray) -> torch.Tensor:
    """A NumPy result as a tensor on ``like``'s device, zero-copy on the CPU (a copy only when
    the array is read-only, non-native or shares memory with an input: a custom op's output
    may not alias its inputs)."""
    if not (a.flags.writeable and a.dtype.isnative) or any(
        np.may_share_memory(a, s) for s in sources
    ):
        a = np.array(a, dtype=a.dtype.newbyteorder("="))
    t = torch.from_numpy(a)
    return t if like.device.type == "cpu" else t.to(like.device)


def pooled_size(n: Any, k: int, s: int, p: int, d: int, ceil_mode: bool) -> Any:
    """Windows along one dimension, as PyTorch counts them (ints or SymInts)."""
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = (span + s - 1) // s + 1
    if (out - 1) * s >= n + p:  # a last window starting in the right padding is dropped
        out = out - 1
    return out


def _new(input: torch.Tensor, shape: Sequence[Any], dtype: torch.dtype | None = None
         ) -> torch.Tensor:
    return input.new_empty(tuple(shape), dtype=dtype or input.dtype)


def _sliding_shape(input: torch.Tensor, kernel: Sequence[int], stride: Sequence[int],
                   padding: Sequence[int], dilation: Sequence[int], ceil_mode: bool
                   ) -> list[Any]:
    rank = len(kernel)
    stride = stride or kernel
    lead = list(input.shape[: input.dim() - rank])
    spatial = input.shape[input.dim() - rank:]
    return lead + [pooled_size(n, k, s, p, d, ceil_mode)
                   for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)]


def _lead(input: torch.Tensor, rank: int) -> list[Any]:
    return list(input.shape[: input.dim() - rank])


def strided_like(grad: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
    """``grad`` laid out as PyTorch lays out an input gradient: ``empty_like(input)``'s
    strides (a copy only where they differ from the contiguous result's)."""
    if grad.stride() == input.stride() or input.is_contiguous():
        return grad
    out = torch.empty_like(input, dtype=grad.dtype)
    return grad if out.stride() == grad.stride() else out.copy_(grad)


def _pullback_backward(fn: Callable[..., Any], grad: torch.Tensor, input: torch.Tensor,
                       *args: Any) -> torch.Tensor:
    """``input``'s gradient from poolnd's pullback of ``fn(input, *args)``."""
    op = getattr(fn, "__name__", "pool")
    x = to_host(input, op)
    g = to_host(grad, op, "grad_output")
    _, pullback = vjp(fn, x, *args)
    return _tensor(pullback(g), input, x, g)


# --------------------------------------------------------------------------------------------
# the index scatter: backward of every selecting op


@torch.library.custom_op("poolnd::select_backward", mutates_args=())
def select_backward(grad: torch.Tensor, input: torch.Tensor, indices: torch.Tensor,
                    ndim: int) -> torch.Tensor:
    """Gradient of a max-type op: ``grad`` added to the cells ``indices`` name (plane-flat,
    -1 nowhere) of a zero tensor shaped like ``input``, in output raster order."""
    g = to_host(grad, "select_backward", "grad_output")
    idx = to_host(indices, "select_backward", "indices")
    in_shape = tuple(input.shape[input.dim() - ndim:])
    return _tensor(pooling.scatter_selected(g, idx, in_shape), input, g)


@select_backward.register_fake
def _(grad: torch.Tensor, input: torch.Tensor, indices: torch.Tensor, ndim: int
      ) -> torch.Tensor:
    return _new(input, input.shape, grad.dtype)


def _register_selected(op: Any) -> None:
    """Register the autograd of a selecting op (its input first, its size list second, its
    outputs values and indices): the backward is `select_backward` on the saved indices."""

    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.save_for_backward(inputs[0], output[1])
        ctx.ndim = len(inputs[1])
        ctx.n_inputs = len(inputs)

    def backward(ctx: Any, grad_values: torch.Tensor, _grad_indices: Any) -> tuple[Any, ...]:
        input, indices = ctx.saved_tensors
        grad = torch.ops.poolnd.select_backward(grad_values, input, indices, ctx.ndim)
        return (strided_like(grad, input),) + (None,) * (ctx.n_inputs - 1)

    op.register_autograd(backward, setup_context=setup_context)


# --------------------------------------------------------------------------------------------
# max pooling


@torch.library.custom_op("poolnd::max_pool", mutates_args=())
def max_pool(input: torch.Tensor, kernel_size: list[int], stride: list[int],
             padding: list[int], dilation: list[int], ceil_mode: bool
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Max pooling values and int64 indices (`poolnd.functional.max_pool1d/2d/3d`); an empty
    ``stride`` means the kernel size."""
    fn = _fn(_MAX, "max_pool", len(kernel_size))
    x = to_host(input, fn.__name__)
    values, indices = fn(x, tuple(kernel_size), tuple(stride), tuple(padding), tuple(dilation),
                         ceil_mode, True)
    return _tensor(values, input, x), _tensor(indices, input, x)


@max_pool.register_fake
def _(input: torch.Tensor, kernel_size: list[int], stride: list[int], padding: list[int],
      dilation: list[int], ceil_mode: bool) -> tuple[torch.Tensor, torch.Tensor]:
    shape = _sliding_shape(input, kernel_size, stride, padding, dilation, ceil_mode)
    return _new(input, shape), _new(input, shape, torch.int64)


_register_selected(max_pool)


# --------------------------------------------------------------------------------------------
# average pooling


@torch.library.custom_op("poolnd::avg_pool", mutates_args=())
def avg_pool(input: torch.Tensor, kernel_size: list[int], stride: list[int],
             padding: list[int], ceil_mode: bool, count_include_pad: bool,
             divisor_override: int | None) -> torch.Tensor:
    """Average pooling (`poolnd.functional.avg_pool1d/2d/3d`)."""
    fn = _fn(_AVG, "avg_pool", len(kernel_size))
    x = to_host(input, fn.__name__)
    extra = () if len(kernel_size) == 1 else (divisor_override,)  # avg_pool1d has none
    out = fn(x, tuple(kernel_size), tuple(stride), tuple(padding), ceil_mode,
             count_include_pad, *extra)
    return _tensor(out, input, x)


@avg_pool.register_fake
def _(input: torch.Tensor, kernel_size: list[int], stride: list[int], padding: list[int],
      ceil_mode: bool, count_include_pad: bool, divisor_override: int | None) -> torch.Tensor:
    ones = [1] * len(kernel_size)
    return _new(input, _sliding_shape(input, kernel_size, stride, padding, ones, ceil_mode))


@torch.library.custom_op("poolnd::avg_pool_backward", mutates_args=())
def avg_pool_backward(grad: torch.Tensor, input: torch.Tensor, kernel_size: list[int],
                      stride: list[int], padding: list[int], ceil_mode: bool,
                      count_include_pad: bool, divisor_override: int | None) -> torch.Tensor:
    """Input gradient of `avg_pool`."""
    fn = _fn(_AVG, "avg_pool", len(kernel_size))
    extra = () if len(kernel_size) == 1 else (divisor_override,)
    return _pullback_backward(fn, grad, input, tuple(kernel_size), tuple(stride),
                              tuple(padding), ceil_mode, count_include_pad, *extra)


@avg_pool_backward.register_fake
def _(grad: torch.Tensor, input: torch.Tensor, *args: Any) -> torch.Tensor:
    return _new(input, input.shape, grad.dtype)


def _avg_setup(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    ctx.save_for_backward(inputs[0])
    ctx.args = inputs[1:]


def _avg_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    (input,) = ctx.saved_tensors
    grad_in = torch.ops.poolnd.avg_pool_backward(grad, input, *ctx.args)
    return (strided_like(grad_in, input),) + (None,) * 6


avg_pool.register_autograd(_avg_backward, setup_context=_avg_setup)


# --------------------------------------------------------------------------------------------
# LP pooling


@torch.library.custom_op("poolnd::lp_pool", mutates_args=())
def lp_pool(input: torch.Tensor, norm_type: float, kernel_size: list[int], stride: list[int],
            ceil_mode: bool) -> torch.Tensor:
    """Power-average pooling (`poolnd.functional.lp_pool1d/2d/3d`)."""
    fn = _fn(_LP, "lp_pool", len(kernel_size))
    x = to_host(input, fn.__name__)
    out = fn(x, norm_type, tuple(kernel_size), tuple(stride) or None, ceil_mode)
    return _tensor(out, input, x)


@lp_pool.register_fake
def _(input: torch.Tensor, norm_type: float, kernel_size: list[int], stride: list[int],
      ceil_mode: bool) -> torch.Tensor:
    rank = len(kernel_size)
    return _new(input, _sliding_shape(input, kernel_size, stride, [0] * rank, [1] * rank,
                                      ceil_mode))


@torch.library.custom_op("poolnd::lp_pool_backward", mutates_args=())
def lp_pool_backward(grad: torch.Tensor, input: torch.Tensor, norm_type: float,
                     kernel_size: list[int], stride: list[int], ceil_mode: bool
                     ) -> torch.Tensor:
    """Input gradient of `lp_pool`."""
    fn = _fn(_LP, "lp_pool", len(kernel_size))
    return _pullback_backward(fn, grad, input, norm_type, tuple(kernel_size),
                              tuple(stride) or None, ceil_mode)


@lp_pool_backward.register_fake
def _(grad: torch.Tensor, input: torch.Tensor, *args: Any) -> torch.Tensor:
    return _new(input, input.shape, grad.dtype)


def _lp_setup(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    ctx.save_for_backward(inputs[0])
    ctx.args = inputs[1:]


def _lp_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    (input,) = ctx.saved_tensors
    grad_in = torch.ops.poolnd.lp_pool_backward(grad, input, *ctx.args)
    return (strided_like(grad_in, input),) + (None,) * 4


lp_pool.register_autograd(_lp_backward, setup_context=_lp_setup)


# --------------------------------------------------------------------------------------------
# adaptive pooling


@torch.library.custom_op("poolnd::adaptive_max_pool", mutates_args=())
def adaptive_max_pool(input: torch.Tensor, output_size: list[int]
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Adaptive max pooling values and indices to a full spatial ``output_size``."""
    fn = _fn(_ADAPTIVE_MAX, "adaptive_max_pool", len(output_size))
    x = to_host(input, fn.__name__)
    values, indices = fn(x, tuple(output_size), True)
    return _tensor(values, input, x), _tensor(indices, input, x)


@adaptive_max_pool.register_fake
def _(input: torch.Tensor, output_size: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    shape = _lead(input, len(output_size)) + list(output_size)
    return _new(input, shape), _new(input, shape, torch.int64)


_register_selected(adaptive_max_pool)


@torch.library.custom_op("poolnd::adaptive_avg_pool", mutates_args=())
def adaptive_avg_pool(input: torch.Tensor, output_size: list[int]) -> torch.Tensor:
    """Adaptive average pooling to a full spatial ``output_size``."""
    fn = _fn(_ADAPTIVE_AVG, "adaptive_avg_pool", len(output_size))
    x = to_host(input, fn.__name__)
    return _tensor(fn(x, tuple(output_size)), input, x)


@adaptive_avg_pool.register_fake
def _(input: torch.Tensor, output_size: list[int]) -> torch.Tensor:
    return _new(input, _lead(input, len(output_size)) + list(output_size))


@torch.library.custom_op("poolnd::adaptive_avg_pool_backward", mutates_args=())
def adaptive_avg_pool_backward(grad: torch.Tensor, input: torch.Tensor,
                               output_size: list[int]) -> torch.Tensor:
    """Input gradient of `adaptive_avg_pool`."""
    fn = _fn(_ADAPTIVE_AVG, "adaptive_avg_pool", len(output_size))
    return _pullback_backward(fn, grad, input, tuple(output_size))


@adaptive_avg_pool_backward.register_fake
def _(grad: torch.Tensor, input: torch.Tensor, output_size: list[int]) -> torch.Tensor:
    return _new(input, input.shape, grad.dtype)


def _adaptive_avg_setup(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    ctx.save_for_backward(inputs[0])
    ctx.output_size = inputs[1]


def _adaptive_avg_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    (input,) = ctx.saved_tensors
    grad_in = torch.ops.poolnd.adaptive_avg_pool_backward(grad, input, ctx.output_size)
    return strided_like(grad_in, input), None


adaptive_avg_pool.register_autograd(_adaptive_avg_backward, setup_context=_adaptive_avg_setup)


# --------------------------------------------------------------------------------------------
# fractional max pooling


@torch.library.custom_op("poolnd::fractional_max_pool", mutates_args=())
def fractional_max_pool(input: torch.Tensor, kernel_size: list[int], output_size: list[int],
                        samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fractional max pooling values and indices with the given ``(N, C, ndim)`` samples."""
    fn = _fn(_FRACTIONAL, "fractional_max_pool", len(kernel_size))
    x = to_host(input, fn.__name__)
    u = to_host(samples, fn.__name__, "_random_samples")
    values, indices = fn(x, tuple(kernel_size), tuple(output_size), None, True, u)
    return _tensor(values, input, x, u), _tensor(indices, input, x, u)


@fractional_max_pool.register_fake
def _(input: torch.Tensor, kernel_size: list[int], output_size: list[int],
      samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shape = _lead(input, len(output_size)) + list(output_size)
    return _new(input, shape), _new(input, shape, torch.int64)


_register_selected(fractional_max_pool)


# --------------------------------------------------------------------------------------------
# max unpooling


@torch.library.custom_op("poolnd::max_unpool", mutates_args=())
def max_unpool(input: torch.Tensor, indices: torch.Tensor, kernel_size: list[int],
               stride: list[int], padding: list[int], output_size: list[int]) -> torch.Tensor:
    """Max unpooling to the full spatial ``output_size`` (`poolnd.functional.max_unpool*d`)."""
    fn = _fn(_UNPOOL, "max_unpool", len(kernel_size))
    x = to_host(input, fn.__name__)
    idx = to_host(indices, fn.__name__, "indices")
    out = fn(x, idx, tuple(kernel_size), tuple(stride), tuple(padding), tuple(output_size))
    return _tensor(out, input, x, idx)


@max_unpool.register_fake
def _(input: torch.Tensor, indices: torch.Tensor, kernel_size: list[int], stride: list[int],
      padding: list[int], output_size: list[int]) -> torch.Tensor:
    return _new(input, _lead(input, len(output_size)) + list(output_size))


@torch.library.custom_op("poolnd::max_unpool_backward", mutates_args=())
def max_unpool_backward(grad: torch.Tensor, input: torch.Tensor, indices: torch.Tensor,
                        kernel_size: list[int], stride: list[int], padding: list[int],
                        output_size: list[int]) -> torch.Tensor:
    """Input gradient of `max_unpool`: the output gradient read at ``indices``."""
    fn = _fn(_UNPOOL, "max_unpool", len(kernel_size))
    idx = to_host(indices, fn.__name__, "indices")
    return _pullback_backward(fn, grad, input, idx, tuple(kernel_size), tuple(stride),
                              tuple(padding), tuple(output_size))


@max_unpool_backward.register_fake
def _(grad: torch.Tensor, input: torch.Tensor, *args: Any) -> torch.Tensor:
    return _new(input, input.shape, grad.dtype)


def _unpool_setup(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    ctx.save_for_backward(inputs[0], inputs[1])
    ctx.args = inputs[2:]


def _unpool_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    input, indices = ctx.saved_tensors
    # contiguous, as PyTorch's gather makes it whatever the input's layout
    return (torch.ops.poolnd.max_unpool_backward(grad, input, indices, *ctx.args),) + \
        (None,) * 5


max_unpool.register_autograd(_unpool_backward, setup_context=_unpool_setup)
