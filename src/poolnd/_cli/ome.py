"""OME-Zarr (NGFF 0.4 and 0.5) metadata for the file commands: ``multiscales`` with a
``scale`` and a ``translation`` per level, placed as ngff-zarr places its own levels (a
pooled cell sits at the centre of the block it pools), and ``omero`` rendering metadata for
RGB(A) images, so that viewers show colours instead of grey channels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["level_transform", "multiscales", "omero", "store_attrs"]

COLOURS = ("FF0000", "00FF00", "0000FF", "FFFFFF")
LABELS = ("Red", "Green", "Blue", "Alpha")


def level_transform(scale: list[float], translation: list[float], factors: list[int],
                    offsets: list[float] | None = None) -> tuple[list[float], list[float]]:
    """The ``scale`` and ``translation`` of cells that each pool ``factors[i]`` cells (the
    stride) of a level placed at ``scale``, ``translation``; ``offsets[i]``: the index,
    in that level's cells, of the first window's centre (default ``(factor - 1) / 2``,
    the centre of a block).

    Examples
    --------
    >>> level_transform([0.5, 1.0], [10.0, 0.0], [2, 4])
    ([1.0, 4.0], [10.25, 1.5])
    """
    offsets = offsets if offsets is not None else [(f - 1) / 2 for f in factors]
    return ([s * f for s, f in zip(scale, factors)],
            [t + s * o for t, s, o in zip(translation, scale, offsets)])


def multiscales(axes: list[dict[str, Any]], transforms: list[tuple[list[float], list[float]]],
                *, name: str, version: str, kind: str, kwargs: dict[str, Any]
                ) -> dict[str, Any]:
    """A ``multiscales`` entry for levels ``"0"``, ``"1"``, ... with their (scale,
    translation) ``transforms``.

    Examples
    --------
    >>> m = multiscales([{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
    ...                 [([1.0, 1.0], [0.0, 0.0]), ([2.0, 2.0], [0.5, 0.5])], name="img",
    ...                 version="0.4", kind="mean", kwargs={})
    >>> [d["path"] for d in m["datasets"]]
    ['0', '1']
    >>> m["datasets"][1]["coordinateTransformations"]  # doctest: +NORMALIZE_WHITESPACE
    [{'type': 'scale', 'scale': [2.0, 2.0]},
     {'type': 'translation', 'translation': [0.5, 0.5]}]
    """
    entry: dict[str, Any] = {
        "name": name,
        "axes": axes,
        "datasets": [
            {"path": str(level), "coordinateTransformations": [
                {"type": "scale", "scale": [float(v) for v in scale]},
                {"type": "translation", "translation": [float(v) for v in translation]}]}
            for level, (scale, translation) in enumerate(transforms)
        ],
        "type": kind,
        "metadata": {"method": "poolnd.pool", "kwargs": kwargs},
    }
    if version == "0.4":
        entry = {"version": "0.4", **entry}
    return entry


def omero(channels: int, dtype: Any, name: str, version: str) -> dict[str, Any]:
    """``omero`` rendering metadata for an RGB or RGBA image: each channel in its colour,
    the full range of ``dtype`` as its window."""
    dt = np.dtype(dtype)
    lo, hi = (float(np.iinfo(dt).min), float(np.iinfo(dt).max)) if dt.kind in "iu" else \
        (0.0, 1.0)
    entry: dict[str, Any] = {
        "name": name,
        "channels": [{"active": True, "coefficient": 1.0, "color": COLOURS[i],
                      "family": "linear", "inverted": False, "label": LABELS[i],
                      "window": {"min": lo, "max": hi, "start": lo, "end": hi}}
                     for i in range(channels)],
        "rdefs": {"defaultT": 0, "defaultZ": 0, "model": "color"},
    }
    if version == "0.4":
        entry = {"version": "0.4", **entry}
    return entry


def store_attrs(group: Any, version: str, entry: dict[str, Any],
                rendering: dict[str, Any] | None) -> None:
    """Write ``multiscales`` (and ``omero``) into ``group``'s attributes as ``version``
    lays them out (0.4: top level; 0.5: under ``ome``)."""
    if version == "0.4":
        attrs: dict[str, Any] = {"multiscales": [entry]}
        if rendering:
            attrs["omero"] = rendering
    else:
        ome: dict[str, Any] = {"version": "0.5", "multiscales": [entry]}
        if rendering:
            ome["omero"] = rendering
        attrs = {"ome": ome}
    group.attrs.update(attrs)
