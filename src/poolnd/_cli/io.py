"""Array files for the command line: ``.npy``, images (PNG and the like, TIFF) and Zarr.

Reading gives a NumPy array for images and small ``.npy`` files, and a lazy Dask array for
Zarr and for ``.npy`` files past `LAZY_BYTES` (memory-mapped), so that large inputs are
pooled out of core. Writing stores a Dask result chunk by chunk. OME-Zarr multiscales
metadata (`multiscales`) describes a pyramid's levels. Dask, Zarr, imageio and tifffile are
imported only here, on use (the ``files`` extra).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "LAZY_BYTES",
    "FileError",
    "NpyFile",
    "Source",
    "format_of",
    "multiscales",
    "read",
    "write",
    "write_zarr",
]

LAZY_BYTES = 256 << 20  # .npy files larger than this are read lazily, memory-mapped
PROGRESS_AFTER_S = 1.0  # the progress bar appears once work has lasted this long
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
TIFF_SUFFIXES = (".tif", ".tiff")


class FileError(ValueError):
    """A file that cannot be read or written as asked (the message says which and why)."""


def format_of(path: str) -> str:
    """``'npy'``, ``'image'``, ``'tiff'`` or ``'zarr'`` from a path's suffix.

    Examples
    --------
    >>> format_of("scan.ome.zarr"), format_of("a/b.TIF"), format_of("x.npy")
    ('zarr', 'tiff', 'npy')
    """
    lower = path.rstrip("/\\").lower()
    if lower.endswith(".npy"):
        return "npy"
    if lower.endswith(".zarr"):
        return "zarr"
    if lower.endswith(TIFF_SUFFIXES):
        return "tiff"
    if lower.endswith(IMAGE_SUFFIXES):
        return "image"
    raise FileError(
        f"unsupported file format of {path!r}: use .npy, .zarr, .tif/.tiff or an image "
        f"({', '.join(IMAGE_SUFFIXES)})"
    )


@dataclass
class Source:
    """An array read from a file, and what the file says about it."""

    array: Any  # numpy.ndarray or dask.array.Array
    storage_chunks: tuple[int, ...] | None = None  # Zarr's chunk shape
    axes: list[dict[str, Any]] | None = None  # OME-Zarr axes, when the input had them
    scale: list[float] | None = None  # OME-Zarr scale of the level read


class NpyFile:
    """A ``.npy`` file as Dask reads and writes it: each access maps the file anew, so the
    object pickles as its path (to worker processes) instead of as the file's contents."""

    def __init__(self, path: str, shape: tuple[int, ...], dtype: Any) -> None:
        self.path, self.shape, self.dtype = os.path.abspath(path), tuple(shape), np.dtype(dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.array(np.load(self.path, mmap_mode="r", allow_pickle=False)[key])

    def __setitem__(self, key: Any, value: np.ndarray) -> None:
        target = np.load(self.path, mmap_mode="r+", allow_pickle=False)
        target[key] = value
        target.flush()


def _lazy(array: Any, previous: tuple[int, ...] | None, chunk_mb: int) -> Any:
    """A Dask array over ``array`` in chunks of about ``chunk_mb`` MiB, whole multiples of
    the storage chunks ``previous`` where given."""
    import dask
    import dask.array as da

    with dask.config.set({"array.chunk-size": f"{chunk_mb}MiB"}):
        chunks = da.core.normalize_chunks("auto", array.shape, dtype=array.dtype,
                                          previous_chunks=previous)
    return da.from_array(array, chunks=chunks, asarray=False, lock=False)


def _zarr_source(path: str, component: str | None, chunk_mb: int) -> Source:
    import zarr

    try:
        node = zarr.open(path, mode="r") if component is None else zarr.open(
            path, mode="r", path=component)
    except (FileNotFoundError, KeyError, ValueError, TypeError) as exc:
        where = repr(path) if component is None else f"{path!r} (component {component!r})"
        raise FileError(f"cannot open {where} as Zarr: {_one_line(exc)}") from None
    axes = scale = None
    if isinstance(node, zarr.Group):
        attrs = dict(node.attrs)
        ms = (attrs.get("ome") or {}).get("multiscales") or attrs.get("multiscales")
        if ms:
            axes = ms[0].get("axes")
            first = ms[0]["datasets"][0]
            for t in first.get("coordinateTransformations", []):
                if t.get("type") == "scale":
                    scale = list(t["scale"])
            node = node[first["path"]]
        else:
            arrays = sorted(name for name, _ in node.arrays())
            if len(arrays) != 1:
                raise FileError(
                    f"{path!r} is a Zarr group with {len(arrays)} arrays "
                    f"({', '.join(arrays) or 'none'}) and no OME-Zarr multiscales; name one "
                    f"with --component"
                )
            node = node[arrays[0]]
    chunks = tuple(int(c) for c in node.chunks)
    return Source(_lazy(node, chunks, chunk_mb), chunks, axes, scale)


def read(path: str, component: str | None = None, chunk_mb: int = 64) -> Source:
    """Read ``path`` (see the module doc); raises `FileError` with the reason."""
    kind = format_of(path)
    if kind != "zarr" and component is not None:
        raise FileError(f"--component applies to Zarr inputs only; got {path!r}")
    if kind == "zarr":
        if not os.path.isdir(path):
            raise FileError(f"cannot read {path!r}: no such Zarr directory")
        return _zarr_source(path, component, chunk_mb)
    if not os.path.isfile(path):
        raise FileError(f"cannot read {path!r}: no such file")
    try:
        if kind == "npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            if arr.nbytes > LAZY_BYTES:
                return Source(_lazy(NpyFile(path, arr.shape, arr.dtype), None, chunk_mb))
            return Source(np.array(arr))
        if kind == "tiff":
            import tifffile

            return Source(tifffile.imread(path))
        import imageio.v3 as iio

        with open(path, "rb") as f:  # imageio leaves a broken file open
            data = f.read()
        return Source(np.asarray(iio.imread(data, extension=os.path.splitext(path)[1].lower())))
    except FileError:
        raise
    except Exception as exc:  # each reader has its own errors for a broken file
        raise FileError(f"cannot read {path!r} as {kind}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _computed(array: Any, progress: bool) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array
    with _progress(progress):
        return np.asarray(array.compute())


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(show: bool) -> Any:
    """Dask's text progress bar on stderr, shown once work has lasted `PROGRESS_AFTER_S`."""
    if not show:
        return _NoProgress()
    import sys

    from dask.diagnostics import ProgressBar

    return ProgressBar(minimum=PROGRESS_AFTER_S, dt=0.25, out=sys.stderr)


def _regular(array: Any, chunks: tuple[int, ...] | None) -> tuple[Any, tuple[int, ...]]:
    """A Dask array in regular chunks (``chunks``, capped by the shape, or its own first
    ones), as Zarr stores them."""
    import dask.array as da

    if not isinstance(array, da.Array):
        array = da.from_array(array, chunks="auto")
    if chunks is None:
        chunks = tuple(c[0] if c else 1 for c in array.chunks)
    chunks = tuple(max(1, min(c, n)) for c, n in zip(chunks, array.shape))
    return array.rechunk(chunks), chunks


def write_zarr(path: str, array: Any, chunks: tuple[int, ...] | None, progress: bool, *,
               group: Any = None, name: str | None = None,
               dimension_names: list[str] | None = None) -> Any:
    """Store ``array`` as a Zarr array at ``path`` (or as ``name`` in ``group``), out of core,
    chunk by chunk; returns the Zarr array. In a Zarr v2 group the chunk keys are nested
    (``0/1/2``, as OME-Zarr 0.4 requires); v3 arrays carry ``dimension_names`` when given."""
    import dask.array as da
    import zarr

    array, chunks = _regular(array, chunks)
    options: dict[str, Any] = {"shape": array.shape, "chunks": chunks, "dtype": array.dtype,
                               "overwrite": True}
    if group is None:
        target = zarr.create_array(path, **options)
    elif group.metadata.zarr_format == 2:
        target = group.create_array(name, chunk_key_encoding={"name": "v2", "separator": "/"},
                                    **options)
    else:
        target = group.create_array(name, dimension_names=dimension_names, **options)
    with _progress(progress):
        da.store(array, target, lock=False)
    return target


def write(path: str, array: Any, *, chunks: tuple[int, ...] | None = None,
          progress: bool = True) -> None:
    """Write ``array`` (NumPy or Dask) to ``path`` in the format its suffix names."""
    kind = format_of(path)
    try:
        if kind == "zarr":
            write_zarr(path, array, chunks, progress)
        elif kind == "npy":
            if isinstance(array, np.ndarray):
                np.save(path, array)
            else:
                import dask.array as da

                header = np.lib.format.open_memmap(path, mode="w+", dtype=array.dtype,
                                                   shape=array.shape)
                del header  # the file exists, sized; tasks write their blocks into it
                with _progress(progress):
                    da.store(array, NpyFile(path, array.shape, array.dtype), lock=False)
        elif kind == "tiff":
            import tifffile

            data = _computed(array, progress)
            rgb = data.ndim == 3 and data.shape[-1] == 3
            tifffile.imwrite(path, data, photometric="rgb" if rgb else "minisblack")
        else:
            import imageio.v3 as iio

            iio.imwrite(path, _computed(array, progress))
    except FileError:
        raise
    except Exception as exc:  # the writers' own refusals (dtype, shape) and OS errors
        raise FileError(f"cannot write {path!r} as {kind}: {_one_line(exc)}") from None


def multiscales(axes: list[dict[str, Any]], scales: list[list[float]], *, name: str,
                method: str, version: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """OME-Zarr ``multiscales`` metadata (NGFF 0.4 or 0.5) for levels ``"0"``, ``"1"``, ...

    Examples
    --------
    >>> m = multiscales([{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
    ...                 [[1.0, 1.0], [2.0, 2.0]], name="img", method="poolnd.pool",
    ...                 version="0.4", kwargs={"reducer": "mean"})
    >>> [d["path"] for d in m["datasets"]], m["datasets"][1]["coordinateTransformations"]
    (['0', '1'], [{'type': 'scale', 'scale': [2.0, 2.0]}])
    """
    entry: dict[str, Any] = {
        "name": name,
        "axes": axes,
        "datasets": [
            {"path": str(level), "coordinateTransformations": [{"type": "scale",
                                                                "scale": scale}]}
            for level, scale in enumerate(scales)
        ],
        "type": kwargs.get("reducer", method),
        "metadata": {"method": method, "kwargs": kwargs},
    }
    if version == "0.4":
        entry = {"version": "0.4", **entry}
    return entry


def spatial_names(count: int) -> list[str]:
    """NGFF names of ``count`` (2 or 3) spatial axes."""
    return ["z", "y", "x"][3 - count:]


def level_scale(base: list[float], spatial: list[int], factor: int, level: int) -> list[float]:
    """The scale of pyramid ``level``: the base scale, times ``factor ** level`` on the
    spatial axes."""
    return [s * (factor ** level if i in spatial else 1) for i, s in enumerate(base)]


def nbytes(array: Any) -> int:
    return int(math.prod(array.shape)) * np.dtype(array.dtype).itemsize
