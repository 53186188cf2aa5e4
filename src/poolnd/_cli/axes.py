"""Axis names for the file commands: letters from ``tczyx`` (as bioio/aicsimageio's
``TCZYX`` and OME-NGFF name them): ``t`` time, ``c`` channel (colour included), ``z``, ``y``,
``x`` space. Only space axes are pooled unless asked; OME-Zarr stores them in ``tczyx``
order.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["LETTERS", "TYPES", "canonical_order", "ome_axes", "parse_axes"]

LETTERS = "tczyx"
TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}


def check_letters(text: str) -> str:
    """``text`` lower-cased if it is distinct letters from ``tczyx``, else ValueError.

    Examples
    --------
    >>> check_letters("CYX")
    'cyx'
    """
    axes = text.strip().lower()
    bad = sorted(set(axes) - set(LETTERS))
    if not axes or bad:
        raise ValueError(f"expected letters from tczyx such as yx, cyx, zyx or tczyx; got "
                         f"{text!r}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"each axis letter may appear once; got {text!r}")
    return axes


def parse_axes(text: str) -> str:
    """argparse type for ``--axes`` and ``--pool-axes``."""
    try:
        return check_letters(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def canonical_order(axes: str) -> list[int]:
    """The permutation that puts ``axes`` in OME-NGFF's ``tczyx`` order.

    Examples
    --------
    >>> canonical_order("yxc"), canonical_order("zcyx")
    ([2, 0, 1], [1, 0, 2, 3])
    """
    return sorted(range(len(axes)), key=lambda i: LETTERS.index(axes[i]))


def ome_axes(axes: str, known: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """NGFF ``axes`` entries for ``axes``: name and type, and the unit (and any other field)
    of the same-named axis in ``known`` (an input's OME-Zarr axes).

    Examples
    --------
    >>> ome_axes("cyx", [{"name": "y", "type": "space", "unit": "micrometer"}])[:2]
    [{'name': 'c', 'type': 'channel'}, {'name': 'y', 'type': 'space', 'unit': 'micrometer'}]
    """
    by_name = {a.get("name"): a for a in known or []}
    out = []
    for letter in axes:
        entry = {"name": letter, "type": TYPES[letter]}
        for key, value in by_name.get(letter, {}).items():
            if key not in entry:
                entry[key] = value
        out.append(entry)
    return out
