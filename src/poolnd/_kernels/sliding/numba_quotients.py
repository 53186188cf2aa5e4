"""Float32 window sums divided by a whole-number divisor: a reciprocal product and one
correction, the same bits as the division in a bit over half its time.

An average pooling's last step divides every sum by its divisor (``x / d + 0``). A vector
division is slow on x86 (one 16-lane ``vdivps`` about every ten cycles on the Intel Xeon
this project measures on), and over windows of 4x4 to 7x7 at stride 1 it was up to a fifth
of `numba_phases`' time. `QUOTIENTS` gives the same quotients from the float32 reciprocal
``r = 1 / d`` (itself correctly rounded) with two fused multiply-adds, one vector at a time:

    q0 = x * r;  e = fma(-q0, d, x);  q = fma(e, r, q0)

``q0`` is within an ulp of ``x / d``, so the residual ``e`` is exact, and the corrected
``q`` is ``x / d`` rounded to nearest (Markstein's theorem; see Muller et al., *Handbook of
Floating-Point Arithmetic*, on division by fused multiply-add). That holds while nothing
underflows or overflows, so a vector holding any ``|x|`` outside ``[2**-60, 2**100]``
other than zero (an infinity, a NaN, a tiny or huge sum) takes the division instead, lane
by lane. Zeros keep their place: ``+-0`` gives ``+0`` either way, after the ``+ 0`` that
every quotient takes (PyTorch adds into a zeroed output).

The theorem is not taken on trust: for every whole divisor ``d`` from 1 to
`EXACT_DIVISORS` and every float32 significand of ``x`` (``x`` in ``[2**23, 2**24)``; the
exponent only scales the quotient while it stays normal, which the range guard ensures), and
in the binades at both ends of that range, the quotient was checked against the division,
bit for bit: 3 x 4096 x 2**23 quotients, none differing. `tests/kernels/test_quotients.py`
repeats it for a sample of divisors, and for all of them in the fuzz profile (``-m
fuzz``, about 45 s), and checks the guarded lanes' special values. Other divisors (a
divisor override of another size, a fraction) divide as before, in `divide_run`.

Measured on the Intel Xeon, one thread, float32: 0.086 ns a quotient against the
division's 0.151 (a 4096-cell run in L1, divisor 25). `numba_phases` alone on (8, 64, 57,
57), two alternated runs: 4x4 windows with padding 2 1.63-1.67 -> 1.52-1.57 ms, 5x5 without
padding 1.42-1.44 -> 1.33-1.37 ms, 7x7 with padding 3 2.94-2.98 -> 2.87-2.88 ms. In
`benchmarks/sweep.py --ops avg` (two threads, two alternated runs of each tree) the
averages of windows 4 to 7 wide at stride 1 took 0.95 of their time (geometric mean), the
3x3 kernel's, which does not use this, 1.01.
Numba's on-disk cache knows a kernel by its own file only: after a change here, clear the
cache of `numba_phases`, whose compiled code holds these.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .numba_registers import LANE_BYTES, splat

__all__ = ["EXACT_DIVISORS", "LANES", "QUOTIENTS", "divide_run"]

EXACT_DIVISORS = 4096  # whole divisors 1 .. this, each checked for every significand
LANES = LANE_BYTES // 4  # float32 lanes of a vector
_LOW, _HIGH = 2.0 ** -60, 2.0 ** 100  # |x| where no step underflows or overflows
_U = types.uint64  # (unsigned indices: no wrap-around check per cell, as in `numba_rows`)


@intrinsic
def QUOTIENTS(typingctx: Any, dst: Any, d0: Any, src: Any, s0: Any, d: Any, r: Any) -> Any:
    """``dst[d0 + i] = src[s0 + i] / d + 0`` for one vector of ``i`` (``LANES``), float32,
    from ``r``, float32 ``1 / d``: exact for a whole ``d`` from 1 to `EXACT_DIVISORS`
    (lanes whose ``|x|`` is outside the guarded range divided). ``dst`` and ``src`` are
    1-d C-contiguous float32 arrays (the same one allowed); no bounds are checked."""
    if not all(isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C"
               and a.dtype == types.float32 for a in (dst, src)):
        return None
    if not (d == types.float32 and r == types.float32
            and all(isinstance(o, types.Integer) for o in (d0, s0))):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        out = context.make_array(sig.args[0])(context, builder, args[0])
        inp = context.make_array(sig.args[2])(context, builder, args[2])
        vec = ir.VectorType(ir.FloatType(), LANES)
        lane_bits = ir.IntType(LANES)

        def same(value: float) -> Any:
            return ir.Constant(vec, [value] * LANES)

        def at(data: Any, index: Any, ty: Any) -> Any:
            offset = context.cast(builder, index, ty, types.int64)
            return builder.bitcast(builder.gep(data, [offset]), vec.as_pointer())

        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vec, [vec, vec, vec]), f"llvm.fma.v{LANES}f32")
        fabs = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vec, [vec]), f"llvm.fabs.v{LANES}f32")
        x = builder.load(at(inp.data, args[3], sig.args[3]), align=4)
        dv, rv = splat(builder, vec, args[4]), splat(builder, vec, args[5])
        q0 = builder.fmul(x, rv)
        q = builder.call(fma, [builder.call(fma, [builder.fneg(q0), dv, x]), rv, q0])
        size = builder.call(fabs, [x])
        inside = builder.and_(builder.fcmp_ordered("<=", size, same(_HIGH)),
                              builder.or_(builder.fcmp_ordered(">=", size, same(_LOW)),
                                          builder.fcmp_ordered("==", x, same(0.0))))
        outside = builder.not_(inside)  # (NaN compares false: outside)
        slot = cgutils.alloca_once_value(builder, q)
        guarded = builder.icmp_unsigned("!=", builder.bitcast(outside, lane_bits),
                                        ir.Constant(lane_bits, 0))
        with builder.if_then(guarded, likely=False):
            builder.store(builder.select(outside, builder.fdiv(x, dv), q), slot)
        result = builder.fadd(builder.load(slot), same(0.0))
        builder.store(result, at(out.data, args[1], sig.args[1]), align=4)
        return context.get_dummy_value()

    return types.none(dst, d0, src, s0, d, r), codegen


def divide_run(dst: np.ndarray, d0: int, src: np.ndarray, s0: int, n: int, d: Any) -> None:
    """``dst[d0 + i] = src[s0 + i] / d + 0`` for ``i < n`` (float sums; ``dst`` may be
    ``src``): by `QUOTIENTS` for float32 and a whole ``d`` from 1 to `EXACT_DIVISORS`, else
    by division. Compiled code calls its `overload`."""
    for i in range(n):
        dst[d0 + i] = src[s0 + i] / d + 0


@overload(divide_run)
def _divide_run(dst, d0, src, s0, n, d):
    # (unannotated: Numba requires the implementations' parameters to match these exactly)
    if dst.dtype == types.float32 and src.dtype == types.float32 and d == types.float32:
        def by_reciprocal(dst, d0, src, s0, n, d):
            whole = 0
            if 1 <= d <= EXACT_DIVISORS and d == np.floor(d):
                r = np.float32(1) / d
                whole = n - n % LANES
                for i in range(0, whole, LANES):
                    QUOTIENTS(dst, d0 + i, src, s0 + i, d, r)
            for i in range(whole, n):
                dst[_U(d0 + i)] = src[_U(s0 + i)] / d + np.float32(0)
        return by_reciprocal

    def by_division(dst, d0, src, s0, n, d):
        for i in range(n):
            dst[_U(d0 + i)] = src[_U(s0 + i)] / d + 0
    return by_division
