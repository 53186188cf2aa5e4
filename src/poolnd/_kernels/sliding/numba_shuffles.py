"""Dealing an input row out to three column phases with vector shuffles.

`numba_phases` copies each input row of a band into its phase planes: at column stride 3,
cell ``g + 3 * j + q`` goes to cell ``j`` of phase ``q``'s row. Written as a loop over
``j``, LLVM turns stride 2 into shuffles but stride 3 into one element at a time, so that
the copy was most of a stride-3 window sum's time. `DEAL3` takes one vector of ``j`` at a
time: it loads the three vectors of input cells the groups span, picks each phase's cells
out of them with constant shuffles (``shufflevector``, which LLVM lowers to two-source
permutes), widens them to the phase planes' dtype (the sums' dtype: uint8 or int16 cells
into int64) and stores one vector per phase. The same cells land in the same places: only
the copy is faster. Written the same way, stride 2 ran slower than LLVM's own loop (5x5
windows at stride 2 with padding 2 on 8x64x57x57, two threads: 0.48-0.52 -> 0.58 ms), so it
keeps that loop.

Measured on the Intel Xeon, float32: a 57-cell row dealt in 15.7 ns before, 9.7 ns with
`DEAL3` (one thread, in cache); over whole calls, two threads, in `benchmarks/sweep.py
--ops avg` (medians of two alternated runs each), 6x6 windows at stride 3 with padding 3
on 8x64x57x57 0.595 -> 0.544 ms, 7x7 with padding 3 on 1x64x112x112 0.383 -> 0.311 ms,
the other windows 4 to 7 wide at stride 3 0.74-0.98 of their time.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numba.np.numpy_support import as_dtype

from .numba_registers import LANE_BYTES, fits, widen

__all__ = ["DEAL3"]


def _deal3(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    """``flat[a_q + j + i] = src[g + 3 * (j + i) + q]`` for ``q`` 0 to 2 and one vector of
    ``i``."""
    f_ty, s_ty = sig.args[0], sig.args[1]
    flat = context.make_array(f_ty)(context, builder, args[0])
    src = context.make_array(s_ty)(context, builder, args[1])
    g, j, *starts = (context.cast(builder, v, t, types.int64)
                     for v, t in zip(args[2:], sig.args[2:], strict=True))
    lanes = LANE_BYTES // as_dtype(f_ty.dtype).itemsize
    narrow = ir.VectorType(context.get_value_type(s_ty.dtype), lanes)
    wide = ir.VectorType(context.get_value_type(f_ty.dtype), lanes)
    i64, i32 = ir.IntType(64), ir.IntType(32)
    first = builder.add(g, builder.mul(j, ir.Constant(i64, 3)))
    parts = []
    for v in range(3):
        at = builder.gep(src.data, [builder.add(first, ir.Constant(i64, v * lanes))])
        parts.append(builder.load(builder.bitcast(at, narrow.as_pointer()),
                                  align=as_dtype(s_ty.dtype).itemsize))

    def mask(indices: list[int]) -> Any:
        return ir.Constant(ir.VectorType(i32, lanes), indices)

    for q, start in enumerate(starts):
        want = [q + 3 * i for i in range(lanes)]  # in the three parts laid end to end
        # the first two parts' wanted cells (the places of the third's: any, here cell 0),
        # then the third part's over those places
        got = builder.shuffle_vector(parts[0], parts[1],
                                     mask([w if w < 2 * lanes else 0 for w in want]))
        got = builder.shuffle_vector(
            got, parts[2], mask([i if w < 2 * lanes else w - lanes for i, w in enumerate(want)]))
        value = widen(builder, got, s_ty.dtype, f_ty.dtype, wide)
        at = builder.gep(flat.data, [builder.add(start, j)])
        builder.store(value, builder.bitcast(at, wide.as_pointer()),
                      align=as_dtype(f_ty.dtype).itemsize)
    return context.get_dummy_value()


@intrinsic
def DEAL3(typingctx: Any, flat: Any, src: Any, g: Any, j: Any, a0: Any, a1: Any,
          a2: Any) -> Any:
    """``flat[a_q + j + i] = src[g + 3 * (j + i) + q]`` for the phases ``q`` 0 to 2 (their
    rows at ``a0``, ``a1``, ``a2``) and one vector of ``i``: ``flat`` and ``src`` 1-d
    C-contiguous arrays of one kind of number, ``src`` no wider; no bounds are checked."""
    if not fits(flat, src, (g, j, a0, a1, a2)):
        return None
    return types.none(flat, src, g, j, a0, a1, a2), _deal3
