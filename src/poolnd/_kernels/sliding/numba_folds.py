"""Max folds of two or three rows written as vector operations, the row's end a masked
vector.

`numba_rows`' max kernel folds a window's input rows into one padded row, then that row's
columns into an output row, two or three rows a pass: ``m = v if (v > m) | (v != v) else
m``, in order. Written as loops, LLVM vectorises them sixteen float32 cells at a time, four
vectors an iteration, so that a row shorter than 64 cells (the 57-wide planes of
`benchmarks/sweep.py`, the 28- to 56-wide output rows of the stride-2 windows) runs in the
loop's slower remainder. `FOLD2` and `FOLD3` take a row a vector at a time and its last
cells as one masked vector (masked loads and store, AVX-512's own; without AVX-512 one
cell at a time, since AVX2's masked store is microcoded on AMD's Zen), with the same
comparison and selection per lane, so the same bits: the first of equal values kept (which
zero of ``-0`` and ``+0``), and the last NaN of the fold taken (its payload).

Measured on the Intel Xeon, one thread, float32, a fold of three rows into one, in cache:
10.7-11.0 -> 7.0 ns a 57-cell row, 7.1 -> 3.6 ns a 28-cell row, 16.0 -> 11.0 ns a 112-cell
row. Numba's on-disk cache knows a kernel by its own file only: after a change here, clear
the cache of `numba_rows`, whose compiled code holds these.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.numpy_support import as_dtype

from .numba_registers import LANE_BYTES, fits, masked_moves, splat

__all__ = ["FOLD2", "FOLD3"]


def _fold(rows: int, dst: Any, d0: Any, rest: tuple[Any, ...]) -> Any:
    """The signature and code of a fold of ``rows`` sources (``rest``: array, offset per
    source, then the count), or None where the operands do not fit: 1-d C-contiguous
    arrays of one dtype, integer offsets and count."""
    arrays, offsets, n = rest[0:2 * rows:2], (d0, *rest[1:2 * rows:2]), rest[2 * rows]
    if not all(fits(dst, a, (*offsets, n)) and a.dtype == dst.dtype for a in arrays):
        return None
    dtype = dst.dtype
    itemsize = as_dtype(dtype).itemsize
    lanes = LANE_BYTES // itemsize
    floating = isinstance(dtype, types.Float)
    masked_end = LANE_BYTES >= 64  # AVX-512's masked moves (AVX2's are slow on AMD's Zen)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        i64, i32 = ir.IntType(64), ir.IntType(32)
        vec = ir.VectorType(context.get_value_type(dtype), lanes)
        ivec = ir.VectorType(i64, lanes)
        align = ir.Constant(i32, itemsize)
        masked_load, masked_store = masked_moves(builder, vec, dtype)
        # (destination first, then the sources: data pointers and starting offsets)
        at = [0, *range(2, 2 + 2 * rows, 2)]
        data = [context.make_array(sig.args[i])(context, builder, args[i]).data for i in at]
        start = [context.cast(builder, args[i + 1], sig.args[i + 1], types.int64) for i in at]
        count = context.cast(builder, args[-1], sig.args[-1], types.int64)

        def place(t: int, j: Any) -> Any:
            return builder.bitcast(builder.gep(data[t], [builder.add(start[t], j)]),
                                   vec.as_pointer())

        def folded(values: list[Any]) -> Any:
            m = values[0]
            for v in values[1:]:  # v if (v > m) | (v != v) else m, lane by lane
                if floating:
                    take = builder.or_(builder.fcmp_ordered(">", v, m),
                                       builder.fcmp_unordered("uno", v, v))
                elif dtype.signed:
                    take = builder.icmp_signed(">", v, m)
                else:
                    take = builder.icmp_unsigned(">", v, m)
                m = builder.select(take, v, m)
            return m

        whole = builder.udiv(count, ir.Constant(i64, lanes))
        with cgutils.for_range(builder, whole) as loop:
            j = builder.mul(loop.index, ir.Constant(i64, lanes))
            values = [builder.load(place(t, j), align=itemsize) for t in range(1, rows + 1)]
            builder.store(folded(values), place(0, j), align=itemsize)
        j = builder.mul(whole, ir.Constant(i64, lanes))
        left = builder.sub(count, j)
        if not masked_end:  # (no AVX-512: the last cells one at a time)
            with cgutils.for_range(builder, left) as loop:
                at = builder.add(j, loop.index)
                values = [builder.load(builder.gep(data[t], [builder.add(start[t], at)]))
                          for t in range(1, rows + 1)]
                builder.store(folded(values), builder.gep(data[0], [builder.add(start[0], at)]))
            return context.get_dummy_value()
        with builder.if_then(builder.icmp_signed(">", left, ir.Constant(i64, 0))):
            mask = builder.icmp_signed("<", ir.Constant(ivec, list(range(lanes))),
                                       splat(builder, ivec, left))
            values = [builder.call(masked_load, [place(t, j), align, mask,
                                                 ir.Constant(vec, ir.Undefined)])
                      for t in range(1, rows + 1)]
            builder.call(masked_store, [folded(values), place(0, j), align, mask])
        return context.get_dummy_value()

    return types.none(dst, d0, *rest), codegen


@intrinsic
def FOLD2(typingctx: Any, dst: Any, d0: Any, a: Any, a0: Any, b: Any, b0: Any,
          n: Any) -> Any:
    """``dst[d0 + i] = fold(a[a0 + i], b[b0 + i])`` for ``i < n``: the later value where it
    is greater or NaN, else the earlier (PyTorch's max rule). One dtype throughout; no
    bounds are checked."""
    return _fold(2, dst, d0, (a, a0, b, b0, n))


@intrinsic
def FOLD3(typingctx: Any, dst: Any, d0: Any, a: Any, a0: Any, b: Any, b0: Any, c: Any,
          c0: Any, n: Any) -> Any:
    """``dst[d0 + i] = fold(fold(a[a0 + i], b[b0 + i]), c[c0 + i])`` for ``i < n``, as
    `FOLD2`."""
    return _fold(3, dst, d0, (a, a0, b, b0, c, c0, n))
