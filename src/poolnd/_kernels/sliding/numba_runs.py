"""Window sums whose kernel rows are runs of cells: each row's cells shifted out of vectors
already in registers rather than loaded one by one.

`numba_registers.ADD_BLOCK` adds every kernel cell to a block of outputs with one load per
vector and cell. Undilated, at column stride 1, the cells of a kernel row are consecutive:
cell ``c``'s vector for outputs ``m .. m + lanes - 1`` starts ``c`` cells after cell
``0``'s, so these loads start anywhere in a cache line, and nearly every 64-byte one spans
two lines. `ADD_RUNS` loads a kernel row's ``count + 1`` vectors once and takes each cell's
vectors out of neighbouring pairs of them with constant shuffles (``shufflevector``, a
two-register shift): one load per vector and kernel row, not per cell. At column stride 2
a kernel row's cells alternate between two phase planes, each a run there (cell ``c`` at
``c // 2`` in plane ``c % 2``): `ADD_RUNS2` loads both runs' vectors. The additions are
the same and in the same order (row after row, each row's cells left to right), so the
bits are the same.

Measured on the Intel Xeon, one thread, float32, the sums of 3072 outputs of a band in
cache (blocks of 8 vectors, best of 9 runs of 200): 7x7 windows 3.27 -> 2.66 us, 5x5 1.70
-> 1.34 us, 4x4 1.12 -> 0.88 us, 2x2 0.37 -> 0.31 us (whole kernel calls: in
`numba_phases`). Loading some cells and shifting others was slower than shifting all,
and a stride-3 form (three runs a row, half a block to fit the registers) was no faster
than the loads. The shuffles are used only with 64-byte vectors: LLVM makes each one an
AVX-512 two-register permute (``vpermt2ps``), where AVX2 has no one-instruction shift
across its 16-byte halves.
Numba's on-disk cache knows a kernel by its own file only: after a change here, clear the
cache of `numba_phases`, whose compiled code holds these.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np.numpy_support import as_dtype

from .numba_registers import (
    ACCUMULATORS,
    LANE_BYTES,
    address,
    fits,
    offsets,
    sums_in_registers,
    widen,
)

__all__ = ["ADD_RUNS", "ADD_RUNS2", "RUN_CELLS", "runs_pay"]

RUN_CELLS = 8  # the widest kernel row `ADD_RUNS` takes (its cells are unrolled)


def runs_pay(acc: np.ndarray, flat: np.ndarray) -> bool:
    """Whether `ADD_RUNS` is the faster way to add kernel rows of ``flat`` to ``acc``:
    float32 both, with 64-byte vectors (where it was measured). Compiled code calls its
    `overload`, a constant."""
    return LANE_BYTES == 64 and acc.dtype == flat.dtype == np.float32


@overload(runs_pay)
def _runs_pay(acc, flat):
    # (unannotated: Numba requires the implementations' parameters to match these exactly)
    pays = LANE_BYTES == 64 and acc.dtype == flat.dtype == types.float32
    return lambda acc, flat: pays


def _runs_adder(count: int, stride: int) -> Any:
    """The intrinsic adding every kernel row, its cells dealt to ``stride`` phase planes,
    to a block of ``count`` vectors."""

    @intrinsic
    def add_runs(typingctx: Any, acc: Any, flat: Any, rows: Any, kw: Any, m0: Any,
                 shift: Any) -> Any:
        """Add, for every kernel row ``a`` in order and in it every cell ``c < kw`` in
        order, ``flat[rows[a * stride + c % stride] + c // stride + shift + m]`` to
        ``acc[m]``, for the ``count`` vectors of outputs from ``m = m0``, in vector
        registers (``rows``: each row's first cell in each of the ``stride`` phase planes
        its cells are dealt to). ``acc`` and ``flat`` are C-contiguous 1-d arrays,
        ``flat``'s dtype the same kind as ``acc``'s and no wider (each vector widened once
        shifted), ``rows`` int64, ``stride <= kw <= min(RUN_CELLS, lanes)`` (the cells past
        that are not there); reads run to ``flat[rows[t] + shift + m0 + (count + 1) *
        lanes - 1]``, and no bounds are checked."""
        if not (fits(acc, flat, (kw, m0, shift)) and offsets(rows)):
            return None
        itemsize, source = as_dtype(acc.dtype).itemsize, as_dtype(flat.dtype).itemsize
        lanes = LANE_BYTES // itemsize
        floating = isinstance(acc.dtype, types.Float)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            a_ty, f_ty, r_ty, k_ty, m_ty, s_ty = sig.args
            a = context.make_array(a_ty)(context, builder, args[0])
            f = context.make_array(f_ty)(context, builder, args[1])
            r = context.make_array(r_ty)(context, builder, args[2])
            vec = ir.VectorType(context.get_value_type(a_ty.dtype), lanes)
            src = ir.VectorType(context.get_value_type(f_ty.dtype), lanes)
            i64, i32 = ir.IntType(64), ir.IntType(32)
            add = builder.fadd if floating else builder.add
            at = partial(address, builder)

            kw = context.cast(builder, args[3], k_ty, types.int64)
            first = context.cast(builder, args[4], m_ty, types.int64)
            shift = context.cast(builder, args[5], s_ty, types.int64)
            sums = sums_in_registers(builder, a.data, first, count, vec, itemsize)
            n_rows = builder.udiv(builder.extract_value(r.shape, 0), ir.Constant(i64, stride))
            with cgutils.for_range(builder, n_rows) as loop:
                phases = []  # each phase plane's ``count + 1`` vectors of the row
                for q in range(stride):
                    t = builder.add(builder.mul(loop.index, ir.Constant(i64, stride)),
                                    ir.Constant(i64, q))
                    base = builder.add(builder.load(builder.gep(r.data, [t])), shift)
                    base = builder.add(base, first)
                    phases.append([builder.load(at(f.data, builder.add(
                        base, ir.Constant(i64, v * lanes)), src), align=source)
                        for v in range(count + 1)])
                for c in range(min(RUN_CELLS, lanes)):
                    row, step = phases[c % stride], c // stride
                    mask = ir.Constant(ir.VectorType(i32, lanes),
                                       list(range(step, step + lanes)))
                    with builder.if_then(builder.icmp_signed("<", ir.Constant(i64, c), kw),
                                         likely=True):
                        for v, (slot, _) in enumerate(sums):
                            cell = row[v] if step == 0 else \
                                builder.shuffle_vector(row[v], row[v + 1], mask)
                            cell = widen(builder, cell, f_ty.dtype, a_ty.dtype, vec)
                            builder.store(add(builder.load(slot), cell), slot)
            for slot, here in sums:
                builder.store(builder.load(slot), at(a.data, here, vec), align=itemsize)
            return context.get_dummy_value()

        return types.none(acc, flat, rows, kw, m0, shift), codegen

    return add_runs


ADD_RUNS = _runs_adder(ACCUMULATORS, 1)  # stride 1: a block, each row one run
ADD_RUNS2 = _runs_adder(ACCUMULATORS, 2)  # stride 2: a block, each row two phases' runs
