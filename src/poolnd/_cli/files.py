"""``poolnd pool`` and ``poolnd pyramid``: pooling array files, out of core for large ones.

``pool`` reads ``.npy``, PNG/TIFF images or Zarr, pools the trailing spatial axes with
`poolnd.pool` (PyTorch's arguments: kernel, stride, padding, dilation, ceil mode) and writes
any of those formats. ``pyramid`` writes an OME-Zarr multiscale pyramid, each level pooled
from the one before with kernel and stride ``--factor`` (ceil mode, so border cells count).
Zarr inputs and large ``.npy`` files are pooled lazily through Dask, chunk by chunk, with a
progress bar once the work lasts a second. Every failure is one line on stderr and a
non-zero exit status.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any, NoReturn

from . import io as _files

__all__ = ["main"]

OPS = {"max": "max", "min": "min", "avg": "mean", "mean": "mean", "sum": "sum"}


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _ints(text: str) -> tuple[int, ...]:
    """``'2'`` or ``'3,2'`` as ints (argparse type)."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an int or comma-separated ints such as 3,3; got {text!r}") from None
    return values


def _padding(text: str) -> Any:
    """An int, comma-separated ints, ``lo:hi`` pairs (``1:0,0:1``) or a mode name."""
    if text.lower() in ("same", "valid", "same_lower"):
        return text.lower()
    try:
        if ":" in text:
            return tuple(tuple(int(v) for v in pair.split(":", 1)) for pair in text.split(","))
        return _ints(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected ints (2 or 1,2), lo:hi pairs (1:0,0:1), 'same', 'same_lower' or "
            f"'valid'; got {text!r}") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ndim", type=int, help="number of spatial axes (default: the length of "
                   "--kernel when it has several values, the OME-Zarr space axes, else every "
                   "axis but the channels)")
    p.add_argument("--channels-last", action="store_true",
                   help="the last axis holds channels (e.g. RGB images)")
    p.add_argument("--component", help="the array inside a Zarr group to read")
    p.add_argument("--chunk-mb", type=int, default=64,
                   help="size of the Dask chunks for lazy inputs, in MiB (default 64)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _parser() -> _Parser:
    parser = _Parser(prog="poolnd", description="Pool array files with poolnd.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    pool = sub.add_parser("pool", help="pool an array file into another",
                          description="Pool INPUT (.npy, PNG/TIFF, .zarr) into OUTPUT.")
    pool.add_argument("input")
    pool.add_argument("output")
    pool.add_argument("--op", choices=sorted(OPS), default="max", help="reducer (default max)")
    pool.add_argument("--kernel", type=_ints, required=True, help="window size, e.g. 2 or 3,3")
    pool.add_argument("--stride", type=_ints, help="step between windows (default: kernel)")
    pool.add_argument("--padding", type=_padding, default=(0,),
                      help="int(s), lo:hi pairs, 'same', 'same_lower' or 'valid' (default 0)")
    pool.add_argument("--dilation", type=_ints, default=(1,), help="window dilation")
    pool.add_argument("--ceil-mode", action="store_true", help="round the output size up")
    pool.add_argument("--exclude-pad", action="store_true",
                      help="averages: leave padding cells out of the divisor")
    _common(pool)
    pyr = sub.add_parser("pyramid", help="write an OME-Zarr multiscale pyramid",
                         description="Write OUTPUT.zarr: level 0 is INPUT, each further level "
                                     "INPUT pooled again by --factor along the spatial axes.")
    pyr.add_argument("input")
    pyr.add_argument("output")
    pyr.add_argument("--levels", type=int, required=True,
                     help="number of reduced levels below the full-resolution level 0")
    pyr.add_argument("--op", choices=sorted(OPS), default="mean", help="reducer (default mean)")
    pyr.add_argument("--factor", type=int, default=2, help="reduction per level (default 2)")
    pyr.add_argument("--ome-version", choices=["0.4", "0.5"], default="0.4",
                     help="OME-NGFF version: 0.4 (Zarr v2, the most widely read) or 0.5 "
                          "(Zarr v3)")
    _common(pyr)
    return parser


def _spatial_count(args: argparse.Namespace, source: _files.Source, kernel_len: int) -> int:
    array = source.array
    if args.ndim is not None:
        count = args.ndim
    elif kernel_len > 1:
        count = kernel_len
    elif source.axes and not args.channels_last:
        count = sum(a.get("type") == "space" for a in source.axes)
    else:
        count = array.ndim - int(args.channels_last)
    need = count + int(args.channels_last)
    if count < 1 or array.ndim < need:
        raise _files.FileError(
            f"the input has shape {tuple(array.shape)}; {count} spatial axes"
            f"{' and a channel axis' if args.channels_last else ''} need at least {need} axes "
            f"(and --ndim must be at least 1)"
        )
    return count


def _op_layout(array: Any, count: int, last: bool) -> tuple[Any, tuple[int, ...]]:
    """``array`` with its leading (non-spatial, non-channel) axes folded into the batch and
    channel axes poolnd takes; returns it and the leading shape, to unfold the result."""
    lead = tuple(array.shape[: array.ndim - count - int(last)])
    rest = tuple(array.shape[len(lead):])
    if last:
        folded = rest if not lead else (math.prod(lead), *rest)
    elif not lead:
        folded = (1, *rest)
    elif len(lead) <= 2:
        folded = tuple(array.shape)
    else:
        folded = (math.prod(lead[:-1]), lead[-1], *rest)
    return array.reshape(folded), lead


def _unfold(out: Any, lead: tuple[int, ...], count: int, last: bool) -> Any:
    tail = tuple(out.shape[out.ndim - count - int(last):])
    return out.reshape(lead + tail)


def _check_output(args: argparse.Namespace) -> None:
    if os.path.abspath(args.input.rstrip("/")) == os.path.abspath(args.output.rstrip("/")):
        raise _files.FileError(f"the output must differ from the input; got {args.output!r}")
    if os.path.exists(args.output) and not args.overwrite:
        raise _files.FileError(f"{args.output!r} exists; pass --overwrite to replace it")
    _files.format_of(args.output)


def _pool(args: argparse.Namespace) -> None:
    _check_output(args)
    source = _files.read(args.input, args.component, args.chunk_mb)
    count = _spatial_count(args, source, len(args.kernel))
    x, lead = _op_layout(source.array, count, args.channels_last)
    import poolnd

    padding = args.padding
    kwargs: dict[str, Any] = {"ndim": count, "channels_last": args.channels_last}
    if OPS[args.op] == "mean":
        kwargs["count_include_pad"] = not args.exclude_pad
    out = poolnd.pool(x, OPS[args.op], args.kernel, args.stride, padding, args.dilation,
                      args.ceil_mode, **kwargs)
    out = _unfold(out, lead, count, args.channels_last)
    chunks = source.storage_chunks
    if chunks is not None and len(chunks) != out.ndim:
        chunks = None
    _files.write(args.output, out, chunks=chunks, progress=not args.quiet)


def _pyramid_axes(source: _files.Source, lead: int, count: int) -> list[dict[str, Any]]:
    if source.axes and len(source.axes) == lead + count:
        return source.axes
    if count not in (2, 3) or lead > 2:
        raise _files.FileError(
            f"OME-Zarr multiscales take 2 or 3 spatial axes after at most a time and a "
            f"channel axis; the input has {lead} leading and {count} spatial axes (set "
            f"--ndim)"
        )
    names = [("c", "channel")] if lead == 1 else [("t", "time"), ("c", "channel")][:lead]
    return [{"name": n, "type": t} for n, t in names] + [
        {"name": n, "type": "space"} for n in _files.spatial_names(count)]


def _pyramid(args: argparse.Namespace) -> None:
    import dask.array as da
    import zarr

    if args.levels < 0:
        raise _files.FileError(f"--levels must be 0 or more; got {args.levels}")
    if args.factor < 2:
        raise _files.FileError(f"--factor must be at least 2; got {args.factor}")
    _check_output(args)
    if _files.format_of(args.output) != "zarr":
        raise _files.FileError(f"a pyramid is written to a .zarr directory; got {args.output!r}")
    source = _files.read(args.input, args.component, args.chunk_mb)
    count = _spatial_count(args, source, 1)
    base = source.array
    if not isinstance(base, da.Array):
        base = da.from_array(base, chunks="auto")
    if args.channels_last:  # OME-Zarr puts channels before the spatial axes
        base = da.moveaxis(base, -1, base.ndim - count - 1)
    lead = base.ndim - count
    axes = _pyramid_axes(source, lead, count)
    chunks = source.storage_chunks if source.storage_chunks and not args.channels_last \
        else None
    version = args.ome_version
    group = zarr.open_group(args.output, mode="w", zarr_format=2 if version == "0.4" else 3)
    spatial = list(range(lead, base.ndim))
    scale0 = source.scale if source.scale and len(source.scale) == base.ndim else \
        [1.0] * base.ndim
    reducer = OPS[args.op]
    import poolnd

    names = [a["name"] for a in axes]
    level = _files.write_zarr("", base, chunks, not args.quiet, group=group, name="0",
                              dimension_names=names)
    for n in range(1, args.levels + 1):
        previous = da.from_array(level, chunks=level.chunks, asarray=False, lock=False)
        x, lead_shape = _op_layout(previous, count, False)
        out = poolnd.pool(x, reducer, args.factor, args.factor, 0, 1, True, ndim=count)
        out = _unfold(out, lead_shape, count, False)
        level = _files.write_zarr("", out, chunks or tuple(level.chunks), not args.quiet,
                                  group=group, name=str(n), dimension_names=names)
    entry = _files.multiscales(
        axes, [_files.level_scale(scale0, spatial, args.factor, n)
               for n in range(args.levels + 1)],
        name=os.path.basename(args.input.rstrip("/")), method="poolnd.pool",
        version=version,
        kwargs={"reducer": reducer, "kernel_size": args.factor, "stride": args.factor,
                "ceil_mode": True},
    )
    if version == "0.4":
        group.attrs["multiscales"] = [entry]
    else:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [entry]}


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
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"{prog}: error: out of memory (use a Zarr input, or a smaller --chunk-mb)",
              file=sys.stderr)
        return 1
    except Exception as exc:  # one line, never a traceback
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 1
    return 0
