"""A slow, obviously-correct max-unpooling reference: explicit Python loops, sharing no code
with poolnd, written from PyTorch's rules (``shared/research/pytorch-pooling-semantics.md``
section 9).

Arrays are ``(*lead, *spatial)`` with the trailing ``nd`` axes spatial; every leading index
is one plane.
"""

from __future__ import annotations

import numpy as np

__all__ = ["default_unpool_size_ref", "max_unpool_grad_ref", "max_unpool_ref"]


def default_unpool_size_ref(in_size, kernel, stride, padding):
    """``(in - 1) * stride - 2 * padding + kernel`` per spatial dimension."""
    return tuple(
        (n - 1) * s - 2 * p + k for n, k, s, p in zip(in_size, kernel, stride, padding)
    )


def max_unpool_ref(x, indices, out_spatial):
    """Zeros of ``x``'s dtype, then ``out[plane][unravel(idx)] = value`` in raster order.

    Later writes overwrite earlier ones (the last duplicate wins). An index outside
    ``[0, prod(out_spatial))`` raises IndexError, unless the output plane is empty: then
    nothing is written and nothing checked.
    """
    x = np.asarray(x)
    indices = np.asarray(indices)
    nd = len(out_spatial)
    lead = x.shape[: x.ndim - nd]
    out = np.zeros(lead + tuple(out_spatial), dtype=x.dtype.newbyteorder("="))
    size = int(np.prod(out_spatial))
    if size == 0:
        return out
    for li in np.ndindex(*lead):
        for pos in np.ndindex(*x.shape[x.ndim - nd:]):
            idx = int(indices[li + pos])
            if not 0 <= idx < size:
                raise IndexError(idx)
            target = tuple(int(q) for q in np.unravel_index(idx, out_spatial))
            out[li + target] = x[li + pos]
    return out


def max_unpool_grad_ref(grad_out, indices, nd):
    """``grad_in[plane][pos] = grad_out[plane][unravel(indices[plane][pos])]`` (a gather);
    zeros when the output plane is empty (the output does not depend on the input)."""
    grad_out = np.asarray(grad_out)
    indices = np.asarray(indices)
    lead = indices.shape[: indices.ndim - nd]
    out_spatial = grad_out.shape[grad_out.ndim - nd:]
    grad_in = np.zeros(indices.shape, dtype=grad_out.dtype)
    if 0 in out_spatial:
        return grad_in
    for li in np.ndindex(*lead):
        for pos in np.ndindex(*indices.shape[indices.ndim - nd:]):
            target = tuple(
                int(q) for q in np.unravel_index(int(indices[li + pos]), out_spatial)
            )
            grad_in[li + pos] = grad_out[li + target]
    return grad_in
