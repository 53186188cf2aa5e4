"""Dealing an input row out to two or three column phases with vector shuffles.

`numba_phases` copies each input row of a band into its phase planes: at column stride
``s``, cell ``g + s * j + q`` goes to cell ``j`` of phase ``q``'s row. Written as a loop
over ``j``, LLVM turns stride 3 into one element at a time, so that the copy was most of a
stride-3 window sum's time. `DEAL3` takes one vector of ``j`` at a time: it loads the three
vectors of input cells the groups span, picks each phase's cells out of them with constant
shuffles (``shufflevector``, which LLVM lowers to two-source permutes), widens them to the
phase planes' dtype (the sums' dtype: uint8 or int16 cells into int64) and stores one
vector per phase; `DEAL2` does the same with two vectors and one shuffle a phase. The same
cells land in the same places: only the copy is faster.

Measured on the Intel Xeon, float32: a 57-cell row dealt in 15.7 ns before, 9.7 ns with
`DEAL3` (one thread, in cache); over whole calls, two threads, in `benchmarks/sweep.py
--ops avg` (medians of two alternated runs each), 6x6 windows at stride 3 with padding 3
on 8x64x57x57 0.595 -> 0.544 ms, 7x7 with padding 3 on 1x64x112x112 0.383 -> 0.311 ms,
the other windows 4 to 7 wide at stride 3 0.74-0.98 of their time. At stride 2, `DEAL2`,
each row's last vector ending at the row's end (over cells it already wrote), deals a row
faster than LLVM's own loop over ``j`` (with a cell-by-cell tail, as fast as that loop): a
band's fill, one thread, in cache, 16.3 -> 11.3 ns an input row for 5x5 windows with
padding 2 on 57-wide rows, 35.4 -> 27.2 ns for 7x7 with padding 3 on 112-wide rows.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numba.np.numpy_support import as_dtype

from .numba_registers import LANE_BYTES, fits, widen

__all__ = ["DEAL2", "DEAL3"]


def _deal(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    """``flat[a_q + j + i] = src[g + s * (j + i) + q]`` for ``q`` 0 to ``s - 1`` (``s``
    the number of starts ``a_q``, 2 or 3) and one vector of ``i``."""
    f_ty, s_ty = sig.args[0], sig.args[1]
    flat = context.make_array(f_ty)(context, builder, args[0])
    src = context.make_array(s_ty)(context, builder, args[1])
    g, j, *starts = (context.cast(builder, v, t, types.int64)
                     for v, t in zip(args[2:], sig.args[2:], strict=True))
    step = len(starts)
    lanes = LANE_BYTES // as_dtype(f_ty.dtype).itemsize
    narrow = ir.VectorType(context.get_value_type(s_ty.dtype), lanes)
    wide = ir.VectorType(context.get_value_type(f_ty.dtype), lanes)
    i64, i32 = ir.IntType(64), ir.IntType(32)
    first = builder.add(g, builder.mul(j, ir.Constant(i64, step)))
    parts = []
    for v in range(step):
        at = builder.gep(src.data, [builder.add(first, ir.Constant(i64, v * lanes))])
        parts.append(builder.load(builder.bitcast(at, narrow.as_pointer()),
                                  align=as_dtype(s_ty.dtype).itemsize))

    def mask(indices: list[int]) -> Any:
        return ir.Constant(ir.VectorType(i32, lanes), indices)

    for q, start in enumerate(starts):
        want = [q + step * i for i in range(lanes)]  # in the parts laid end to end
        # the first two parts' wanted cells (the places of a third's: any, here cell 0),
        # then a third part's over those places
        got = builder.shuffle_vector(parts[0], parts[1],
                                     mask([w if w < 2 * lanes else 0 for w in want]))
        if step == 3:
            got = builder.shuffle_vector(
                got, parts[2],
                mask([i if w < 2 * lanes else w - lanes for i, w in enumerate(want)]))
        value = widen(builder, got, s_ty.dtype, f_ty.dtype, wide)
        at = builder.gep(flat.data, [builder.add(start, j)])
        builder.store(value, builder.bitcast(at, wide.as_pointer()),
                      align=as_dtype(f_ty.dtype).itemsize)
    return context.get_dummy_value()


@intrinsic
def DEAL2(typingctx: Any, flat: Any, src: Any, g: Any, j: Any, a0: Any, a1: Any) -> Any:
    """``flat[a_q + j + i] = src[g + 2 * (j + i) + q]`` for the phases ``q`` 0 and 1 (their
    rows at ``a0``, ``a1``) and one vector of ``i``: as `DEAL3`."""
    if not fits(flat, src, (g, j, a0, a1)):
        return None
    return types.none(flat, src, g, j, a0, a1), _deal


@intrinsic
def DEAL3(typingctx: Any, flat: Any, src: Any, g: Any, j: Any, a0: Any, a1: Any,
          a2: Any) -> Any:
    """``flat[a_q + j + i] = src[g + 3 * (j + i) + q]`` for the phases ``q`` 0 to 2 (their
    rows at ``a0``, ``a1``, ``a2``) and one vector of ``i``: ``flat`` and ``src`` 1-d
    C-contiguous arrays of one kind of number, ``src`` no wider; no bounds are checked."""
    if not fits(flat, src, (g, j, a0, a1, a2)):
        return None
    return types.none(flat, src, g, j, a0, a1, a2), _deal
