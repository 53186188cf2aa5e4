"""Array files for the command line: ``.npy``, images (PNG and the like, TIFF) and Zarr
(plain or OME-Zarr).

Reading gives a NumPy array for images and small ``.npy`` files, and a lazy Dask array for
Zarr and for ``.npy`` files past `LAZY_BYTES` (memory-mapped), so that large inputs are
pooled out of core, together with what the file says about its axes: decoded images are
``yx`` or ``yxc``, OME-Zarr and TIFF files name theirs, a plain Zarr v3 array may carry
``dimension_names``. Writing stores a Dask result chunk by chunk and keeps the axes where
the format can hold them. Dask, Zarr, imageio and tifffile are imported only here, on use
(the ``files`` extra); a missing one is named with the command that installs it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .axes import LETTERS
from .errors import FileError, MissingExtra, need

__all__ = [
    "IMAGE_SUFFIXES",
    "LAZY_BYTES",
    "FileError",
    "NpyFile",
    "Source",
    "format_of",
    "image_refusal",
    "read",
    "write",
    "write_zarr",
]

LAZY_BYTES = 256 << 20  # .npy files larger than this are read lazily, memory-mapped
PROGRESS_AFTER_S = 1.0  # the progress bar appears once work has lasted this long
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
TIFF_SUFFIXES = (".tif", ".tiff")
IMAGE_DTYPES = {".png": ("uint8", "uint16")}  # other image formats: uint8 only

# what each format's files start with, to name a corrupt or mislabelled file
MAGIC = {
    "npy": ((b"\x93NUMPY",), "a NumPy .npy file"),
    "tiff": ((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), "a TIFF file"),
    ".png": ((b"\x89PNG\r\n\x1a\n",), "a PNG image"),
    ".jpg": ((b"\xff\xd8\xff",), "a JPEG image"),
    ".jpeg": ((b"\xff\xd8\xff",), "a JPEG image"),
    ".gif": ((b"GIF87a", b"GIF89a"), "a GIF image"),
    ".bmp": ((b"BM",), "a BMP image"),
    ".webp": ((b"RIFF",), "a WebP image"),
}


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


def _suffix(path: str) -> str:
    return os.path.splitext(path.rstrip("/\\"))[1].lower()


@dataclass
class Source:
    """An array read from a file, and what the file says about it."""

    array: Any  # numpy.ndarray or dask.array.Array
    storage_chunks: tuple[int, ...] | None = None  # Zarr's chunk shape
    axes: str | None = None  # letters from tczyx, where the file names them
    ome: dict[str, Any] | None = None  # OME-Zarr: version, axes, scale, translation, name
    colour: bool = False  # the c axis is an image's colour (RGB or RGBA)
    kind: str = ""
    path: str = ""
    notes: list[str] = field(default_factory=list)


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
    dask = need("dask", "reading Zarr and large .npy files")
    da = need("dask.array", "reading Zarr and large .npy files")

    with dask.config.set({"array.chunk-size": f"{chunk_mb}MiB"}):
        chunks = da.core.normalize_chunks("auto", array.shape, dtype=array.dtype,
                                          previous_chunks=previous)
    return da.from_array(array, chunks=chunks, asarray=False, lock=False)


def _letters(names: Any) -> str | None:
    """Names such as ``['c', 'y', 'x']`` as letters, if each is one of tczyx, once."""
    if not names or any(not isinstance(n, str) for n in names):
        return None
    text = "".join(n.lower() for n in names)
    if len(text) != len(names) or set(text) - set(LETTERS) or len(set(text)) != len(text):
        return None
    return text


def _zarr_source(path: str, component: str | None, chunk_mb: int) -> Source:
    zarr = need("zarr", f"reading {path!r}")
    need("dask", f"reading {path!r}")
    if not any(os.path.exists(os.path.join(path, m)) for m in ("zarr.json", ".zarray",
                                                                ".zgroup")):
        raise FileError(f"cannot read {path!r}: expected a Zarr array or group (a zarr.json, "
                        f".zarray or .zgroup file in the directory), found none")
    try:
        node = zarr.open(path, mode="r") if component is None else zarr.open(
            path, mode="r", path=component)
    except (FileNotFoundError, KeyError, ValueError, TypeError) as exc:
        where = repr(path) if component is None else f"{path!r} (component {component!r})"
        raise FileError(f"cannot open {where} as Zarr: {_one_line(exc)}") from None
    ome = None
    if isinstance(node, zarr.Group):
        attrs = dict(node.attrs)
        version = (attrs.get("ome") or {}).get("version")
        ms = (attrs.get("ome") or {}).get("multiscales") or attrs.get("multiscales")
        if ms:
            entry = ms[0]
            version = version or entry.get("version", "0.4")
            try:
                axes_meta = list(entry["axes"])
                first = entry["datasets"][0]
                node = node[first["path"]]
            except (KeyError, IndexError, TypeError) as exc:
                raise FileError(f"cannot read {path!r}: its OME-Zarr multiscales metadata "
                                f"lacks axes or a first dataset ({_one_line(exc)})") from None
            scale = translation = None
            for t in first.get("coordinateTransformations", []):
                if t.get("type") == "scale":
                    scale = [float(v) for v in t["scale"]]
                elif t.get("type") == "translation":
                    translation = [float(v) for v in t["translation"]]
            names = [a.get("name") if isinstance(a, dict) else a for a in axes_meta]
            axes = _letters(names)
            if axes is None or len(axes) != node.ndim:
                raise FileError(f"cannot read {path!r}: its OME-Zarr axes {names} are not "
                                f"{node.ndim} distinct names from t, c, z, y, x")
            ome = {"version": str(version), "axes": [a if isinstance(a, dict) else
                                                     {"name": a} for a in axes_meta],
                   "scale": scale, "translation": translation, "name": entry.get("name"),
                   "omero": attrs.get("omero") or (attrs.get("ome") or {}).get("omero")}
        else:
            arrays = sorted(name for name, _ in node.arrays())
            if len(arrays) != 1:
                raise FileError(
                    f"{path!r} is a Zarr group with {len(arrays)} arrays "
                    f"({', '.join(arrays) or 'none'}) and no OME-Zarr multiscales; name one "
                    f"with --component"
                )
            node = node[arrays[0]]
    if ome is None:
        dims: Any = getattr(node.metadata, "dimension_names", None)
        axes = _letters(list(dims)) if dims else None
    chunks = tuple(int(c) for c in node.chunks)
    return Source(_lazy(node, chunks, chunk_mb), chunks, axes, ome, kind="zarr", path=path)


def _check_magic(path: str, key: str) -> None:
    starts, what = MAGIC[key]
    with open(path, "rb") as f:
        head = f.read(16)
    if not any(head.startswith(s) for s in starts) or (key == ".webp" and head[8:12] != b"WEBP"):
        shown = head[:8]
        raise FileError(f"cannot read {path!r}: expected {what}, but the file "
                        f"{'is empty' if not head else f'starts with {shown!r}'}")


def _tiff_axes(series_axes: str, shape: tuple[int, ...]) -> tuple[str | None, bool]:
    """tifffile's series axes (``YXS``, ``ZYX``, ``CYX``...) as letters, and whether the
    channel axis is an image's colour samples (``S``)."""
    mapping = {"T": "t", "C": "c", "S": "c", "Z": "z", "Y": "y", "X": "x"}
    if len(series_axes) != len(shape) or any(a not in mapping for a in series_axes):
        return None, False
    axes = _letters(list(mapping[a] for a in series_axes))
    return axes, axes is not None and "S" in series_axes


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
    _check_magic(path, kind if kind in MAGIC else _suffix(path))
    try:
        if kind == "npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            if arr.nbytes > LAZY_BYTES:
                return Source(_lazy(NpyFile(path, arr.shape, arr.dtype), None, chunk_mb),
                              kind=kind, path=path)
            return Source(np.array(arr), kind=kind, path=path)
        if kind == "tiff":
            tifffile = need("tifffile", f"reading {path!r}")
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                data = series.asarray()
                axes, colour = _tiff_axes(series.axes, data.shape)
            return Source(data, axes=axes, colour=colour, kind=kind, path=path)
        iio = need("imageio.v3", f"reading {path!r}")
        with open(path, "rb") as f:  # imageio leaves a broken file open
            data = f.read()
        image = np.asarray(iio.imread(data, extension=_suffix(path), index=0))
    except MissingExtra:
        raise
    except FileError:
        raise
    except Exception as exc:  # each reader has its own errors for a broken file
        what = MAGIC.get(kind, MAGIC.get(_suffix(path), (None, kind)))[1]
        raise FileError(f"cannot read {path!r} as {what}: {_one_line(exc)}") from None
    if image.ndim == 2:
        return Source(image, axes="yx", kind=kind, path=path)
    if image.ndim == 3 and image.shape[-1] in (2, 3, 4):
        return Source(image, axes="yxc", colour=image.shape[-1] in (3, 4), kind=kind,
                      path=path)
    raise FileError(f"cannot read {path!r}: decoded to shape {image.shape}, expected a "
                    f"grayscale (H, W) or colour (H, W, 3 or 4) image")


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
    need("dask", f"writing {path or name!r} as Zarr")
    import dask.array as da

    zarr = need("zarr", f"writing {path or name!r} as Zarr")
    array, chunks = _regular(array, chunks)
    options: dict[str, Any] = {"shape": array.shape, "chunks": chunks, "dtype": array.dtype,
                               "overwrite": True}
    if group is None:
        target = zarr.create_array(path, dimension_names=dimension_names, **options)
    elif group.metadata.zarr_format == 2:
        target = group.create_array(name, chunk_key_encoding={"name": "v2", "separator": "/"},
                                    **options)
    else:
        target = group.create_array(name, dimension_names=dimension_names, **options)
    with _progress(progress):
        da.store(array, target, lock=False)
    return target


def image_refusal(path: str, axes: str, shape: tuple[int, ...], dtype: Any) -> str | None:
    """Why an image file ``path`` cannot hold an array of ``axes``, ``shape`` and ``dtype``
    (None: it can), with what to write instead."""
    suffix = _suffix(path)
    kinds = IMAGE_DTYPES.get(suffix, ("uint8",))
    instead = "write .tif, .npy or .zarr instead"
    if axes not in ("yx", "yxc") or (axes == "yxc" and shape[-1] not in (3, 4)):
        return (f"{path!r} cannot hold the result: a {suffix} image is 2-d grayscale (yx) or "
                f"RGB/RGBA (yxc), and the result has axes {axes} and shape {tuple(shape)}; "
                f"{instead}")
    if np.dtype(dtype).name not in kinds:
        return (f"{path!r} cannot hold the result: a {suffix} image stores "
                f"{' or '.join(kinds)}, and the result is {np.dtype(dtype).name}; {instead}")
    return None


def _tiff_axes_text(axes: str, shape: tuple[int, ...], dtype: Any) -> tuple[str, bool]:
    rgb = (axes.endswith("c") and shape[-1] in (3, 4) and np.dtype(dtype).kind == "u"
           and np.dtype(dtype).itemsize <= 2 and axes[-3:] == "yxc")
    text = axes.upper()
    return (text[:-1] + "S", True) if rgb else (text, False)


def write(path: str, array: Any, *, kind: str | None = None, axes: str | None = None,
          chunks: tuple[int, ...] | None = None, progress: bool = True,
          label: str | None = None) -> None:
    """Write ``array`` (NumPy or Dask) to ``path`` in the format ``kind`` (default: from the
    suffix), keeping ``axes`` where the format holds them (TIFF axes, Zarr v3
    ``dimension_names``); ``label`` names the file in errors (the final path, where
    ``path`` is a temporary one)."""
    kind = kind or format_of(path)
    label = label or path
    try:
        if kind == "zarr":
            write_zarr(path, array, chunks, progress,
                       dimension_names=list(axes) if axes else None)
        elif kind == "npy":
            if isinstance(array, np.ndarray):
                with open(path, "wb") as f:
                    np.save(f, array)
            else:
                import dask.array as da

                header = np.lib.format.open_memmap(path, mode="w+", dtype=array.dtype,
                                                   shape=array.shape)
                del header  # the file exists, sized; tasks write their blocks into it
                with _progress(progress):
                    target: Any = NpyFile(path, array.shape, array.dtype)  # a store target
                    da.store(array, target, lock=False)
        elif kind == "tiff":
            tifffile = need("tifffile", f"writing {label!r}")
            data = _computed(array, progress)
            if axes:
                text, rgb = _tiff_axes_text(axes, data.shape, data.dtype)
                tifffile.imwrite(path, data, photometric="rgb" if rgb else "minisblack",
                                 metadata={"axes": text})
            else:
                tifffile.imwrite(path, data, photometric="minisblack")
        else:
            iio = need("imageio.v3", f"writing {label!r}")
            iio.imwrite(path, _computed(array, progress), extension=_suffix(label))
    except FileError:
        raise
    except Exception as exc:  # the writers' own refusals (dtype, shape) and OS errors
        raise FileError(f"cannot write {label!r} as {kind}: {_one_line(exc)}") from None


def nbytes(array: Any) -> int:
    return int(math.prod(array.shape)) * np.dtype(array.dtype).itemsize
