"""LP (power-average) pooling, composed over poolnd's max and average pooling as PyTorch does.

PyTorch's ``lp_pool{1,2,3}d`` is Python code over other ops; this module replays the same
ops in the same order and dtypes, with each op's autograd formula for the pullback:

* ``norm_type = +inf``: ``max_pool(|x|)``; ``-inf``: ``-max_pool(-|x|)`` (the minimum of
  ``|x|``), both with padding 0 and dilation 1.
* otherwise ``out = avg_pool(x ** p)`` (padding 0, ``count_include_pad=True``), then
  ``(sign(out) * relu(|out|) * K) ** (1 / p)`` with ``K`` the **full** kernel volume. In
  ceil mode a partial window's average divides by its clipped cell count, so the result is
  ``(sum * K / n_valid) ** (1 / p)``, not the window's norm; odd or fractional ``p`` with a
  negative sum gives NaN; ``sign * relu`` only serves to give a zero gradient where the
  power sum is zero.

Elementwise powers follow ``torch.pow`` with a scalar exponent: ``0`` fills ones, ``1``
copies; for float32/float64, ``0.5``, ``-0.5``, ``-1``, ``2``, ``3``, ``-2`` are ``sqrt``,
``1 / sqrt``, ``1 / x``, ``x * x``, ``x * x * x``, ``1 / (x * x)``, and any other exponent a
``pow`` with the exponent in the input's precision; float16 computes ``pow`` in float32 with
the exponent rounded to float16 (via float32), for every exponent; bfloat16 rounds the
exponent to bfloat16 first and then takes ``sqrt``, ``1 / sqrt`` or ``1 / x`` (for a
``p`` of exactly ``0.5``, ``-0.5``, ``-1``), ``x * x``, ``x * x * x`` or ``1 / (x * x)``
(for a rounded exponent of ``2``, ``3``, ``-2``; each product rounded to bfloat16) or
``pow`` in float32, every result rounded to bfloat16. Integer inputs take an
integer ``pow`` for an int ``norm_type`` (wrapping on overflow, truncating average) and are
converted to float32 for a float one; the root is always taken in floating point (float32
for integer inputs). Products with the kernel volume and the other Python scalars of the
pullback are taken in float32 and rounded once for float16 and bfloat16. PyTorch's
vectorised ``pow`` and ``sqrt`` may differ from the correctly rounded NumPy ones by one unit
in the last place, so float32/float64 LP results can differ from PyTorch's by a few ulps;
the pooling itself is exact. In bfloat16 that difference vanishes in the final rounding
(checked over every bfloat16 value for the common exponents), so bfloat16 results are
PyTorch's bits, gradients included (the average pooling pullback adds in bfloat16).

Forward calls with ``norm_type = 2`` on C-contiguous float32/float64 input whose windows tile
it (stride == kernel, no partial window) run all of this in one compiled pass
(`poolnd._kernels.sliding.numba_squares`): the same operations in the same order, so the same bits,
without an input-sized array of squares.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _args, _threads
from .._autodiff import differentiable
from .._docs import CHANNELS_LAST, INPUT_SHAPE_ERROR, INPUT_TYPE_ERROR, RAISES, fill
from .._kernels import sliding as kernels
from .._typing import same_library
from .layout import by_transpose
from .pooling import _prepare, avg_pool_impl, max_pool_impl, sliding_window

__all__ = ["lp_pool1d", "lp_pool2d", "lp_pool3d", "lp_pool_impl"]

Pullback = Callable[[Any], np.ndarray]

_HALF_MAX = float(np.finfo(np.float16).max)
_BFLOAT16_MAX = 3.3895313892515355e38  # (2 - 2**-7) * 2**127


def _as_norm_type(op: str, value: Any) -> int | float:
    """An int stays an int (integer inputs then take an integer power), a real a float."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}(): norm_type must be a real number, not a bool; got {value!r}")
    if isinstance(value, numbers.Integral):
        p: int | float = operator.index(value)
    elif isinstance(value, numbers.Real):
        p = float(value)
    else:
        raise TypeError(
            f"{op}(): norm_type must be a real number (int or float); got {value!r} of type "
            f"{type(value).__name__}"
        )
    if p == 0:
        raise ValueError(
            f"{op}(): norm_type must be non-zero (the result is a 1 / norm_type power); "
            f"got {value!r}"
        )
    return p


def _check_half_exponent(op: str, what: str, e: float, name: str = "float16",
                         limit: float = _HALF_MAX) -> None:
    """torch converts a float16 (bfloat16) tensor's exponent to float16 (bfloat16) and
    refuses one that overflows."""
    if math.isfinite(e) and abs(e) > limit:
        raise ValueError(
            f"{op}(): for {name} input the exponent {what} must fit {name} (magnitude at "
            f"most {limit:g}); got {e!r}"
        )


def _bf16_round(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float32 array rounded to bfloat16 ``dtype`` and read back as float32."""
    return a.astype(dtype).astype(np.float32)


def _sign(a: np.ndarray) -> np.ndarray:
    """``torch.sign``: 1, -1, or +0 (for zeros of either sign and NaN)."""
    return (a > 0).astype(a.dtype) - (a < 0).astype(a.dtype)


def _mul_scalar(a: np.ndarray, c: int | float) -> np.ndarray:
    """``tensor * python_scalar`` as torch computes it for ``a``'s dtype.

    float16 and bfloat16 multiply in float32 and round once; float32/float64 cast the scalar
    to the tensor's dtype; integers cast it with wrap-around.
    """
    if a.dtype == np.float16 or _args.is_bfloat16(a.dtype):
        return (a.astype(np.float32) * np.float32(c)).astype(a.dtype)
    if a.dtype.kind == "f":
        return a * a.dtype.type(c)
    return a * np.array(c).astype(a.dtype)


def _pow(a: np.ndarray, e: int | float) -> np.ndarray:
    """``torch.pow(a, e)`` for a floating ``a`` and a Python scalar exponent ``e``."""
    if e == 0:
        return np.ones_like(a)
    if e == 1:
        return a.copy()
    if a.dtype == np.float16:  # std::pow in float32, the exponent rounded to float16
        e16 = np.float32(np.float16(np.float32(e)))  # c10::Half(float(double))
        wide = a.astype(np.float32)
        if e16 == 0.5:  # NumPy's power takes sqrt here; C's pow gives +inf for -inf, +0 for -0
            out = np.where(wide == -np.inf, np.float32(np.inf), np.sqrt(wide)) + np.float32(0)
        else:
            out = np.power(wide, e16)
        return out.astype(np.float16)
    if _args.is_bfloat16(a.dtype):
        return _pow_bfloat16(a, e)
    if e == 0.5:
        return np.sqrt(a)
    if e == -0.5:
        return 1 / np.sqrt(a)
    if e == -1:
        return 1 / a
    if e == 2:
        return a * a
    if e == 3:
        return a * a * a
    if e == -2:
        return 1 / (a * a)
    return np.power(a, a.dtype.type(e))


def _pow_bfloat16(a: np.ndarray, e: int | float) -> np.ndarray:
    """``torch.pow(a, e)`` for bfloat16 ``a`` (``e`` not 0 or 1), as PyTorch's CPU kernel:
    ``0.5``, ``-0.5``, ``-1`` (compared before rounding) are ``sqrt``, ``1 / sqrt``,
    ``1 / x`` in float32; else the exponent is rounded to bfloat16 and ``2``, ``3``, ``-2``
    are ``x * x``, ``x * x * x``, ``1 / (x * x)`` with each product rounded to bfloat16
    (``c10::BFloat16`` arithmetic), any other a float32 ``pow``; rounded to bfloat16."""
    w = a.astype(np.float32)
    one = np.float32(1)
    if e == 0.5:  # NumPy's power takes sqrt too, but C's pow gives +inf for -inf
        out = np.sqrt(w)
    elif e == -0.5:
        out = one / np.sqrt(w)
    elif e == -1:
        out = one / w
    else:
        eb = np.float32(np.asarray(np.float32(e)).astype(a.dtype))  # Scalar.to<BFloat16>()
        if eb == 2:
            out = w * w
        elif eb == 3:
            out = _bf16_round(w * w, a.dtype) * w
        elif eb == -2:
            out = one / _bf16_round(w * w, a.dtype)
        else:
            out = np.power(w, eb)
    return out.astype(a.dtype)


def _pow_input(op: str, x: np.ndarray, p: int | float) -> np.ndarray:
    """``x.pow(p)``: integer power for integer ``x`` and int ``p``, else floating."""
    if x.dtype.kind in "iu":
        if isinstance(p, float):
            return _pow(x.astype(np.float32), p)  # torch promotes to the default float32
        info = np.iinfo(x.dtype)
        if p < 0:
            raise ValueError(
                f"{op}(): an integer input needs a positive norm_type (integers to negative "
                f"integer powers are not allowed); got norm_type={p} for input dtype {x.dtype}"
            )
        if p > info.max:
            raise ValueError(
                f"{op}(): norm_type must fit the integer input dtype {x.dtype} (at most "
                f"{info.max}); got norm_type={p}"
            )
        return x.copy() if p == 1 else np.power(x, x.dtype.type(p))
    return _pow(x, p)


@by_transpose("input")
def lp_pool_impl(
    input: Any,
    norm_type: Any,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: Any = False,
    *,
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[np.ndarray, Pullback | None]:
    """LP pooling; returns ``(out, pullback)`` with ``pullback`` None unless ``grad``."""
    rank = _args.spatial_rank(op, kernel_size, ndim)
    p = _as_norm_type(op, norm_type)
    volume = math.prod(_args.as_int_tuple(op, "kernel_size", kernel_size, rank))
    x = _args.as_input(op, input, rank, bfloat16=True)
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    if grad:
        _args.require_differentiable(op, x.dtype)
    if x.dtype == np.float16:
        _check_half_exponent(op, "norm_type", p)
        _check_half_exponent(op, "1 / norm_type", 1.0 / p)
    if _args.is_bfloat16(x.dtype):
        for what, e in (("norm_type", p), ("1 / norm_type", 1.0 / p)):
            _check_half_exponent(op, what, e, "bfloat16", _BFLOAT16_MAX)
    if not grad and p == 2 and x.dtype in (np.float32, np.float64) and x.flags.c_contiguous:
        fused = _lp2_tiles(op, x, kernel_size, stride, ceil_mode, rank)
        if fused is not None:
            return fused, None

    def run(a: np.ndarray, grad: bool) -> tuple[np.ndarray, Pullback | None]:
        with np.errstate(all="ignore"):
            if math.isinf(p):
                return _lp_extreme(op, a, p > 0, kernel_size, stride, ceil_mode, rank, grad)
            return _lp_finite(op, a, p, volume, kernel_size, stride, ceil_mode, rank, grad)

    # C order before any power: NumPy's power takes a vectorised path on positively strided
    # arrays and libm's pow otherwise, which differ by an ulp on about a fifth of values
    # (float32 and float64), so results would depend on the input's memory layout
    if grad or x.nbytes <= _threads.LP_BLOCK_BYTES or x.size == 0:
        return run(np.ascontiguousarray(x), grad)
    return _by_planes(lambda block: run(np.ascontiguousarray(block), False)[0], x, rank), None


# Forward-only calls on inputs larger than this run a block of planes at a time (planes are
# independent), so that the elementwise power, an input-sized array, costs at most about this
# much beyond the output.


def _by_planes(compute: Callable[[np.ndarray], np.ndarray], x: np.ndarray, rank: int
               ) -> np.ndarray:
    """``compute`` on blocks of ``x``'s planes, each an unbatched ``(planes, *spatial)``
    view (blocks run along the last leading axis, so that a strided input, such as a
    channels-last one seen channels-first, is never copied whole), the results stacked back
    under ``x``'s leading axes."""
    lead = x.shape[: x.ndim - rank]
    plane_bytes = math.prod(x.shape[x.ndim - rank:]) * x.itemsize
    step = max(1, _threads.LP_BLOCK_BYTES // max(1, plane_bytes))
    out = None
    for outer in np.ndindex(*lead[:-1]):
        for start in range(0, lead[-1], step):
            part = (*outer, slice(start, start + step))
            y = compute(x[part])
            if out is None:
                out = np.empty(lead + y.shape[1:], y.dtype)
            out[part] = y
    assert out is not None
    return out


def _lp2_tiles(
    op: str, x: np.ndarray, kernel_size: Any, stride: Any, ceil_mode: Any, rank: int
) -> np.ndarray | None:
    """``lp_pool(x, 2)`` forward in one pass over ``x`` where its windows tile it (no
    overlap, no partial window), else None: `_lp_finite`'s bits without the array of
    squares."""
    xb, win, batched = _prepare(op, x, kernel_size, stride, 0, 1, ceil_mode, rank)
    out = kernels.lp2_forward(xb, win)
    return None if out is None else _args.unbatch(out, batched)


def _lp_extreme(
    op: str, x: np.ndarray, largest: bool, kernel_size: Any, stride: Any, ceil_mode: Any,
    rank: int, grad: bool,
) -> tuple[np.ndarray, Pullback | None]:
    """``max_pool(|x|)`` for ``+inf``, ``-max_pool(-|x|)`` for ``-inf``."""
    a = np.abs(x)
    src = a if largest else np.negative(a)
    m, pool_pullback = max_pool_impl(
        src, kernel_size, stride, 0, 1, ceil_mode, False, op=op, ndim=rank, grad=grad
    )
    out = m if largest else np.negative(m)
    if pool_pullback is None:
        return out, None
    sgn = _sign(x)  # abs backward: grad * sgn(x)

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, True)
        with np.errstate(all="ignore"):
            if largest:
                return pool_pullback(g) * sgn
            return np.negative(pool_pullback(np.negative(g))) * sgn

    return out, pullback


def _lp_finite(
    op: str, x: np.ndarray, p: int | float, volume: int, kernel_size: Any, stride: Any,
    ceil_mode: Any, rank: int, grad: bool,
) -> tuple[np.ndarray, Pullback | None]:
    """``(sign(out) * relu(|out|) * K) ** (1 / p)`` with ``out = avg_pool(x ** p)``."""
    powered = _pow_input(op, x, p)
    out, avg_pullback = avg_pool_impl(
        powered, kernel_size, stride, 0, ceil_mode, True, None, op=op, ndim=rank, grad=grad
    )
    zero = out.dtype.type(0)
    if avg_pullback is not None:  # kept for the pullback
        sg = _sign(out)
        relu = np.maximum(np.abs(out), zero)  # NaN stays NaN, as torch's relu
    # sign(out) * relu(|out|) is ``out`` itself but for -0.0, which becomes +0.0 (and a NaN
    # stays that NaN): one addition of zero, in place
    scaled = _mul_scalar(np.add(out, zero, out=out), volume)
    if scaled.dtype.kind in "iu":
        scaled = scaled.astype(np.float32)  # int ** float: torch's default dtype
    q = 1.0 / p
    y = _pow(scaled, q)
    if avg_pullback is None:
        return y, None
    # torch's pow backward: grad * (exponent * base.pow(exponent - 1)); the input's factor is
    # taken now, so that the pullback does not depend on the caller's array later on
    dy_dscaled = _mul_scalar(_pow(scaled, q - 1), q)
    dpowered_dx = _mul_scalar(_pow(x, p - 1), p)
    zero = y.dtype.type(0)

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, y, True)
        with np.errstate(all="ignore"):
            g_prod = _mul_scalar(g * dy_dscaled, volume)  # mul(K) backward
            g_relu = np.where(relu <= 0, zero, g_prod * sg)  # relu backward (NaN passes)
            g_out = g_relu * sg + zero  # abs backward (sgn), added to sign()'s zero gradient
            return avg_pullback(g_out) * dpowered_dx

    return y, pullback


_DOC_PARAMETERS = """
    Parameters
    ----------
    input : array_like
        ``(N, C, {spatial})`` or unbatched ``(C, {spatial})``; float16/32/64, bfloat16 or
        any integer dtype.
    norm_type : int or float
        The power ``p``, non-zero; ``inf`` gives the maximum of ``|x|`` and ``-inf`` the
        minimum. An int keeps integer inputs in integer arithmetic.
    kernel_size : int or tuple of int
        Window size per spatial dimension.
    stride : int or tuple of int, optional
        Step between windows; defaults to ``kernel_size``.
    ceil_mode : bool, default False
        Round the number of windows up; a partial window's power sum is scaled by
        ``kernel volume / cells in the input``, as in PyTorch.
    """ + CHANNELS_LAST + """

    Returns
    -------
    ndarray
        ``(sum of x ** p over the window) ** (1 / p)``, in the input dtype (float32 for
        integer input with a finite ``norm_type``).
""" + RAISES

_VALUE_ERROR = INPUT_SHAPE_ERROR + """; ``norm_type`` is 0, not positive
        for integer input, or past the input dtype's range; a size has the wrong length or is
        not positive; the windows leave no output cell"""


# The per-rank public forms are written out one by one, so that each keeps PyTorch's exact
# signature and its own docstring (help(), inspect, the API pages): repetition on purpose
# (docs/design.md, "Repetition kept on purpose").
@same_library
@differentiable(lp_pool_impl, ndim=1, window=sliding_window)
def lp_pool1d(
    input: Any,
    norm_type: Any,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """1D power-average pooling of ``(N, C, L)`` or ``(C, L)``, as torch's ``lp_pool1d``.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.functional import lp_pool1d
    >>> lp_pool1d(np.array([[3., 4., -1., 0.]]), 2, 2)
    array([[5., 1.]])
    >>> lp_pool1d(np.array([[3., 4., -1., 0.]]), float("inf"), 2)
    array([[4., 1.]])
    >>> lp_pool1d(np.array([[[1, 2, 3, 4]]]), 2, 2)  # integer power, truncating average
    array([[[2.       , 4.8989797]]], dtype=float32)
    """
    return lp_pool_impl(
        input, norm_type, kernel_size, stride, ceil_mode, channels_last=channels_last,
        op="lp_pool1d", ndim=1, grad=False,
    )[0]


@same_library
@differentiable(lp_pool_impl, ndim=2, window=sliding_window)
def lp_pool2d(
    input: Any,
    norm_type: Any,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """2D power-average pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's ``lp_pool2d``.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.functional import lp_pool2d
    >>> lp_pool2d(np.array([[[1., 2.], [2., 4.]]]), 2, 2)
    array([[[5.]]])
    >>> lp_pool2d(np.array([[[1., -2.], [2., 4.]]]), 1, 2)  # p = 1: the signed sum
    array([[[5.]]])
    """
    return lp_pool_impl(
        input, norm_type, kernel_size, stride, ceil_mode, channels_last=channels_last,
        op="lp_pool2d", ndim=2, grad=False,
    )[0]


@same_library
@differentiable(lp_pool_impl, ndim=3, window=sliding_window)
def lp_pool3d(
    input: Any,
    norm_type: Any,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """3D power-average pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's
    ``lp_pool3d``.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.functional import lp_pool3d
    >>> lp_pool3d(np.full((1, 2, 2, 2), 2.), 2, 2)
    array([[[[5.65685425]]]])
    >>> lp_pool3d(np.full((1, 2, 2, 2), -2.), float("-inf"), 2)
    array([[[[2.]]]])
    """
    return lp_pool_impl(
        input, norm_type, kernel_size, stride, ceil_mode, channels_last=channels_last,
        op="lp_pool3d", ndim=3, grad=False,
    )[0]


for _fn, _spatial in ((lp_pool1d, "L"), (lp_pool2d, "H, W"), (lp_pool3d, "D, H, W")):
    fill(_fn, parameters=_DOC_PARAMETERS, type_error=INPUT_TYPE_ERROR, value_error=_VALUE_ERROR,
         spatial=_spatial)
del _fn, _spatial
