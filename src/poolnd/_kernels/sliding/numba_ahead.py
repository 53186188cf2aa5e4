"""Asking the L2 cache for lines ahead of use: a band's next input and its outputs, a slice
at a time between the band's sums.

`numba_phases` works a band at a time: it copies the band's input rows (a burst of reads),
sums them in registers (no memory traffic), then divides and copies the sums out (a burst
of writes, each output line first read for ownership). Where the input and outputs are not
in this core's caches, as after another library's call on other data, each burst waits on
memory while the sums wait on the bursts. So while a band is summed by stacks
(`numba_stacks`), each stack is followed by a prefetch of its share of the next band's
input lines (`PREFETCH_READ`) and of this band's output lines (`PREFETCH_WRITE`), so that
they are there when the bursts come. One burst of prefetches per band was slower (it fills
the core's miss buffers and stalls the sums); slices of a few lines between stacks are
not. A prefetch changes no value: it only moves lines between caches.

Measured on the Intel Xeon, two threads, float32, stride-1 windows over (8, 64, 57, 57)
and (1, 64, 112, 112), each call right after torch's ``avg_pool2d`` of a copy of the input
(alternated with the kernel before, in one process, medians of 60): 0.69-0.86 of the time;
called back to back, 0.91-0.97 (2x2 windows 1.14). Prefetching the input alone took
0.90-0.95 of the time after torch, the outputs alone 0.75-0.89.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .numba_registers import fits

__all__ = ["PREFETCH_READ", "PREFETCH_WRITE"]

_LINE = 64  # bytes a cache line holds


def _prefetcher(write: int) -> Any:
    """The intrinsic asking L2 for ``a[start:stop]``'s lines (for writing if ``write``)."""

    @intrinsic
    def prefetch(typingctx: Any, a: Any, start: Any, stop: Any) -> Any:
        """Prefetch the cache lines of ``a[start:stop]`` (a C-contiguous 1-d array) into
        L2; nothing where ``stop <= start``. No bounds are checked: a prefetch of an address
        outside the array never faults, but callers keep within it."""
        if not fits(a, a, (start, stop)):
            return None

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            arr = context.make_array(sig.args[0])(context, builder, args[0])
            i8p, i32, i64 = ir.IntType(8).as_pointer(), ir.IntType(32), ir.IntType(64)
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                "llvm.prefetch.p0i8")
            lo = context.cast(builder, args[1], sig.args[1], types.int64)
            hi = context.cast(builder, args[2], sig.args[2], types.int64)
            with builder.if_then(builder.icmp_signed(">", hi, lo)):
                first = builder.ptrtoint(builder.gep(arr.data, [lo]), i64)
                end = builder.ptrtoint(builder.gep(arr.data, [hi]), i64)
                first = builder.and_(first, ir.Constant(i64, -_LINE))
                lines = builder.udiv(builder.add(builder.sub(end, first),
                                                 ir.Constant(i64, _LINE - 1)),
                                     ir.Constant(i64, _LINE))
                with cgutils.for_range(builder, lines) as loop:
                    at = builder.add(first, builder.mul(loop.index, ir.Constant(i64, _LINE)))
                    # (locality 2: L2 and outward; 1: the data cache)
                    builder.call(fn, [builder.inttoptr(at, i8p), ir.Constant(i32, write),
                                      ir.Constant(i32, 2), ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.none(a, start, stop), codegen

    return prefetch


PREFETCH_READ = _prefetcher(0)
PREFETCH_WRITE = _prefetcher(1)
