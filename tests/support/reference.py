"""A slow, obviously-correct pooling reference: explicit Python loops over every window.

Written from PyTorch's rules (see ``shared/research/pytorch-pooling-semantics.md``), sharing
no code with poolnd. Every function takes ``(*lead, *spatial)`` arrays, where the trailing
``len(kernel)`` axes are spatial, and loops over the leading axes plane by plane.

Max: the running maximum starts at ``-inf`` (the dtype's minimum for integers); a cell replaces
it when it is greater or NaN; the index starts at the window's first in-bounds cell. A window
with no in-bounds cell (poolnd's documented departure) gives the lowest value and index -1.

Average: window cells are summed one at a time in row-major order, in float32 (float64 for
float64 input) or exactly in Python ints for integer input, then divided once; a zero result
is +0.0 (torch never returns -0.0 from average pooling of a contiguous tensor).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "acc_type",
    "avg_pool_grad_ref",
    "avg_pool_ref",
    "has_empty_window",
    "max_pool_grad_ref",
    "max_pool_ref",
    "out_len_ref",
]


def out_len_ref(
    length: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, dilation: int, ceil: bool
) -> int:
    """Number of windows, counted by walking them one by one.

    Window ``o`` spans input positions ``[o*stride - pad_lo, o*stride - pad_lo + span)``.
    Floor mode keeps it iff it ends inside the padded input. Ceil mode keeps it iff it starts
    before the right padding and the window before it did not already reach the padded end.
    """
    span = (kernel - 1) * dilation + 1
    count = 0
    while True:
        start = count * stride - pad_lo
        if ceil:
            keep = start < length and start - stride + span < length + pad_hi
        else:
            keep = start + span <= length + pad_hi
        if not keep:
            return count
        count += 1


def _positions(o, kernel, stride, padding, dilation):
    """Row-major list of (in-window offset, input position) of output position ``o``."""
    for offset in itertools.product(*(range(k) for k in kernel)):
        yield tuple(
            oi * s - p + j * d for oi, s, p, j, d in zip(o, stride, padding, offset, dilation)
        )


def _inside(pos, shape) -> bool:
    return all(0 <= q < n for q, n in zip(pos, shape))


def _geometry(x, kernel, stride, padding, dilation, ceil):
    nd = len(kernel)
    stride = tuple(kernel) if stride is None else tuple(stride)
    spatial = x.shape[x.ndim - nd:]
    out = tuple(
        out_len_ref(n, k, s, p, p, d, ceil)
        for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)
    )
    return stride, spatial, x.shape[: x.ndim - nd], out


def max_pool_ref(x, kernel, stride=None, padding=None, dilation=None, ceil=False):
    """Max pooling by brute force: ``(values, int64 plane-flat indices)``."""
    x = np.asarray(x)
    nd = len(kernel)
    padding = tuple(padding) if padding is not None else (0,) * nd
    dilation = tuple(dilation) if dilation is not None else (1,) * nd
    stride, spatial, lead, out = _geometry(x, kernel, stride, padding, dilation, ceil)
    is_float = x.dtype.kind == "f"
    lowest = x.dtype.type(-np.inf if is_float else np.iinfo(x.dtype).min)
    values = np.empty(lead + out, dtype=x.dtype)
    indices = np.empty(lead + out, dtype=np.int64)
    for li in np.ndindex(*lead):
        plane = x[li]
        for o in np.ndindex(*out):
            best, best_index = lowest, -1
            for pos in _positions(o, kernel, stride, padding, dilation):
                if not _inside(pos, spatial):
                    continue
                v = plane[pos]
                flat = int(np.ravel_multi_index(pos, spatial))
                if best_index == -1:
                    best_index = flat
                if v > best or (is_float and np.isnan(v)):
                    best, best_index = v, flat
            values[li + o] = best
            indices[li + o] = best_index
    return values, indices


def max_pool_grad_ref(grad_out, indices, in_shape, nd):
    """Scatter-add ``grad_out`` to its indices, output raster order, in its dtype; -1: nowhere."""
    grad_out = np.asarray(grad_out)
    spatial = tuple(in_shape[len(in_shape) - nd:])
    lead = tuple(in_shape[: len(in_shape) - nd])
    grad = np.zeros(tuple(in_shape), dtype=grad_out.dtype)
    for li in np.ndindex(*lead):
        for o in np.ndindex(*grad_out.shape[len(lead):]):
            idx = int(indices[li + o])
            if idx >= 0:
                pos = np.unravel_index(idx, spatial)
                grad[li + tuple(int(q) for q in pos)] += grad_out[li + o]
    return grad


def acc_type(dtype: np.dtype):
    """PyTorch's accumulator for an average: float32 for float16/32, float64; ints exact."""
    if dtype.kind == "f":
        return np.float64 if dtype == np.float64 else np.float32
    return int


def _divisor(o, kernel, stride, padding, spatial, count_include_pad, divisor_override):
    if divisor_override is not None:
        return divisor_override
    padded = valid = 1
    for oi, k, s, p, n in zip(o, kernel, stride, padding, spatial):
        start = oi * s - p
        end = min(start + k, n + p)  # a ceil-mode overhang past the padding is not counted
        padded *= end - start
        valid *= min(end, n) - max(start, 0)
    return padded if count_include_pad else valid


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def avg_pool_ref(
    x, kernel, stride=None, padding=None, ceil=False, count_include_pad=True,
    divisor_override=None,
):
    """Average pooling by brute force, in the input dtype."""
    x = np.asarray(x)
    nd = len(kernel)
    padding = tuple(padding) if padding is not None else (0,) * nd
    stride, spatial, lead, out = _geometry(x, kernel, stride, padding, (1,) * nd, ceil)
    acc_t = acc_type(x.dtype)
    result = np.empty(lead + out, dtype=x.dtype)
    with np.errstate(all="ignore"):
        for li in np.ndindex(*lead):
            plane = x[li]
            for o in np.ndindex(*out):
                total = acc_t(0)
                for pos in _positions(o, kernel, stride, padding, (1,) * nd):
                    if _inside(pos, spatial):
                        total = acc_t(total + acc_t(plane[pos]))
                div = _divisor(o, kernel, stride, padding, spatial, count_include_pad,
                               divisor_override)
                if acc_t is int:
                    q = _trunc_div(total, div)
                    result[li + o] = np.array(q, dtype=np.int64).astype(x.dtype)
                else:
                    # torch adds the quotient to a zero-initialised output, so a quotient of
                    # -0.0 (zero sum over a negative divisor, or underflow) comes out as +0.0
                    result[li + o] = x.dtype.type(total / acc_t(div)) + x.dtype.type(0)
    return result


def avg_pool_grad_ref(
    grad_out, in_shape, kernel, stride=None, padding=None, ceil=False, count_include_pad=True,
    divisor_override=None,
):
    """Per output in raster order, ``g / divisor`` (in g's dtype) added to each window cell."""
    grad_out = np.asarray(grad_out)
    nd = len(kernel)
    padding = tuple(padding) if padding is not None else (0,) * nd
    stride = tuple(kernel) if stride is None else tuple(stride)
    spatial = tuple(in_shape[len(in_shape) - nd:])
    lead = tuple(in_shape[: len(in_shape) - nd])
    out = grad_out.shape[len(lead):]
    assert out == tuple(
        out_len_ref(n, k, s, p, p, 1, ceil) for n, k, s, p in zip(spatial, kernel, stride, padding)
    )
    t = grad_out.dtype.type
    grad = np.zeros(tuple(in_shape), dtype=grad_out.dtype)
    with np.errstate(all="ignore"):
        for li in np.ndindex(*lead):
            for o in np.ndindex(*out):
                div = _divisor(o, kernel, stride, padding, spatial, count_include_pad,
                               divisor_override)
                delta = t(grad_out[li + o] / t(div))
                for pos in _positions(o, kernel, stride, padding, (1,) * nd):
                    if _inside(pos, spatial):
                        grad[li + pos] = t(grad[li + pos] + delta)
    return grad


def has_empty_window(x_shape, kernel, stride, padding, dilation, ceil) -> bool:
    """Whether some max window has no in-bounds cell (poolnd: value lowest, index -1)."""
    nd = len(kernel)
    stride = tuple(kernel) if stride is None else tuple(stride)
    spatial = tuple(x_shape[len(x_shape) - nd:])
    for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
        for o in range(out_len_ref(n, k, s, p, p, d, ceil)):
            if not any(0 <= o * s - p + j * d < n for j in range(k)):
                return True
    return False

