"""Lazy, exact pooling of Dask arrays: each output block from exactly the input it needs.

Every block runs the NumPy op itself, so every value (and index) is the NumPy path's, bit
for bit, for any chunking. Two plans:

* **Sliding windows** (max, average, min, sum, generic and LP pooling). Along each spatial
  axis an output block holds the windows that *start* in one input chunk, so block
  boundaries sit on window starts (multiples of the stride, less the low padding): the
  chunks are realigned to the stride. A block reads its region of the input from the start
  of its first window to the end of its last, re-based to a multiple of the stride: its
  chunk, a halo of up to ``(kernel - 1) * dilation`` cells to the right and of under
  ``low padding + stride`` cells to the left, cut out of the neighbouring chunks by small
  tasks of their own. It is pooled with the op's own arguments and the padding given per
  side, so the windows it keeps never touch the region's cut edges: padding applies only
  at the array's true borders. Indices become flat positions in the whole ``(n, c)`` plane
  (-1 stays -1). A task holds about one chunk plus its halos, and the outputs.
* **Whole planes**: every other op (adaptive, fractional, global and blur pooling,
  unpooling, and any op registered later until it joins `_sliding_impls`): one task per
  chunk of the batch and channel axes, with every spatial axis whole, so a task holds that
  many whole planes.

Gradients (`poolnd.vjp`) are lazy and exact too: a sliding-window gradient block is the
NumPy pullback over the region that every window touching the block reads, fed with the
gradients of exactly those windows (the rest zero), so each cell sums the same terms in
the same order as in memory; whole-plane ops pull back plane by plane.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _args, _threads
from .._registry import Entry, entry_of, numpy_vjp
from .convert import is_foreign, to_numpy

__all__ = ["pool", "vjp"]

Region = tuple[tuple[int, int], ...]


# --------------------------------------------------------------------------------------------
# what kind of op, which axes


def _dummy(shape: Sequence[int], dtype: Any) -> np.ndarray:
    """A read-only zero array of any shape that takes no memory (for checks and metadata)."""
    return np.broadcast_to(np.zeros((), dtype=dtype), tuple(shape))


def _is_dask(value: Any) -> bool:
    import dask.array as da

    return isinstance(value, da.Array)


@dataclass(frozen=True)
class _Layout:
    """Which axes of the input are spatial, and which batch/channel ("lead") axes."""

    spatial: tuple[int, ...]
    lead: tuple[int, ...]


def _layout(ndim_in: int, rank: int, channels_last: bool) -> _Layout:
    lead_count = ndim_in - rank
    if channels_last:
        lead = (*tuple(range(lead_count - 1)), ndim_in - 1)
        spatial = tuple(range(lead_count - 1, ndim_in - 1))
    else:
        lead, spatial = tuple(range(lead_count)), tuple(range(lead_count, ndim_in))
    return _Layout(spatial, lead)


@dataclass
class _Call:
    """One call on a Dask input, checked: the op, its arguments, the input."""

    fn: Callable[..., Any]
    op: str
    entry: Entry
    input_name: str
    x: Any
    args: dict[str, Any]  # everything but the input
    shaped: dict[str, Any] = field(default_factory=dict)  # arrays shaped like the input
    samples: np.ndarray | None = None  # fractional pooling's draws, (N, C, nd)

    @property
    def channels_last(self) -> bool:
        return self.args.get("channels_last") is True


def _prepare_call(fn: Callable[..., Any], entry: Entry, arguments: dict[str, Any]) -> _Call:
    import dask.array as da

    input_name = entry.input_name
    x = arguments[input_name]
    op = entry.op
    if not _is_dask(x):
        raise TypeError(
            f"{op}(): with a Dask array among the arguments the input must be a Dask array "
            f"too; got {type(x).__name__}"
        )
    if any(math.isnan(c) for chunks in x.chunks for c in chunks):
        raise ValueError(
            f"{op}(): input is a Dask array with unknown chunk sizes {x.chunks}; call "
            f"x.compute_chunk_sizes() first"
        )
    if type(x._meta) is not np.ndarray:
        raise TypeError(
            f"{op}(): input must be a Dask array of NumPy chunks; got chunks of "
            f"{type(x._meta).__module__}.{type(x._meta).__name__}"
        )
    call = _Call(fn, op, entry, input_name, x,
                 {k: v for k, v in arguments.items() if k != input_name})
    for name, value in list(call.args.items()):
        if name == "_random_samples":
            continue
        if _is_dask(value) or isinstance(value, np.ndarray):
            if tuple(value.shape) == tuple(x.shape):
                call.shaped[name] = value if _is_dask(value) else da.from_array(
                    value, chunks=x.chunks)
                del call.args[name]
            elif _is_dask(value):
                raise ValueError(
                    f"{op}(): {name} may be a Dask array only when it has the input's shape "
                    f"{x.shape}; got shape {value.shape}"
                )
    return call


# --------------------------------------------------------------------------------------------
# sliding-window geometry along one axis


@dataclass(frozen=True)
class _Axis:
    """One spatial axis of a sliding-window op: output ``o`` reads cells ``o * stride - lo``
    to ``o * stride - lo + extent - 1`` of ``length``."""

    length: int
    extent: int
    stride: int
    lo: int
    out: int

    def start(self, o: int) -> int:
        return o * self.stride - self.lo

    def _rebase(self, oa: int, limit: int) -> int:
        """First output ``m`` of a region re-based to ``m * stride``: the windows kept, from
        ``oa`` on, must not reach the region's left cut; ``m * stride <= limit``."""
        clean = oa - (-(-self.lo // self.stride))
        return max(0, min(clean, limit // self.stride))

    def forward_blocks(self, bounds: list[int]) -> list[tuple[int, int, int, int, int]]:
        """Per output block ``(oa, ob, m, a, b)``: the windows ``oa <= o < ob`` that start in
        one input chunk (the first block also those starting in the low padding, the last
        those in the high padding) and the region ``[a, b)`` they read, ``a = m * stride``."""
        firsts = [0] + [min(self.out, -(-(b + self.lo) // self.stride)) for b in bounds[1:-1]]
        edges = sorted(set(firsts) | {self.out})
        blocks = []
        for oa, ob in itertools.pairwise(edges):
            m = self._rebase(oa, self.length - 1)
            b = min(self.length, max(self.start(ob - 1) + self.extent, m * self.stride + 1))
            blocks.append((oa, ob, m, m * self.stride, b))
        return blocks

    def backward_block(self, lo_cell: int, hi_cell: int) -> tuple[int, int, int, int, int]:
        """For input cells ``[lo_cell, hi_cell)``: the outputs ``[oa, ob)`` whose windows reach
        them and the region ``[a, b)`` (``a = m * stride``) those windows read, covering the
        cells. Cells no window reaches still take the op's gradient formula (LP pooling's
        is ``0 * d|x|^p/dx``, a signed zero or NaN), so they get a neighbouring window: its
        gradient lands outside the cells, theirs is computed as in memory."""
        oa = max(0, (lo_cell + self.lo - self.extent) // self.stride + 1)
        ob = min(self.out, -(-(hi_cell + self.lo) // self.stride))
        if oa >= ob:
            oa, ob = (oa - 1, oa) if oa > 0 else (ob, ob + 1)
        m = self._rebase(oa, lo_cell)
        b = min(self.length, max(self.start(ob - 1) + self.extent, hi_cell))
        return oa, ob, m, m * self.stride, b


def _bounds(chunks: tuple[int, ...]) -> list[int]:
    return [0, *itertools.accumulate(chunks)]


# --------------------------------------------------------------------------------------------
# graph building


@dataclass(frozen=True)
class _Source:
    """Where the pieces of one array read by a block go in the region it assembles."""

    shape: tuple[int, ...]
    offsets: tuple[tuple[int, ...], ...]


def _piece(chunk: np.ndarray, slices: tuple[slice, ...]) -> np.ndarray:
    """A copy of part of a chunk (a view would keep the whole chunk in the worker's memory
    until the block that reads the part has run)."""
    return np.array(chunk[slices])


def _assemble(source: _Source, pieces: list[np.ndarray]) -> np.ndarray:
    if len(pieces) == 1:
        return pieces[0]
    out = np.empty(source.shape, dtype=pieces[0].dtype)
    for offset, piece in zip(source.offsets, pieces):
        out[tuple(slice(o, o + n) for o, n in zip(offset, piece.shape))] = piece
    return out


class _Graph:
    """A Dask graph under construction: block tasks and the pieces of chunks they read."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dsk: dict[Any, Any] = {}
        self.dependencies: list[Any] = []
        self._pieces: dict[tuple[Any, ...], Any] = {}

    def read(self, arr: Any, region: Region) -> tuple[_Source, list[Any]]:
        """The keys of the pieces of ``arr``'s chunks that make up ``region``: whole chunks
        by their own key, parts by small slicing tasks (so a task receives only its halo of
        a neighbouring chunk, not the chunk)."""
        if all(arr.name != d.name for d in self.dependencies):
            self.dependencies.append(arr)
        per_axis = []
        for (a, b), chunks in zip(region, arr.chunks):
            bounds = _bounds(chunks)
            first = max(0, bisect.bisect_right(bounds, a) - 1)
            parts = []
            for i in range(first, len(chunks)):
                if bounds[i] >= b:
                    break
                lo, hi = max(a, bounds[i]), min(b, bounds[i + 1])
                if hi > lo:
                    parts.append((i, lo - bounds[i], hi - bounds[i], lo - a, chunks[i]))
            if not parts:  # an empty axis (a batch of 0): its one empty chunk
                parts.append((0, 0, 0, 0, 0))
            per_axis.append(parts)
        keys, offsets = [], []
        for combo in itertools.product(*per_axis):
            index = tuple(p[0] for p in combo)
            whole = all(p[1] == 0 and p[2] == p[4] for p in combo)
            if whole:
                key: Any = (arr.name, *index)
            else:
                slices = tuple(slice(p[1], p[2]) for p in combo)
                ident = (arr.name, index, tuple((s.start, s.stop) for s in slices))
                key = self._pieces.get(ident)
                if key is None:
                    key = (f"{self.name}-halo", len(self._pieces))
                    self._pieces[ident] = key
                    self.dsk[key] = (_piece, (arr.name, *index), slices)
            keys.append(key)
            offsets.append(tuple(p[3] for p in combo))
        shape = tuple(b - a for a, b in region)
        return _Source(shape, tuple(offsets)), keys

    def arrays(self, chunks: list[tuple[tuple[int, ...], ...]], metas: list[np.ndarray],
               tuple_out: bool) -> list[Any]:
        """The Dask arrays of this graph's blocks (one per output when they are tuples)."""
        import dask.array as da
        from dask.highlevelgraph import HighLevelGraph

        graph = HighLevelGraph.from_collections(self.name, self.dsk,
                                                dependencies=self.dependencies)
        if not tuple_out:
            return [da.Array(graph, self.name, chunks[0], meta=metas[0])]
        block = da.Array(graph, self.name, chunks[0], meta=metas[0])
        out = []
        for i, (c, meta) in enumerate(zip(chunks, metas)):
            name = f"{self.name}-{i}"
            layer: dict[Any, Any] = {
                (name, *idx): (operator.getitem, (self.name, *idx), i)
                for idx in itertools.product(*(range(len(ax)) for ax in c))
            }
            g = HighLevelGraph.from_collections(
                name, layer, dependencies=[block]  # type: ignore[list-item]  # a dask Array
            )
            out.append(da.Array(g, name, c, meta=meta))
        return out


# --------------------------------------------------------------------------------------------
# block tasks (module-level functions and plain data, so that they pickle to workers)


@dataclass(frozen=True)
class _Common:
    """What every block task of one call shares."""

    fn: Callable[..., Any]
    input_name: str
    args: dict[str, Any]
    shaped: tuple[str, ...]
    spatial: tuple[int, ...]
    plane: tuple[int, ...] | None  # the whole spatial shape, when indices need re-basing


@dataclass(frozen=True)
class _Block:
    """One task's sources, what it keeps of the op's result, and where its region starts."""

    sources: tuple[_Source, ...]
    crop: tuple[slice, ...] | None = None
    origin: tuple[int, ...] = ()  # region start per spatial axis
    samples: np.ndarray | None = None
    grad_place: tuple[slice, ...] | None = None  # where the cotangent goes in the region's


def _numpy_vjp(entry: Entry, arguments: dict[str, Any]) -> tuple[Any, Callable[[Any], Any]]:
    """The NumPy vjp of a block's call, its arguments bound as `poolnd.vjp` binds them."""
    bound = entry.signature.bind(**arguments)
    bound.apply_defaults()
    return numpy_vjp(entry, bound.arguments)


def _kwargs(common: _Common, block: _Block, arrays: list[np.ndarray]) -> dict[str, Any]:
    kwargs = dict(common.args)
    kwargs[common.input_name] = arrays[0]
    kwargs.update(zip(common.shaped, arrays[1:]))
    if block.samples is not None:
        kwargs["_random_samples"] = block.samples
    return kwargs


def _plane_indices(idx: np.ndarray, local: tuple[int, ...], origin: tuple[int, ...],
                   plane: tuple[int, ...]) -> np.ndarray:
    """Flat indices within a region's planes as flat indices within the whole planes."""
    rest = np.where(idx >= 0, idx, 0)
    flat = np.zeros(idx.shape, dtype=np.int64)
    scale = 1
    for n, o, size in zip(reversed(local), reversed(origin), reversed(plane)):
        rest, coord = np.divmod(rest, n)
        flat += (coord + o) * scale
        scale *= size
    return np.where(idx >= 0, flat, -1)


def _forward_block(common: _Common, block: _Block, *pieces: list[np.ndarray]) -> Any:
    arrays = [_assemble(s, p) for s, p in zip(block.sources, pieces)]
    with _threads.serial():
        out = common.fn(**_kwargs(common, block, arrays))
    outs = list(out) if isinstance(out, tuple) else [out]
    if block.crop is not None:
        outs = [np.ascontiguousarray(o[block.crop]) for o in outs]
    if common.plane is not None and len(outs) == 2:
        local = tuple(arrays[0].shape[ax] for ax in common.spatial)
        outs[1] = _plane_indices(outs[1], local, block.origin, common.plane)
    return tuple(outs) if isinstance(out, tuple) else outs[0]


def _backward_block(common: _Common, block: _Block, *pieces: list[np.ndarray]) -> np.ndarray:
    arrays = [_assemble(s, p) for s, p in zip(block.sources, pieces)]
    g = arrays.pop()
    kwargs = _kwargs(common, block, arrays)
    with _threads.serial():
        out, pullback = _numpy_vjp(entry_of(common.fn), kwargs)
        if block.grad_place is not None:
            values = out[0] if isinstance(out, tuple) else out
            local = np.zeros(values.shape, dtype=g.dtype)
            local[block.grad_place] = g
            g = local
        grad = pullback(g)
    return grad if block.crop is None else np.ascontiguousarray(grad[block.crop])


# --------------------------------------------------------------------------------------------
# plans: which region each output block reads


def _token(*parts: Any) -> str:
    from dask.base import tokenize

    return tokenize(*parts)


def _meta(a: np.ndarray) -> np.ndarray:
    return np.empty((0,) * a.ndim, dtype=a.dtype)


def _spans(chunks: tuple[int, ...]) -> list[tuple[int, int]]:
    bounds = _bounds(chunks)
    return list(itertools.pairwise(bounds)) or [(0, 0)]


def _spatial_rank(call: _Call) -> int:
    ndim = call.args.get("ndim")
    if ndim is not None:
        return operator.index(ndim)
    if call.entry.ndim is not None:
        return call.entry.ndim
    if "kernel_size" in call.args:
        return _args.spatial_rank(call.op, call.args["kernel_size"], None)
    return call.x.ndim - 2


@dataclass
class _Plan:
    """A checked call and how its blocks read the input."""

    call: _Call
    layout: _Layout
    common: _Common
    probe: dict[str, Any]  # the op's arguments on a small zero input, for checks and dtypes
    axes: dict[int, _Axis] = field(default_factory=dict)  # sliding spatial axes

    @property
    def sliding(self) -> bool:
        return bool(self.axes)


def _sliding_plan(call: _Call) -> _Plan:
    """Canonicalises the window exactly as the NumPy path does (its errors for bad geometry,
    rank or dtype) on a zero-strided stand-in for the input."""
    a = call.args
    assert call.entry.window is not None
    win = call.entry.window(call.op, _dummy(call.x.shape, call.x.dtype), a,
                            a.get("ndim", call.entry.ndim))
    if call.channels_last:  # drop the kernel-1 window over the channels
        win = _args.Window(win.kernel[:-1], win.stride[:-1], win.dilation[:-1], win.pad[:-1],
                     win.in_shape[:-1], win.out_shape[:-1])
    layout = _layout(call.x.ndim, win.ndim, call.channels_last)
    axes = {
        ax: _Axis(n, (k - 1) * d + 1, s, lo, o)
        for ax, n, k, d, s, (lo, _), o in zip(layout.spatial, win.in_shape, win.kernel,
                                              win.dilation, win.stride, win.pad, win.out_shape)
    }
    args = dict(call.args)
    if "padding" in call.entry.signature.parameters:
        args["padding"] = tuple(win.pad)  # per side: a 'same' mode must not re-resolve
    common = _Common(call.fn, call.input_name, args, tuple(call.shaped), layout.spatial,
                     win.in_shape)
    first = [
        axes[ax].forward_blocks(_bounds(chunks))[0] if ax in axes else None
        for ax, chunks in enumerate(call.x.chunks)
    ]
    shape = [1 if f is None else f[4] - f[3] for f in first]
    probe = {**args, call.input_name: _dummy(shape, call.x.dtype)}
    probe.update({n: _dummy(shape, v.dtype) for n, v in call.shaped.items()})
    return _Plan(call, layout, common, probe, axes)


def _plane_plan(call: _Call) -> _Plan:
    rank = _spatial_rank(call)
    many = call.op in _args.LEAD_OPS and call.x.ndim > rank + 2  # leading batch axes
    if call.x.ndim not in (rank + 1, rank + 2) and not many:
        # the op names the problem (its rank check comes before any work)
        call.fn(**{**call.args, call.input_name: _dummy(call.x.shape, call.x.dtype)})
        raise ValueError(f"{call.op}(): input has {call.x.ndim} dims; got shape {call.x.shape}")
    layout = _layout(call.x.ndim, rank, call.channels_last)
    _fractional_samples(call, layout)
    common = _Common(call.fn, call.input_name, call.args, tuple(call.shaped), layout.spatial,
                     None)
    shape = [1 if ax in layout.lead else n for ax, n in enumerate(call.x.shape)]
    probe = {**call.args, call.input_name: _dummy(shape, call.x.dtype)}
    probe.update({n: _dummy(shape, v.dtype) for n, v in call.shaped.items()})
    if call.samples is not None:
        probe["_random_samples"] = call.samples[:1, :1]
    return _Plan(call, layout, common, probe)


def _fractional_samples(call: _Call, layout: _Layout) -> None:
    """Fractional pooling's random draws, made once for the whole input exactly as the NumPy
    path makes them (the same ``rng`` call), then split among the blocks."""
    if call.entry.samples is None:
        return
    batched = len(layout.lead) == 2
    n = call.x.shape[layout.lead[0]] if batched else 1
    c = call.x.shape[layout.lead[-1]]
    given = call.args.pop("_random_samples", None)
    if given is not None:
        given = np.asarray(given)  # small: (N, C, nd)
    rng = call.args.pop("rng", None)
    rank = len(layout.spatial)
    call.samples = call.entry.samples(call.op, given, rng, _dummy((n, c), call.x.dtype), n,
                            rank).reshape(n, c, rank)


def _plan(fn: Callable[..., Any], entry: Entry, arguments: dict[str, Any]) -> _Plan:
    call = _prepare_call(fn, entry, arguments)
    if entry.sliding:
        return _sliding_plan(call)
    return _plane_plan(call)


def _block_samples(plan: _Plan, region: Region) -> np.ndarray | None:
    samples, lead = plan.call.samples, plan.layout.lead
    if samples is None:
        return None
    c0, c1 = region[lead[-1]]
    if len(lead) == 2:
        n0, n1 = region[lead[0]]
        return samples[n0:n1, c0:c1]
    return samples[:, c0:c1]


def _read_all(graph: _Graph, reads: list[tuple[Any, Region]]) -> tuple[tuple[_Source, ...],
                                                                        list[list[Any]]]:
    sources, keys = [], []
    for arr, region in reads:
        source, k = graph.read(arr, region)
        sources.append(source)
        keys.append(k)
    return tuple(sources), keys


# --------------------------------------------------------------------------------------------
# forward


def _forward(plan: _Plan) -> Any:
    call, layout, x = plan.call, plan.layout, plan.call.x
    probe = call.fn(**plan.probe)  # checks the remaining arguments; gives dtypes and arity
    tuple_out = isinstance(probe, tuple)
    probes = list(probe) if tuple_out else [probe]
    inputs = (x, *call.shaped.values())
    graph = _Graph(f"{call.op}-{_token(call.op, plan.common.args, call.samples, *inputs)}")
    per_axis: list[list[tuple[tuple[int, int], slice | None, int, int]]] = []
    for ax, chunks in enumerate(x.chunks):
        if ax in plan.axes:  # (region, kept outputs, region start, output count)
            per_axis.append([((a, b), slice(oa - m, ob - m), a, ob - oa)
                             for oa, ob, m, a, b in plan.axes[ax].forward_blocks(
                                 _bounds(chunks))])
        elif ax in layout.lead or plan.sliding:
            per_axis.append([(span, None, 0, span[1] - span[0]) for span in _spans(chunks)])
        else:  # a whole spatial axis
            per_axis.append([((0, x.shape[ax]), None, 0, 0)])
    for combo in itertools.product(*(enumerate(p) for p in per_axis)):
        region = tuple(p[0] for _, p in combo)
        sources, keys = _read_all(graph, [(arr, region) for arr in inputs])
        crop = tuple(p[1] or slice(None) for _, p in combo) if plan.sliding else None
        origin = tuple(combo[ax][1][2] for ax in layout.spatial)
        block = _Block(sources, crop, origin, samples=_block_samples(plan, region))
        index = _out_index(plan, probes[0].ndim, tuple(i for i, _ in combo))
        graph.dsk[(graph.name, *index)] = (_forward_block, plan.common, block, *keys)
    chunks = [_out_chunks(plan, per_axis, p) for p in probes]
    out = graph.arrays(chunks, [_meta(p) for p in probes], tuple_out)
    return tuple(out) if tuple_out else out[0]


def _out_index(plan: _Plan, out_ndim: int, index: tuple[int, ...]) -> tuple[int, ...]:
    """A block's output index: its input block index, less the spatial axes an op without
    them drops (global pooling without ``keepdims``)."""
    if out_ndim == len(index):
        return index
    return tuple(index[ax] for ax in plan.layout.lead)


def _out_chunks(plan: _Plan, per_axis: list[list[Any]], probe: np.ndarray
                ) -> tuple[tuple[int, ...], ...]:
    x = plan.call.x
    if probe.ndim != x.ndim:  # global pooling without keepdims: the lead axes only
        return tuple(x.chunks[ax] for ax in plan.layout.lead)
    return tuple(
        tuple(p[3] for p in per_axis[ax]) if ax in plan.axes or ax in plan.layout.lead
        else (n,)
        for ax, n in enumerate(probe.shape)
    )


def pool(fn: Callable[..., Any], entry: Entry, arguments: dict[str, Any]) -> Any:
    """``fn(**arguments)`` for a Dask input: a lazy Dask result (see the module doc).
    ``entry`` is ``fn``'s registry entry."""
    return _forward(_plan(fn, entry, arguments))


# --------------------------------------------------------------------------------------------
# gradients


def _grad_array(plan: _Plan, values: Any, grad_output: Any) -> Any:
    """The cotangent as a Dask array of the output's dtype, checked as the NumPy path
    checks it."""
    import dask.array as da

    if _is_dask(grad_output):
        g = grad_output
    elif is_foreign(grad_output):
        g = to_numpy(grad_output, plan.call.op, "grad_output")
    else:
        g = np.asarray(grad_output)
    _args.pullback_grad(plan.call.op, _dummy(g.shape, g.dtype), _dummy(values.shape, values.dtype),
                  True)
    if not _is_dask(g):
        g = da.from_array(g, chunks=values.chunks)
    return g.astype(values.dtype)


def _grad_reads(plan: _Plan, values: Any, lead_span: dict[int, tuple[int, int]],
                x_region: Region) -> Region:
    """The cotangent region of a whole-plane block: its lead spans, whole elsewhere."""
    x = plan.call.x
    if values.ndim != x.ndim:
        return tuple(lead_span[ax] for ax in plan.layout.lead)
    return tuple(x_region[ax] if ax in plan.layout.lead else (0, n)
                 for ax, n in enumerate(values.shape))


def _pullback(plan: _Plan, out: Any) -> Callable[[Any], Any]:
    call, layout, x = plan.call, plan.layout, plan.call.x
    values = out[0] if isinstance(out, tuple) else out
    inputs = (x, *call.shaped.values())

    def pullback(grad_output: Any) -> Any:
        g = _grad_array(plan, values, grad_output)
        token = _token(call.op, plan.common.args, call.samples, g, *inputs)
        graph = _Graph(f"{call.op}-grad-{token}")
        per_axis: list[list[tuple[tuple[int, int], Any]]] = []
        for ax, chunks in enumerate(x.chunks):
            if ax in plan.axes:
                per_axis.append([(span, plan.axes[ax].backward_block(*span))
                                 for span in _spans(chunks)])
            elif ax in layout.lead or plan.sliding:
                per_axis.append([(span, None) for span in _spans(chunks)])
            else:
                per_axis.append([((0, x.shape[ax]), None)])
        for combo in itertools.product(*(enumerate(p) for p in per_axis)):
            index = tuple(i for i, _ in combo)
            spans = [p[0] for _, p in combo]
            geos = [p[1] for _, p in combo]
            x_region = tuple(span if geo is None else (geo[3], geo[4])
                             for span, geo in zip(spans, geos))
            if plan.sliding:
                g_region = tuple(span if geo is None else (geo[0], geo[1])
                                 for span, geo in zip(spans, geos))
                crop = tuple(slice(None) if geo is None else slice(lo - geo[3], hi - geo[3])
                             for (lo, hi), geo in zip(spans, geos))
                place = tuple(slice(None) if geo is None else slice(geo[0] - geo[2],
                                                                    geo[1] - geo[2])
                              for geo in geos)
            else:
                lead_span = {ax: spans[ax] for ax in layout.lead}
                g_region, crop, place = _grad_reads(plan, values, lead_span, x_region), None, None
            sources, keys = _read_all(graph, [*((arr, x_region) for arr in inputs),
                                              (g, g_region)])
            block = _Block(sources, crop, samples=_block_samples(plan, x_region),
                           grad_place=place)
            graph.dsk[(graph.name, *index)] = (_backward_block, plan.common, block, *keys)
        chunks = tuple(tuple(hi - lo for (lo, hi), _ in p) for p in per_axis)
        return graph.arrays([chunks], [np.empty((0,) * x.ndim, dtype=x.dtype)], False)[0]

    return pullback


def vjp(fn: Callable[..., Any], entry: Entry, arguments: dict[str, Any]
        ) -> tuple[Any, Callable[[Any], Any]]:
    """`poolnd.vjp` for a Dask input: the lazy output, and a pullback that returns the lazy
    input gradient given a cotangent (Dask, NumPy or another library's array)."""
    plan = _plan(fn, entry, arguments)
    _numpy_vjp(entry, plan.probe)  # the NumPy path's checks
    out = _forward(plan)
    return out, _pullback(plan, out)
