"""Window sums kept in vector registers: every kernel cell added to a block of outputs in
one pass.

`numba_phases` used to add a window's kernel cells to a band of outputs three cells a pass,
each pass a loop that loads and stores the running sums. Here `ADD_BLOCK` takes a block of
``ACCUMULATORS`` vectors of consecutive outputs (128 float32 sums with 64-byte vectors),
keeps its running sums in vector registers, adds every kernel cell to them in turn (one load
and one addition per vector and cell) and stores them once; `ADD_VECTOR` does the same for
one vector, for a band's last outputs. LLVM's loop vectoriser does not keep sums in
registers across a loop over the kernel cells, so these are written as LLVM vector
operations (``@intrinsic``), ``LANE_BYTES`` wide: 64 bytes where the CPU Numba compiles for
has AVX-512, else 32.

Exactness. Each output's cells are added in the order of ``cells`` (the caller's row-major
order), one addition each, lane by lane: the same additions in the same order as a loop over
the cells, so the same bits. The cells may be of a narrower dtype of the same kind than the
sums (input rows read in place: uint8 or int16 cells into int64 sums), each widened
exactly as it is loaded.

A block may run past the band's last output to the end of its last vector (at most
``LANE_BYTES`` bytes): the caller's arrays hold that slack, and what is computed there is
never read.

Measured on the Intel Xeon, one thread, float32, 7x7 windows over 112-wide rows (the band
in cache): 37 G additions a second by three-cell passes, 50 G in registers; over the whole
kernel, an ``avg_pool2d(x, 7, 1)`` of a (1, 64, 112, 112) array 1.51 -> 1.18 ms warm and
1.71-1.76 -> 1.26-1.28 ms right after other work (`benchmarks/sweep.py` has the effect at
two threads). Numba's on-disk cache knows a kernel by its own file only: after a change
here, clear the cache of ``numba_phases`` (its caller), whose compiled code holds these.

`ADD_TILES` keeps the sums of a row of tiles (`numba_tiles`' sums, windows 5 to 7 wide) in
a register the same way, a vector of outputs at a time, gathering each kernel column's
cells at the stride (``llvm.masked.gather``; the last vector masked): one thread, float32,
``avg_pool2d(x, 5)`` of an (8, 64, 57, 57) array 1.18-1.30 -> 0.61 ms, against the cells
added one at a time by a function called a row. Windows 8 wide or more gathered slower on
rows of up to 8 outputs (8x8 tiles on 56-wide planes: 0.86 ms, against 0.70 for that loop
and 0.47-0.49 for the same loop addressing the input by offsets), and keep the loop. Each
lane's first cell comes from a table, so that one vector can hold the tiles of several short
rows (`numba_tiles._pack`); `MAX_TILES` is the same fold with PyTorch's max rule (the new
cell taken when greater or NaN) for the addition. `SUM_WINDOWS` and `MAX_WINDOWS` fold
whole windows the same way (`numba_gathers`, small planes): each lane's window offsets
inside the input given as bits, the others masked off the gathers.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic
from numba.np.numpy_support import as_dtype

__all__ = ["ACCUMULATORS", "ADD_BLOCK", "ADD_TILES", "ADD_VECTOR", "AXIS_BITS", "LANE_BYTES",
           "MAX_TILES", "MAX_WINDOWS", "SUM_WINDOWS", "address", "fits", "masked_moves",
           "offsets", "splat", "suffix", "sums_in_registers", "widen"]

ACCUMULATORS = 8  # vectors a block keeps in registers (of AVX-512's 32)


def _lane_bytes() -> int:
    """A vector's bytes: 64 where the CPU Numba compiles for (``NUMBA_CPU_FEATURES``, else
    this machine's) has AVX-512, else 32."""
    features: str | None = getattr(config, "CPU_FEATURES", None)
    if features is not None:
        return 64 if "+avx512f" in features.split(",") else 32
    return 64 if llvm.get_host_cpu_features().get("avx512f", False) else 32


LANE_BYTES = _lane_bytes()


def fits(target: Any, source: Any, offsets: tuple[Any, ...]) -> bool:
    """Whether a vector intrinsic may read ``source`` into ``target``: both 1-d C-contiguous
    arrays of one kind of number, the source no wider, and integer ``offsets``."""
    if not all(isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C"
               for a in (target, source)):
        return False
    if not any(isinstance(target.dtype, k) and isinstance(source.dtype, k)
               for k in (types.Float, types.Integer)):
        return False
    return (as_dtype(source.dtype).itemsize <= as_dtype(target.dtype).itemsize
            and all(isinstance(o, types.Integer) for o in offsets))


def offsets(t: Any) -> bool:
    """Whether ``t`` is the type of a 1-d C-contiguous int64 array (an intrinsic's table of
    offsets)."""
    return isinstance(t, types.Array) and t.ndim == 1 and t.layout == "C" \
        and t.dtype == types.int64


def address(builder: Any, data: Any, offset: Any, kind: Any) -> Any:
    """A pointer to a ``kind`` (an LLVM type: a vector) at element ``offset`` of the array
    data ``data``."""
    return builder.bitcast(builder.gep(data, [offset]), kind.as_pointer())


def sums_in_registers(builder: Any, data: Any, first: Any, count: int, vec: Any,
                      itemsize: int) -> list[tuple[Any, Any]]:
    """The ``count`` vectors (LLVM type ``vec``) of sums from element ``first`` (an i64) of
    the array data ``data``, each loaded into a slot that LLVM keeps in a register: a list
    of (slot, element offset)."""
    sums = []
    for v in range(count):
        slot = cgutils.alloca_once(builder, vec)  # (promoted to a register by LLVM)
        here = builder.add(first, ir.Constant(ir.IntType(64), v * vec.count))
        builder.store(builder.load(address(builder, data, here, vec), align=itemsize), slot)
        sums.append((slot, here))
    return sums


def suffix(dtype: Any) -> str:
    """The element part of an LLVM vector intrinsic's name (``f32``, ``i8``, ...) for the
    Numba type ``dtype``."""
    return f"{'f' if isinstance(dtype, types.Float) else 'i'}{dtype.bitwidth}"


def masked_moves(builder: Any, vec: Any, dtype: Any) -> tuple[Any, Any]:
    """LLVM's masked load and store of the vector type ``vec`` of ``dtype`` numbers
    (``llvm.masked.load``, ``llvm.masked.store``), declared in ``builder``'s module."""
    i32, mvec = ir.IntType(32), ir.VectorType(ir.IntType(1), vec.count)
    name = f"v{vec.count}{suffix(dtype)}.p0"
    load = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vec, [vec.as_pointer(), i32, mvec, vec]),
        f"llvm.masked.load.{name}")
    store = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [vec, vec.as_pointer(), i32, mvec]),
        f"llvm.masked.store.{name}")
    return load, store


def splat(builder: Any, vec: Any, value: Any) -> Any:
    """The vector type ``vec`` with ``value`` in every lane."""
    i32 = ir.IntType(32)
    one = builder.insert_element(ir.Constant(vec, ir.Undefined), value, ir.Constant(i32, 0))
    return builder.shuffle_vector(one, ir.Constant(vec, ir.Undefined),
                                  ir.Constant(ir.VectorType(i32, vec.count), [0] * vec.count))


def widen(builder: Any, value: Any, source: Any, target: Any, vec: Any) -> Any:
    """The vector ``value`` of ``source`` numbers as ``target`` numbers (``vec``): floats
    extended, integers sign- or zero-extended (the sum dtypes of the phase kernel)."""
    if source == target:
        return value
    if isinstance(target, types.Float):
        return builder.fpext(value, vec)
    return builder.sext(value, vec) if source.signed else builder.zext(value, vec)


def _adder(count: int) -> Any:
    """The intrinsic adding every kernel cell to a block of ``count`` vectors."""

    @intrinsic
    def add_cells(typingctx: Any, acc: Any, flat: Any, cells: Any, m0: Any, shift: Any) -> Any:
        """Add ``flat[cells[t] + shift + m]`` for every ``t`` in order to ``acc[m]``, for the
        ``count`` vectors of outputs from ``m = m0``, in vector registers. ``acc`` and
        ``flat`` are C-contiguous 1-d arrays, ``flat``'s dtype the same kind as ``acc``'s and
        no wider (each cell widened as it is loaded), ``cells`` int64; no bounds are
        checked."""
        if not (fits(acc, flat, (m0, shift)) and offsets(cells)):
            return None
        itemsize, source = as_dtype(acc.dtype).itemsize, as_dtype(flat.dtype).itemsize
        lanes = LANE_BYTES // itemsize
        floating = isinstance(acc.dtype, types.Float)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            a_ty, f_ty, c_ty, m_ty, s_ty = sig.args
            a = context.make_array(a_ty)(context, builder, args[0])
            f = context.make_array(f_ty)(context, builder, args[1])
            c = context.make_array(c_ty)(context, builder, args[2])
            vec = ir.VectorType(context.get_value_type(a_ty.dtype), lanes)
            src = ir.VectorType(context.get_value_type(f_ty.dtype), lanes)
            add = builder.fadd if floating else builder.add
            at = partial(address, builder)
            first = context.cast(builder, args[3], m_ty, types.int64)
            shift = context.cast(builder, args[4], s_ty, types.int64)
            regs = sums_in_registers(builder, a.data, first, count, vec, itemsize)
            with cgutils.for_range(builder, builder.extract_value(c.shape, 0)) as loop:
                base = builder.add(builder.load(builder.gep(c.data, [loop.index])), shift)
                for slot, here in regs:
                    v = builder.load(at(f.data, builder.add(base, here), src), align=source)
                    v = widen(builder, v, f_ty.dtype, a_ty.dtype, vec)
                    builder.store(add(builder.load(slot), v), slot)
            for slot, here in regs:
                builder.store(builder.load(slot), at(a.data, here, vec), align=itemsize)
            return context.get_dummy_value()

        return types.none(acc, flat, cells, m0, shift), codegen

    return add_cells


ADD_BLOCK = _adder(ACCUMULATORS)  # a block: ``ACCUMULATORS`` vectors
ADD_VECTOR = _adder(1)  # one vector, for a band's last outputs


def _combine(kind: str, dtype: Any) -> Any:
    """``(builder, cur, got) -> new``: the running sum's addition (``kind`` ``'add'``) or
    PyTorch's max rule, ``got`` taken when greater than ``cur`` or NaN (``'max'``), on
    vectors of ``dtype`` numbers."""
    floating = isinstance(dtype, types.Float)
    if kind == "add":
        return lambda b, cur, got: b.fadd(cur, got) if floating else b.add(cur, got)

    def take(b: Any, cur: Any, got: Any) -> Any:
        if floating:
            mask = b.or_(b.fcmp_ordered(">", got, cur), b.fcmp_unordered("uno", got, got))
        else:
            greater = b.icmp_signed if dtype.signed else b.icmp_unsigned
            mask = greater(">", got, cur)
        return b.select(mask, got, cur)

    return take


def _folding(kind: str, acc: Any, flat: Any) -> tuple[int, int, int, Any] | None:
    """For folding ``flat``'s cells into ``acc`` (Numba array types) by ``kind``: the sums'
    and the cells' itemsizes, the lanes of a vector and the fold (`_combine`); None for max
    over two dtypes."""
    if kind == "max" and acc.dtype != flat.dtype:
        return None
    itemsize = as_dtype(acc.dtype).itemsize
    return itemsize, as_dtype(flat.dtype).itemsize, LANE_BYTES // itemsize, \
        _combine(kind, acc.dtype)


def _gathers(context: Any, builder: Any, sig: Any, args: Any, lanes: int) -> tuple[Any, ...]:
    """What a gathering intrinsic's code needs, for its first two operands ``acc`` and
    ``flat``: their arrays, the vector types of ``lanes`` sums (``vec``), cells (``src``) and
    int64 offsets (``ivec``), the masked gather of cells from a vector of addresses
    (``llvm.masked.gather``), and the masked load and store of sums (`masked_moves`)."""
    a_ty, f_ty = sig.args[0], sig.args[1]
    a = context.make_array(a_ty)(context, builder, args[0])
    f = context.make_array(f_ty)(context, builder, args[1])
    i64, i32 = ir.IntType(64), ir.IntType(32)
    vec = ir.VectorType(context.get_value_type(a_ty.dtype), lanes)
    src = ir.VectorType(context.get_value_type(f_ty.dtype), lanes)
    ivec, mvec = ir.VectorType(i64, lanes), ir.VectorType(ir.IntType(1), lanes)
    pvec = ir.VectorType(f.data.type, lanes)
    gather = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(src, [pvec, i32, mvec, src]),
        f"llvm.masked.gather.v{lanes}{suffix(f_ty.dtype)}.v{lanes}p0")
    load, store = masked_moves(builder, vec, a_ty.dtype)
    return a, f, vec, src, ivec, pvec, gather, load, store


def _folder(kind: str) -> Any:
    """The intrinsic folding tiles' cells into their outputs by ``kind`` (`_combine`):
    `ADD_TILES`, `MAX_TILES`."""

    def tiles(typingctx: Any, acc: Any, flat: Any, starts: Any, shift: Any, kw: Any,
              n: Any) -> Any:
        folding = _folding(kind, acc, flat)
        if not (fits(acc, flat, (shift, kw, n)) and offsets(starts)) or folding is None:
            return None
        itemsize, source, lanes, combine = folding

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            a, f, vec, src, ivec, pvec, gather, load, store = _gathers(
                context, builder, sig, args, lanes)
            at0 = context.make_array(sig.args[2])(context, builder, args[2])
            first, step, count = (context.cast(builder, v, t, types.int64)
                                  for v, t in zip(args[3:], sig.args[3:], strict=True))
            i64, i32 = ir.IntType(64), ir.IntType(32)
            f_ty, a_ty = sig.args[1], sig.args[0]
            steps = builder.load(address(builder, at0.data, ir.Constant(i64, 0), ivec), align=8)
            base = builder.ptrtoint(f.data, i64)
            size = ir.Constant(i64, source)
            vectors = builder.udiv(builder.add(count, ir.Constant(i64, lanes - 1)),
                                   ir.Constant(i64, lanes))
            slot = cgutils.alloca_once(builder, vec)
            with cgutils.for_range(builder, vectors) as outer:
                j = builder.mul(outer.index, ir.Constant(i64, lanes))
                mask = builder.icmp_signed("<", ir.Constant(ivec, list(range(lanes))),
                                           splat(builder, ivec, builder.sub(count, j)))
                here = address(builder, a.data, j, vec)
                builder.store(builder.call(load, [here, ir.Constant(i32, itemsize), mask,
                                                  ir.Constant(vec, ir.Undefined)]), slot)
                start = builder.add(first, builder.mul(j, step))
                with cgutils.for_range(builder, step) as inner:
                    cells = builder.add(steps, splat(builder, ivec,
                                                     builder.add(start, inner.index)))
                    at = builder.add(splat(builder, ivec, base), builder.mul(cells, splat(
                        builder, ivec, size)))
                    got = builder.call(gather, [builder.inttoptr(at, pvec),
                                                ir.Constant(i32, source), mask,
                                                ir.Constant(src, ir.Undefined)])
                    got = widen(builder, got, f_ty.dtype, a_ty.dtype, vec)
                    builder.store(combine(builder, builder.load(slot), got), slot)
                builder.call(store, [builder.load(slot), here, ir.Constant(i32, itemsize),
                                     mask])
            return context.get_dummy_value()

        return types.none(acc, flat, starts, shift, kw, n), codegen

    return intrinsic(tiles)


ADD_TILES = _folder("add")
ADD_TILES.__doc__ = """Add ``flat[at(j) + c]`` for ``c`` 0 to ``kw - 1`` in order to ``acc[j]``,
for ``j < n``, where ``at(j) = starts[j % lanes] + shift + (j // lanes) * lanes * kw``
(``lanes``: a vector's numbers): tiles ``kw`` cells wide summed into their outputs, a vector
of outputs at a time, each kernel column's cells gathered (the last vector masked). With
``starts`` ``0, kw, 2 * kw, ...`` that is a row of tiles from ``shift``; other ``starts`` pack
the tiles of several short rows into one vector (``n`` at most ``lanes`` then). The same
additions in the same order as a loop over ``j`` and ``c``. ``acc`` and ``flat`` as
`ADD_BLOCK`'s, ``starts`` an int64 array of ``lanes`` offsets; no bounds are checked."""
MAX_TILES = _folder("max")
MAX_TILES.__doc__ = """`ADD_TILES` with PyTorch's max rule for the addition: each cell taken
into ``acc[j]`` when greater or NaN, in the same order (``acc`` and ``flat`` of one dtype)."""


# where `FOLD_WINDOWS`' lane bits for each axis of the window start: a window's offsets
# along depth, rows and columns inside the input, one bit each (so at most 21 an axis)
AXIS_BITS = 21


def _window_folder(kind: str) -> Any:
    """The intrinsic folding whole windows, a vector of them at a time, by ``kind``
    (`_combine`): `SUM_WINDOWS`, `MAX_WINDOWS`."""

    def windows(typingctx: Any, acc: Any, flat: Any, starts: Any, bits: Any, steps: Any,
                n: Any) -> Any:
        folding = _folding(kind, acc, flat)
        if not (fits(acc, flat, (n,)) and offsets(starts) and offsets(bits)
                and offsets(steps)) or folding is None:
            return None
        itemsize, source, lanes, combine = folding

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            a, f, vec, src, ivec, pvec, gather, load, store = _gathers(
                context, builder, sig, args, lanes)
            at0, lane_bits, step = (context.make_array(t)(context, builder, v)
                                    for t, v in zip(sig.args[2:5], args[2:5], strict=True))
            count = context.cast(builder, args[5], sig.args[5], types.int64)
            i64, i32 = ir.IntType(64), ir.IntType(32)
            f_ty, a_ty = sig.args[1], sig.args[0]
            kd, kh, kw, sd, sh, sw = (builder.load(builder.gep(step.data, [ir.Constant(i64, t)]))
                                      for t in range(6))
            first = builder.load(address(builder, at0.data, ir.Constant(i64, 0), ivec), align=8)
            inside = builder.load(address(builder, lane_bits.data, ir.Constant(i64, 0), ivec),
                                  align=8)
            live = builder.icmp_signed("<", ir.Constant(ivec, list(range(lanes))),
                                       splat(builder, ivec, count))
            base = splat(builder, ivec, builder.ptrtoint(f.data, i64))
            size = splat(builder, ivec, ir.Constant(i64, source))
            one, zero = ir.Constant(ivec, [1] * lanes), ir.Constant(ivec, [0] * lanes)
            here = address(builder, a.data, ir.Constant(i64, 0), vec)
            slot = cgutils.alloca_once(builder, vec)
            builder.store(builder.call(load, [here, ir.Constant(i32, itemsize), live,
                                              ir.Constant(vec, ir.Undefined)]), slot)

            def axis(mask: Any, index: Any, shift: int) -> Any:
                bit = builder.and_(builder.lshr(inside, splat(builder, ivec, builder.add(
                    index, ir.Constant(i64, shift)))), one)
                return builder.and_(mask, builder.icmp_unsigned("!=", bit, zero))

            with cgutils.for_range(builder, kd) as depth:
                m_d = axis(live, depth.index, 0)
                at_d = builder.mul(depth.index, sd)
                with cgutils.for_range(builder, kh) as row:
                    m_h = axis(m_d, row.index, AXIS_BITS)
                    at_h = builder.add(at_d, builder.mul(row.index, sh))
                    with cgutils.for_range(builder, kw) as col:
                        mask = axis(m_h, col.index, 2 * AXIS_BITS)
                        cells = builder.add(first, splat(builder, ivec, builder.add(
                            at_h, builder.mul(col.index, sw))))
                        at = builder.add(base, builder.mul(cells, size))
                        cur = builder.load(slot)
                        # (a lane outside the window's cells gets +0 to add, or for max its
                        # own value: taken again, a no-op)
                        keep = cur if kind == "max" else ir.Constant(src, None)
                        got = builder.call(gather, [builder.inttoptr(at, pvec),
                                                    ir.Constant(i32, source), mask, keep])
                        got = widen(builder, got, f_ty.dtype, a_ty.dtype, vec)
                        builder.store(combine(builder, cur, got), slot)
            builder.call(store, [builder.load(slot), here, ir.Constant(i32, itemsize), live])
            return context.get_dummy_value()

        return types.none(acc, flat, starts, bits, steps, n), codegen

    return intrinsic(windows)


SUM_WINDOWS = _window_folder("add")
SUM_WINDOWS.__doc__ = """Add to ``acc[j]``, ``j < n`` (at most a vector), the cells of window
``j``: ``flat[starts[j] + a * steps[3] + b * steps[4] + c * steps[5]]`` for ``a <
steps[0]``, ``b < steps[1]``, ``c < steps[2]`` in that (row-major) order, those whose bits
``a``, ``AXIS_BITS + b`` and ``2 * AXIS_BITS + c`` of ``bits[j]`` are all set (the cells
inside the input; the others add +0), each cell gathered for all the windows at once.
``starts``, ``bits``, ``steps`` int64 arrays; no bounds are checked."""
MAX_WINDOWS = _window_folder("max")
MAX_WINDOWS.__doc__ = """`SUM_WINDOWS` with PyTorch's max rule for the addition (each cell
taken when greater or NaN; cells outside the input skipped), ``acc`` and ``flat`` of one
dtype."""
