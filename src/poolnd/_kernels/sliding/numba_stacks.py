"""Window sums at stride 1 for a stack of output rows at once: each input row's shifted
vectors made once and added to every output row whose window holds it.

`numba_runs.ADD_RUNS` sums a block of consecutive outputs: for each kernel row it loads
that row's vectors and shifts each cell's vectors out of them, so an input row's shifted
vectors are made again for each of the ``kh`` output rows that read it. Undilated at
stride 1 (both axes), output row ``t`` adds input row ``t + a`` as its kernel row ``a``.
`SUM_STACK` keeps the sums of ``STACK_ROWS`` output rows by ``STACK_VECTORS`` vectors of
columns in registers and walks the input rows down the stack once: for each input row it
loads its vectors, makes each cell's shifted vectors once and adds them to every output row
of the stack whose window holds that row. Each output still receives its kernel rows in
order, each row's cells left to right, one addition each from ``+0``: the same bits as
`ADD_RUNS`. Which output rows take an input row is fixed by the row's place in the stack
and ``kh``, so the stack is unrolled for each ``kh`` from 2 to ``STACK_KH`` (one intrinsic
each) and carries no test per addition.

Measured on the Intel Xeon, one thread, float32, in cache, 56 output rows of 63 (7x7), 61
(5x5) or 60 (4x4) columns summed (best of 9 runs of 200): `ADD_RUNS` 2.96, 1.40, 0.99 us;
stacks of 8 rows by 2 vectors 1.92, 0.98, 0.65 us. Stacks of 4 rows by 2 vectors took
0.72-0.73 of `ADD_RUNS`' time, of 8 rows by 1 vector 0.72-0.80, of 4 rows by 3 vectors
more than `ADD_RUNS`. Like `ADD_RUNS` this needs 64-byte vectors (AVX-512's
two-register permutes); `stack_rows` does nothing elsewhere, nor for other dtypes. Numba's
on-disk cache knows a kernel by its own file only: after a change here, clear the cache of
`numba_phases`, whose compiled code holds these.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ..jit import SERIAL
from .numba_ahead import PREFETCH_READ, PREFETCH_WRITE
from .numba_registers import LANE_BYTES, address, fits
from .numba_runs import RUN_CELLS

__all__ = ["STACK_KH", "STACK_ROWS", "STACK_VECTORS", "stack_rows"]

STACK_ROWS = 8  # output rows a stack sums at once
STACK_VECTORS = 2  # vectors of columns a stack sums at once
STACK_KH = 7  # the tallest window a stack takes (one unrolled intrinsic per height)


def _stack_summer(kh: int) -> Any:
    """The intrinsic summing a stack of windows ``kh`` rows tall."""

    @intrinsic
    def sum_stack(typingctx: Any, acc: Any, flat: Any, wq: Any, kw: Any, m0: Any,
                  shift: Any) -> Any:
        """Store at ``acc[m0 + t * wq + m]``, for the ``STACK_ROWS`` rows ``t`` and the
        ``STACK_VECTORS`` vectors of ``m`` from 0, the sum from ``+0`` of ``flat[shift +
        m0 + (t + a) * wq + c + m]`` over the kernel rows ``a < kh`` in order and in each
        the cells ``c < kw`` in order. ``acc`` and ``flat`` are C-contiguous 1-d float32
        arrays, ``1 <= kw <= RUN_CELLS``; reads run to ``flat[shift + m0 + (STACK_ROWS +
        kh - 2) * wq + (STACK_VECTORS + 1) * lanes - 1]``, and no bounds are checked."""
        if not (fits(acc, flat, (wq, kw, m0, shift)) and acc.dtype == flat.dtype
                == types.float32):
            return None
        lanes = LANE_BYTES // 4

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            a = context.make_array(sig.args[0])(context, builder, args[0])
            f = context.make_array(sig.args[1])(context, builder, args[1])
            vec = ir.VectorType(ir.FloatType(), lanes)
            i64, i32 = ir.IntType(64), ir.IntType(32)
            wq, kw, first, shift = (context.cast(builder, v, t, types.int64)
                                    for v, t in zip(args[2:], sig.args[2:], strict=True))

            def at(data: Any, offset: Any) -> Any:
                return address(builder, data, offset, vec)

            def cells(u: int, v: int) -> Any:  # flat offset of row ``u``'s vector ``v``
                row = builder.add(builder.add(first, shift), builder.mul(wq, ir.Constant(i64, u)))
                return builder.add(row, ir.Constant(i64, v * lanes))

            sums = [[cgutils.alloca_once(builder, vec) for _ in range(STACK_VECTORS)]
                    for _ in range(STACK_ROWS)]  # (promoted to registers by LLVM)
            for row in sums:
                for slot in row:
                    builder.store(ir.Constant(vec, [0.0] * lanes), slot)
            for u in range(STACK_ROWS + kh - 1):  # input rows, down the stack
                takers = [t for t in range(STACK_ROWS) if 0 <= u - t < kh]
                loaded = [builder.load(at(f.data, cells(u, v)), align=4)
                          for v in range(STACK_VECTORS + 1)]
                for c in range(RUN_CELLS):
                    mask = ir.Constant(ir.VectorType(i32, lanes), list(range(c, c + lanes)))
                    with builder.if_then(builder.icmp_signed("<", ir.Constant(i64, c), kw),
                                         likely=True):
                        shifted = [loaded[v] if c == 0 else
                                   builder.shuffle_vector(loaded[v], loaded[v + 1], mask)
                                   for v in range(STACK_VECTORS)]
                        for t in takers:
                            for v, slot in enumerate(sums[t]):
                                builder.store(builder.fadd(builder.load(slot), shifted[v]), slot)
            for t, row in enumerate(sums):
                for v, slot in enumerate(row):
                    out = builder.add(builder.add(first, builder.mul(wq, ir.Constant(i64, t))),
                                      ir.Constant(i64, v * lanes))
                    builder.store(builder.load(slot), at(a.data, out), align=4)
            return context.get_dummy_value()

        return types.none(acc, flat, wq, kw, m0, shift), codegen

    return sum_stack


_SUM_STACK = {kh: _stack_summer(kh) for kh in range(2, STACK_KH + 1)}
_WIDTH = STACK_VECTORS * (LANE_BYTES // 4)  # columns a stack sums (float32)


@nb.njit(**SERIAL)
def _takes(kh, kw, wq):  # pragma: no cover - compiled, and called from Python too
    """Whether stacks take a window ``kh`` by ``kw`` over rows of ``wq`` sums (the dtype
    and the vectors' width are checked apart)."""
    return 2 <= kh <= STACK_KH and 2 <= kw <= RUN_CELLS and wq >= _WIDTH


def stack_rows(acc: np.ndarray, flat: np.ndarray, wq: int, kh: int, kw: int, rows: int,
               shift: int, readable: int, src: np.ndarray, dst: np.ndarray,
               ahead: np.ndarray) -> int:
    """Sum the first rows of a band by stacks; return how many (a multiple of
    `STACK_ROWS`, 0 where stacks do not apply).

    The band: ``rows`` output rows of ``wq`` sums in ``acc``, output ``m`` (flat) the sum
    from ``+0`` of ``flat[shift + a * wq + c + m]`` over ``a < kh``, ``c < kw`` in row-major
    order (stride 1, undilated). Stacks take rows while a whole stack fits below ``rows`` and
    its reads, which run ``(STACK_VECTORS + 1) * lanes - 1`` cells past the start of the
    stack's last input row's last column vector, stay within ``readable`` rows of ``flat``
    from ``shift`` (the row after them included: reads may run into it). They apply to
    float32 with 64-byte vectors, ``2 <= kh <= STACK_KH``, ``2 <= kw <= RUN_CELLS`` and
    rows of at least ``STACK_VECTORS`` vectors. After each stack, compiled code prefetches
    its share of ``src[ahead[0]:ahead[1]]`` (to read: the next band's input) and of
    ``dst[ahead[2]:ahead[3]]`` (to write: this band's outputs), each spread evenly over the
    stacks (`numba_ahead`). Compiled code calls its `overload`; this is the same sums in
    NumPy, one addition at a time, and prefetches nothing."""
    if not (LANE_BYTES == 64 and acc.dtype == flat.dtype == np.float32 and _takes(kh, kw, wq)):
        return 0
    done = 0
    while done + STACK_ROWS <= rows and done + STACK_ROWS + kh - 1 < readable:
        for t in range(done, done + STACK_ROWS):
            s = np.zeros(wq, np.float32)
            for a in range(kh):
                for c in range(kw):
                    at = shift + (t + a) * wq + c
                    s = s + flat[at:at + wq]
            acc[t * wq:(t + 1) * wq] = s
        done += STACK_ROWS
    return done


@overload(stack_rows)
def _stack_rows(acc, flat, wq, kh, kw, rows, shift, readable, src, dst, ahead):
    # (unannotated: Numba requires the implementations' parameters to match these exactly)
    if not (LANE_BYTES == 64 and acc.dtype == flat.dtype == types.float32):
        return lambda acc, flat, wq, kh, kw, rows, shift, readable, src, dst, ahead: 0
    width = _WIDTH
    s2, s3, s4, s5, s6, s7 = (_SUM_STACK[h] for h in range(2, STACK_KH + 1))

    def by_stacks(acc, flat, wq, kh, kw, rows, shift, readable, src, dst, ahead):
        if not _takes(kh, kw, wq):
            return 0
        stacks = max(1, rows // STACK_ROWS * ((wq + width - 1) // width))
        r_at, r_end, w_at, w_end = ahead[0], ahead[1], ahead[2], ahead[3]
        r_step = (r_end - r_at + stacks - 1) // stacks
        w_step = (w_end - w_at + stacks - 1) // stacks
        done = 0
        while done + STACK_ROWS <= rows and done + STACK_ROWS + kh - 1 < readable:
            col = 0
            while col < wq:  # (the last stack of columns ends at the row's end: some twice)
                m0 = done * wq + min(col, wq - width)
                if kh == 2:
                    s2(acc, flat, wq, kw, m0, shift)
                elif kh == 3:
                    s3(acc, flat, wq, kw, m0, shift)
                elif kh == 4:
                    s4(acc, flat, wq, kw, m0, shift)
                elif kh == 5:
                    s5(acc, flat, wq, kw, m0, shift)
                elif kh == 6:
                    s6(acc, flat, wq, kw, m0, shift)
                else:
                    s7(acc, flat, wq, kw, m0, shift)
                PREFETCH_READ(src, r_at, min(r_end, r_at + r_step))
                PREFETCH_WRITE(dst, w_at, min(w_end, w_at + w_step))
                r_at, w_at = r_at + r_step, w_at + w_step
                col += width
            done += STACK_ROWS
        return done

    return by_stacks
