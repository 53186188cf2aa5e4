"""``poolnd pool`` and ``poolnd pyramid``: pooling array files, out of core for large ones.

Every input axis is known before any work: decoded images are ``yx`` or ``yxc`` (colour is
never pooled), OME-Zarr inputs name theirs, TIFF files and Zarr v3 arrays may, and
``--axes`` (letters from ``tczyx``) names them for the rest. Only the space axes (``z``,
``y``, ``x``) are pooled unless ``--pool-axes`` says otherwise. ``pool`` pools them with
`poolnd.pool` (PyTorch's arguments: kernel, stride, padding, dilation, ceil mode) and writes
any of the formats, keeping the axes where the format can. ``pyramid`` writes an OME-Zarr
(0.4 or 0.5) multiscale pyramid, each level the one before pooled by ``--factor`` (per axis)
in whole blocks, placed as ngff-zarr places its levels (scale and translation), with
``omero`` colours for RGB images. Integer means round to nearest, ties to even, exactly from
the integer sums (``--rounding trunc``: PyTorch's truncation). Outputs are written under a
temporary name beside them and renamed into place when complete; the input and output are
compared as files. Every failure is one line on stderr: exit status 2 for arguments that do
not fit, 1 for files that cannot be read or written.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any, NoReturn

import numpy as np

from . import io as _files
from . import ome as _ome
from .axes import canonical_order, ome_axes, parse_axes
from .errors import FileError, UsageError, need
from .safe import Staged, check_distinct, check_writable

__all__ = ["main"]

OPS = {"max": "max", "min": "min", "avg": "mean", "mean": "mean", "sum": "sum"}
SPACE = "zyx"


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_list(text: str, least: int, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an int or comma-separated ints such as 3,3; got {text!r}") from None
    if any(v < least for v in values):
        raise argparse.ArgumentTypeError(f"{what}; got {text!r}")
    return values


def _positive(text: str) -> tuple[int, ...]:
    """``'2'`` or ``'3,2'`` as positive ints (argparse type)."""
    return _int_list(text, 1, "expected positive ints (1 or more)")


def _factor(text: str) -> tuple[int, ...]:
    return _int_list(text, 1, "expected ints of 1 or more (1 leaves an axis whole), such as "
                              "2 or 1,2,2")


def _padding(text: str) -> Any:
    """An int, comma-separated ints, ``lo:hi`` pairs (``1:0,0:1``) or a mode name."""
    if text.lower() in ("same", "valid", "same_lower"):
        return text.lower()
    try:
        if ":" in text:
            pairs = tuple(tuple(int(v) for v in pair.split(":", 1)) for pair in text.split(","))
            if any(v < 0 for p in pairs for v in p):
                raise ValueError
            return pairs
        return _int_list(text, 0, "negative")
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected ints of 0 or more (2 or 1,2), lo:hi pairs (1:0,0:1), 'same', "
            f"'same_lower' or 'valid'; got {text!r}") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--axes", type=parse_axes, metavar="LETTERS",
                   help="name the input's axes, letters from tczyx (yx, cyx, zyx, tczyx...), "
                        "for .npy, TIFF and plain Zarr inputs (images are yx or yxc and "
                        "OME-Zarr names its own)")
    p.add_argument("--pool-axes", type=parse_axes, metavar="LETTERS",
                   help="the axes to pool (default: the space axes z, y, x; t and c are "
                        "pooled only when named here)")
    p.add_argument("--rounding", choices=["nearest", "trunc"], default="nearest",
                   help="integer means: round to nearest, ties to even (default), or trunc: "
                        "toward zero, as PyTorch")
    p.add_argument("--ndim", type=int, help="(without --axes) the last NDIM axes are space "
                   "axes, the ones before them channels (c, or t and c)")
    p.add_argument("--channels-last", action="store_true",
                   help="(without --axes) the last axis holds channels; images know theirs")
    p.add_argument("--component", help="the array inside a Zarr group to read")
    p.add_argument("--chunk-mb", type=int, default=64,
                   help="size of the Dask chunks for lazy inputs, in MiB (default 64)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _parser() -> _Parser:
    parser = _Parser(prog="poolnd", description="Pool array files with poolnd.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    pool = sub.add_parser("pool", help="pool an array file into another",
                          description="Pool INPUT (.npy, PNG/TIFF, .zarr) into OUTPUT "
                                      "along its space axes.")
    pool.add_argument("input")
    pool.add_argument("output")
    pool.add_argument("--op", choices=sorted(OPS), default="max", help="reducer (default max)")
    pool.add_argument("--kernel", type=_positive, required=True,
                      help="window size, one value or one per pooled axis (2 or 3,3)")
    pool.add_argument("--stride", type=_positive, help="step between windows (default: kernel)")
    pool.add_argument("--padding", type=_padding, default=(0,),
                      help="int(s), lo:hi pairs, 'same', 'same_lower' or 'valid' (default 0)")
    pool.add_argument("--dilation", type=_positive, default=(1,), help="window dilation")
    pool.add_argument("--ceil-mode", action="store_true", help="round the output size up")
    pool.add_argument("--exclude-pad", action="store_true",
                      help="averages: leave padding cells out of the divisor")
    pool.add_argument("--ome-version", choices=["0.4", "0.5"], default=None,
                      help="OME-Zarr outputs (from an OME-Zarr input, or named *.ome.zarr): "
                           "the NGFF version (default: the input's, else 0.4)")
    _common(pool)
    pyr = sub.add_parser("pyramid", help="write an OME-Zarr multiscale pyramid",
                         description="Write OUTPUT.zarr, an OME-Zarr image: level 0 is INPUT, "
                                     "each further level the one before pooled in whole "
                                     "blocks of --factor cells along the space axes.")
    pyr.add_argument("input")
    pyr.add_argument("output")
    pyr.add_argument("--levels", type=int, required=True,
                     help="number of reduced levels below the full-resolution level 0 "
                          "(capped, and said, where an axis would fall below one block)")
    pyr.add_argument("--op", choices=sorted(OPS), default="mean", help="reducer (default mean)")
    pyr.add_argument("--factor", type=_factor, default=(2,),
                     help="reduction per level: one value, or one per pooled axis such as "
                          "1,2,2 for zyx (default 2)")
    pyr.add_argument("--ome-version", choices=["0.4", "0.5"], default="0.4",
                     help="OME-NGFF version: 0.4 (Zarr v2, the most widely read) or 0.5 "
                          "(Zarr v3)")
    _common(pyr)
    return parser


# --------------------------------------------------------------------------------------------
# axes


def _resolve_axes(args: argparse.Namespace, source: _files.Source, nvalues: int) -> str:
    """The input's axes as letters (see the module doc); UsageError where they are unknown
    or the flags contradict the file."""
    shape = tuple(source.array.shape)
    n, path = len(shape), args.input
    declared = source.axes
    fixed = source.kind == "image" or source.ome is not None  # their axes are not in doubt
    if args.axes is not None:
        if len(args.axes) != n:
            raise UsageError(f"argument --axes: {args.axes!r} names {len(args.axes)} axes but "
                             f"{path!r} has {n} (shape {shape})")
        if fixed and args.axes != declared:
            raise UsageError(f"argument --axes: {path!r} declares its axes as {declared!r}; "
                             f"leave --axes out (or give {declared!r})")
        axes = args.axes
    elif declared is not None:
        axes = declared
    else:
        last = int(args.channels_last)
        if args.ndim is not None:
            count = args.ndim
        elif nvalues > 1:
            count = nvalues
        elif n - last == 2:
            count = 2
        else:
            example = {3: "zyx or cyx", 4: "czyx or tcyx", 5: "tczyx"}.get(n, "tczyx")
            raise UsageError(f"the axes of {path!r} (shape {shape}) are not known: name them "
                             f"with --axes, letters from tczyx (e.g. {example})")
        if not 1 <= count <= 3 or count + last > n:
            raise UsageError(f"argument --ndim: {path!r} has shape {shape}; {count} space "
                             f"axes{' and a channel axis' if last else ''} do not fit (name "
                             f"the axes with --axes)")
        lead = n - count - last
        others = "t" if last else "tc"
        if lead > len(others):
            raise UsageError(f"the axes of {path!r} (shape {shape}) are not known: name them "
                             f"with --axes, letters from tczyx")
        axes = others[len(others) - lead:] + SPACE[3 - count:] + ("c" if last else "")
    if args.channels_last and not axes.endswith("c"):
        raise UsageError(f"argument --channels-last: the last axis of {path!r} is not a "
                         f"channel axis (its axes are {axes}, shape {shape})")
    if args.ndim is not None and (args.axes is not None or declared is not None):
        space = sum(a in SPACE for a in axes)
        if args.ndim != space:
            raise UsageError(f"argument --ndim: {path!r} has {space} space axes ({axes}); "
                             f"leave --ndim out")
    return axes


def _pooled(args: argparse.Namespace, axes: str) -> str:
    if args.pool_axes is not None:
        missing = [a for a in args.pool_axes if a not in axes]
        if missing:
            raise UsageError(f"argument --pool-axes: {''.join(missing)!r} is not an axis of "
                             f"{args.input!r} (its axes are {axes})")
        return "".join(a for a in axes if a in args.pool_axes)
    pooled = "".join(a for a in axes if a in SPACE)
    if not pooled:
        raise UsageError(f"{args.input!r} has no space axis to pool (axes {axes}); name the "
                         f"axes to pool with --pool-axes")
    return pooled


def _per_axis(flag: str, values: Any, pooled: str, path: str) -> tuple[Any, ...]:
    """A flag's values, one per pooled axis."""
    if isinstance(values, str):
        return (values,) * len(pooled)
    values = tuple(values)
    if len(values) == 1:
        return values * len(pooled)
    if len(values) != len(pooled):
        raise UsageError(f"argument {flag}: {len(values)} values for the {len(pooled)} pooled "
                         f"axes {pooled} of {path!r} (give one value, or {len(pooled)})")
    return values


# --------------------------------------------------------------------------------------------
# pooling in the file's layout


def _transposed(array: Any, order: list[int]) -> Any:
    return array if order == list(range(array.ndim)) else array.transpose(order)


def _in_layout(array: Any, axes: str, pooled: str, call: Any) -> Any:
    """``call(x, ndim, channels_last)`` on ``array`` with its pooled axes last (the others
    folded into poolnd's batch and channel axes), the result back in ``axes`` order."""
    n, k = array.ndim, len(pooled)
    keep = [i for i, a in enumerate(axes) if a not in pooled]
    move = [i for i, a in enumerate(axes) if a in pooled]
    if keep == [n - 1] and move == list(range(n - 1)):  # (..., C): poolnd's channels-last
        return call(array, k, True)
    order = keep + move
    x = _transposed(array, order)
    lead = tuple(x.shape[: n - k])
    rest = tuple(x.shape[n - k:])
    if not lead:
        folded = (1, *rest)
    elif len(lead) <= 2:
        folded = tuple(x.shape)
    else:
        folded = (math.prod(lead[:-1]), lead[-1], *rest)
    out = call(x.reshape(folded), k, False)
    out = out.reshape(lead + tuple(out.shape[out.ndim - k:]))
    return _transposed(out, [int(i) for i in np.argsort(order)])


def _round_half_even(s: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``s / d`` (integers, ``d > 0``) rounded to nearest, ties to even, in integers.

    Examples
    --------
    >>> _round_half_even(np.array([5, 7, 6, -5, -7], np.int64), np.array(2, np.int64))
    array([ 2,  4,  3, -2, -4])
    """
    q = s // d
    r = s - q * d  # 0 <= r < d
    twice = r * 2
    return q + ((twice > d) | ((twice == d) & (q % 2 == 1))).astype(s.dtype)


def _divisors(sizes: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
              padding: tuple[Any, ...], dilation: tuple[int, ...], ceil: bool,
              include_pad: bool) -> list[np.ndarray]:
    """Each pooled axis's average-pooling divisors, exact ints: poolnd's own count along
    that axis (the divisor of an N-d window is their product, as in PyTorch)."""
    import poolnd

    out = []
    for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation):
        ones = np.ones((1, n))
        pad = p if isinstance(p, str) else ((p,) if isinstance(p, tuple) else p)
        total = poolnd.pool(ones, "sum", k, s, pad, d, ceil, ndim=1)[0]
        mean = poolnd.pool(ones, "mean", k, s, pad, d, ceil, ndim=1,
                           count_include_pad=include_pad)[0]
        count = np.where(mean > 0, np.rint(total / np.where(mean > 0, mean, 1)), 1)
        out.append(count.astype(np.int64))
    return out


def _rounded_mean(sums: Any, divisors: list[np.ndarray], spatial: list[int]) -> Any:
    """Integer sums divided by the separable divisors, rounded half to even, block by
    block for Dask arrays (the divisors of a block from its place)."""

    def block(s: np.ndarray, block_info: Any = None) -> np.ndarray:
        where = (block_info[0]["array-location"] if block_info else
                 [(0, m) for m in s.shape])
        d = np.ones((), dtype=s.dtype)
        for axis, div in zip(spatial, divisors):
            lo, hi = where[axis]
            shape = [1] * s.ndim
            shape[axis] = hi - lo
            d = d * div[lo:hi].astype(s.dtype).reshape(shape)
        return _round_half_even(s, d)

    if isinstance(sums, np.ndarray):
        return block(sums)
    return sums.map_blocks(block, dtype=sums.dtype)


def _pool_call(reducer: str, kernel: tuple[int, ...], stride: tuple[int, ...],
               padding: tuple[Any, ...], dilation: tuple[int, ...], ceil: bool,
               include_pad: bool, rounding: str, dtype: Any) -> Any:
    """``call(x, ndim, channels_last)`` for `_in_layout`: `poolnd.pool`, with integer means
    rounded to nearest (exactly, from `poolnd.pool`'s integer sums) unless ``rounding`` is
    ``'trunc'``."""
    import poolnd

    pad: Any = padding[0] if isinstance(padding[0], str) else padding

    def call(x: Any, ndim: int, last: bool) -> Any:
        exact = reducer == "mean" and np.dtype(dtype).kind in "iu" and rounding == "nearest"
        if not exact:
            kw = {"count_include_pad": include_pad} if reducer == "mean" else {}
            return poolnd.pool(x, reducer, kernel, stride, pad, dilation, ceil, ndim=ndim,
                               channels_last=last, **kw)
        sums = poolnd.pool(x, "sum", kernel, stride, pad, dilation, ceil, ndim=ndim,
                           channels_last=last)
        spatial = list(range(x.ndim - ndim - int(last), x.ndim - int(last)))
        sizes = tuple(x.shape[a] for a in spatial)
        divisors = _divisors(sizes, kernel, stride, padding, dilation, ceil, include_pad)
        return _rounded_mean(sums, divisors, spatial).astype(dtype)

    return call


def _result_dtype(dtype: Any, reducer: str, rounding: str) -> np.dtype:
    import poolnd

    if reducer == "mean" and np.dtype(dtype).kind in "iu" and rounding == "nearest":
        return np.dtype(dtype)
    return np.asarray(poolnd.pool(np.zeros((1, 1), dtype), reducer, 1, ndim=1)).dtype


def _first_centre(n: int, k: int, s: int, p: Any, d: int) -> float:
    """The index of the first window's centre along an axis of ``n`` cells."""
    extent = (k - 1) * d + 1
    if isinstance(p, str):
        if p == "valid":
            lo = 0
        else:
            total = max((-(-n // s) - 1) * s + extent - n, 0)
            lo = total - total // 2 if p == "same_lower" else total // 2
    else:
        lo = p[0] if isinstance(p, tuple) else p
    return -lo + (extent - 1) / 2


# --------------------------------------------------------------------------------------------
# the commands


def _prepare_output(args: argparse.Namespace) -> str:
    kind = _files.format_of(args.output)
    check_distinct(args.input, args.output)
    check_writable(args.output, args.overwrite)
    return kind


def _read(args: argparse.Namespace) -> _files.Source:
    return _files.read(args.input, args.component, args.chunk_mb)


def _pool(args: argparse.Namespace) -> None:
    kind = _prepare_output(args)
    source = _read(args)
    nvalues = max(len(args.kernel), len(args.stride or ()), len(args.dilation),
                  1 if isinstance(args.padding, str) else len(args.padding))
    axes = _resolve_axes(args, source, nvalues)
    pooled = _pooled(args, axes)
    path = args.input
    kernel = _per_axis("--kernel", args.kernel, pooled, path)
    stride = _per_axis("--stride", args.stride or args.kernel, pooled, path)
    padding = _per_axis("--padding", args.padding, pooled, path)
    dilation = _per_axis("--dilation", args.dilation, pooled, path)
    reducer = OPS[args.op]
    dtype = _result_dtype(source.array.dtype, reducer, args.rounding)
    ome_out = kind == "zarr" and (source.ome is not None or
                                  args.output.rstrip("/").lower().endswith(".ome.zarr"))
    if kind == "image":
        refusal = _files.image_refusal(args.output, axes, tuple(source.array.shape), dtype)
        if refusal:
            raise UsageError(refusal)
    if kind == "zarr" or not isinstance(source.array, np.ndarray):
        need("dask", f"writing {args.output!r}")
    call = _pool_call(reducer, kernel, stride, padding, dilation, args.ceil_mode,
                      not args.exclude_pad, args.rounding, source.array.dtype)
    try:
        out = _in_layout(source.array, axes, pooled, call)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot pool {path!r} (axes {axes}, shape "
                         f"{tuple(source.array.shape)}) along {pooled} with --kernel "
                         f"{_text(kernel)} --stride {_text(stride)} --padding {_text(padding)}"
                         f" --dilation {_text(dilation)}: {_files._one_line(exc)}") from None
    chunks = source.storage_chunks
    if chunks is not None and len(chunks) != out.ndim:
        chunks = None
    with Staged(args.output) as tmp:
        if ome_out:
            sizes = [source.array.shape[axes.index(a)] for a in pooled]
            factors = [1] * len(axes)
            offsets = [0.0] * len(axes)
            for a, n, k, s, p, d in zip(pooled, sizes, kernel, stride, padding, dilation):
                factors[axes.index(a)] = s
                offsets[axes.index(a)] = _first_centre(n, k, s, p, d)
            version = args.ome_version or (source.ome or {}).get("version") or "0.4"
            scale, translation = _base_transform(source, axes)
            _write_ome(tmp, [out], axes, source,
                       [_ome.level_transform(scale, translation, factors, offsets)],
                       version, chunks, args,
                       {"reducer": reducer, "kernel_size": list(kernel), "stride": list(stride),
                        "padding": [p if isinstance(p, str) else [int(v) for v in np.ravel(p)]
                                    for p in padding],
                        "dilation": list(dilation), "ceil_mode": args.ceil_mode})
        else:
            _files.write(tmp, out, kind=kind, axes=axes, chunks=chunks,
                         progress=not args.quiet, label=args.output)


def _text(values: tuple[Any, ...]) -> str:
    return ",".join(v if isinstance(v, str) else (":".join(map(str, v)) if isinstance(v, tuple)
                                                   else str(v)) for v in values)


def _base_transform(source: _files.Source, axes: str) -> tuple[list[float], list[float]]:
    ome: dict[str, Any] = source.ome or {}
    n = len(axes)
    scale = ome.get("scale") or []
    translation = ome.get("translation") or []
    return (list(scale) if len(scale) == n else [1.0] * n,
            list(translation) if len(translation) == n else [0.0] * n)


def _default_chunks(axes: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    size = {"t": 1, "c": 1, "z": 32, "y": 512, "x": 512}
    return tuple(max(1, min(size[a], n)) for a, n in zip(axes, shape))


def _write_ome(path: str, levels: Any, axes: str, source: _files.Source,
               transforms: list[tuple[list[float], list[float]]], version: str,
               chunks: tuple[int, ...] | None, args: argparse.Namespace,
               kwargs: dict[str, Any], pyramid: Any = None) -> None:
    """An OME-Zarr image at ``path``: ``levels`` (arrays in ``axes`` order, or `pyramid`
    making each level from the one before) moved to tczyx order, with ``transforms``."""
    import dask.array as da

    zarr = need("zarr", f"writing {args.output!r}")
    order = canonical_order(axes)
    canon = "".join(axes[i] for i in order)
    if chunks is not None:
        chunks = tuple(chunks[i] for i in order)
    group = zarr.open_group(path, mode="w", zarr_format=2 if version == "0.4" else 3)
    names = list(canon)
    written: list[Any] = []
    for n, level in enumerate(levels):
        if pyramid is not None and n > 0:
            level = pyramid(da.from_array(written[-1], chunks=written[-1].chunks, asarray=False,
                                          lock=False))
        elif n == 0 or pyramid is None:
            level = _transposed(level, order)
        written.append(_files.write_zarr(
            "", level, chunks or _default_chunks(canon, tuple(level.shape)), not args.quiet,
            group=group, name=str(n), dimension_names=names))
    perm = [list(t) for t in transforms]
    canon_transforms = [([s[i] for i in order], [t[i] for i in order]) for s, t in perm]
    known = (source.ome or {}).get("axes")
    name = (source.ome or {}).get("name") or os.path.basename(args.input.rstrip("/\\"))
    entry = _ome.multiscales(ome_axes(canon, known), canon_transforms, name=str(name),
                             version=version, kind=kwargs.get("reducer", "poolnd"),
                             kwargs=kwargs)
    rendering = None
    if source.colour and "c" in canon:
        rendering = _ome.omero(written[0].shape[canon.index("c")], written[0].dtype,
                               str(name), version)
    elif (source.ome or {}).get("omero"):
        rendering = dict((source.ome or {})["omero"])
        if version == "0.4":
            rendering["version"] = "0.4"
        else:
            rendering.pop("version", None)
    _ome.store_attrs(group, version, entry, rendering)


def _max_levels(shape: dict[str, int], factors: dict[str, int]) -> tuple[int, str]:
    """How many levels fit (every reduced axis keeps one whole block), and the axis that
    stops them."""
    best, stop = sys.maxsize, ""
    for a, f in factors.items():
        if f > 1:
            n, count = shape[a], 0
            while n >= f:
                n //= f
                count += 1
            if count < best:
                best, stop = count, a
    return best, stop


def _pyramid(args: argparse.Namespace) -> None:
    if args.levels < 0:
        raise UsageError(f"argument --levels: must be 0 or more; got {args.levels}")
    kind = _files.format_of(args.output)
    if kind != "zarr":
        raise UsageError(f"a pyramid is written to a .zarr directory (OME-Zarr); got "
                         f"{args.output!r}")
    _prepare_output(args)
    need("dask", "poolnd pyramid")
    need("zarr", "poolnd pyramid")
    source = _read(args)
    axes = _resolve_axes(args, source, 1)
    pooled = _pooled(args, axes)
    factor = _per_axis("--factor", args.factor, pooled, args.input)
    if all(f == 1 for f in factor):
        raise UsageError(f"argument --factor: at least one axis must be reduced (a factor of "
                         f"2 or more); got {_text(factor)}")
    shape = dict(zip(axes, source.array.shape))
    by_axis = dict(zip(pooled, factor))
    fit, stop = _max_levels(shape, by_axis)
    levels = args.levels
    if levels > fit:
        print(f"poolnd pyramid: --levels {levels} capped at {fit}: level {fit + 1} would make "
              f"axis {stop} ({shape[stop]} cells) smaller than one {by_axis[stop]}-cell block",
              file=sys.stderr)
        levels = fit
    order = canonical_order(axes)
    canon = "".join(axes[i] for i in order)
    reduced = "".join(a for a in canon if by_axis.get(a, 1) > 1)
    kern = tuple(by_axis[a] for a in reduced)
    reducer = OPS[args.op]
    call = _pool_call(reducer, kern, kern, (0,) * len(kern), (1,) * len(kern), False, True,
                      args.rounding, source.array.dtype)

    def next_level(previous: Any) -> Any:
        return _in_layout(previous, canon, reduced, call)

    scale, translation = _base_transform(source, axes)
    factors = [by_axis.get(a, 1) for a in axes]
    transforms = [(scale, translation)]
    for n in range(1, levels + 1):
        transforms.append(_ome.level_transform(scale, translation,
                                               [f ** n for f in factors]))
    chunks = source.storage_chunks if source.storage_chunks and \
        len(source.storage_chunks) == len(axes) else None
    with Staged(args.output) as tmp:
        _write_ome(tmp, [source.array] * (levels + 1), axes, source, transforms,
                   args.ome_version, chunks, args,
                   {"reducer": reducer, "factor": [by_axis.get(a, 1) for a in canon],
                    "rounding": args.rounding if reducer == "mean" else None,
                    "kernel_size": list(kern), "stride": list(kern), "ceil_mode": False},
                   pyramid=next_level)


def main(argv: list[str]) -> int:
    """Run ``poolnd pool ...`` or ``poolnd pyramid ...``; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a bad option (already reported on one line)
        return int(exc.code or 0)
    prog = f"poolnd {args.command}"
    try:
        (_pool if args.command == "pool" else _pyramid)(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; {args.output!r} was left as it was", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"{prog}: error: out of memory (use a Zarr input, or a smaller --chunk-mb)",
              file=sys.stderr)
        return 1
    except FileError as exc:
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.status
    except Exception as exc:  # one line, never a traceback
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 1
    return 0

