"""``poolnd explain``: the windows of a pooling call, as text or as a matplotlib figure.

`explain` computes what a 1D or 2D max or average pooling call does, window by window
(the cells each output reads, which of them are padding, and for max the cell selected),
with poolnd itself. `render_text` writes it for a terminal; `windows_figure` draws it in
the lecture's style: the input grid with its values, each window outlined in its own
colour, padding hatched, the output grid coloured like the windows. `invariance_figure`
draws the numbers of `poolnd.invariance.compare`.

matplotlib is imported inside the drawing functions only, so ``import poolnd`` stays light.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _args
from .. import functional as F
from .._geometry import effective_kernel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..invariance import Consistency

__all__ = [
    "Explanation",
    "default_input",
    "explain",
    "invariance_figure",
    "main",
    "render_text",
    "save",
    "windows_figure",
]

LECTURE_1D = (1.0, 2.0, -1.0, 0.0, 2.0, 3.0, -2.0, 0.0)
OPS = ("max", "avg")


@dataclass(frozen=True)
class Explanation:
    """One pooling call over a single ``(L,)`` or ``(H, W)`` plane, window by window.

    Attributes
    ----------
    op : {'max', 'avg'}
        The pooling.
    x : ndarray
        The input plane.
    kernel, stride, padding, dilation : tuple of int
        Canonical window parameters, one per spatial dimension.
    ceil_mode : bool
        Whether the output size was rounded up.
    out : ndarray
        The pooled plane.
    selected : ndarray or None
        Max only: ``out.shape + (ndim,)`` input coordinates of each window's maximum
        (``-1`` for a window holding padding only).
    """

    op: str
    x: np.ndarray
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    out: np.ndarray
    selected: np.ndarray | None

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions, 1 or 2."""
        return self.x.ndim

    @property
    def call(self) -> str:
        """The functional call this explains, e.g. ``max_pool2d(x, kernel_size=3, stride=2)``."""
        def arg(values: tuple[int, ...]) -> str:
            return str(values[0]) if len(set(values)) == 1 else str(values)

        parts = [f"kernel_size={arg(self.kernel)}"]
        if self.stride != self.kernel:
            parts.append(f"stride={arg(self.stride)}")
        if any(self.padding):
            parts.append(f"padding={arg(self.padding)}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={arg(self.dilation)}")
        if self.ceil_mode:
            parts.append("ceil_mode=True")
        return f"{self.op}_pool{self.ndim}d(x, {', '.join(parts)})"

    def positions(self, axis: int, index: int) -> list[int]:
        """Input positions read by output ``index`` along ``axis`` (padding < 0 or >= size)."""
        start = index * self.stride[axis] - self.padding[axis]
        return [start + t * self.dilation[axis] for t in range(self.kernel[axis])]

    def window(self, index: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The cells of the window of output ``index``, in row-major order."""
        return list(itertools.product(*(self.positions(a, i) for a, i in enumerate(index))))

    def kind(self, cell: tuple[int, ...]) -> str:
        """``'input'``, ``'padding'`` or ``'outside'`` (beyond the padded input, in ceil mode)."""
        if all(0 <= c < n for c, n in zip(cell, self.x.shape)):
            return "input"
        if all(-p <= c < n + p for c, n, p in zip(cell, self.x.shape, self.padding)):
            return "padding"
        return "outside"

    def extent(self, axis: int) -> tuple[int, int]:
        """First and last position shown along ``axis``: the padding and every window cell."""
        last = max(self.positions(axis, self.out.shape[axis] - 1)[-1],
                   self.x.shape[axis] + self.padding[axis] - 1)
        return -self.padding[axis], last


def default_input(size: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """The plane `explain` shows when none is given.

    The lecture's ``[1, 2, -1, 0, 2, 3, -2, 0]`` for size ``(8,)``, otherwise seeded random
    integers 0 to 9 (ties included: the first maximum in row-major order wins them).

    Examples
    --------
    >>> default_input((8,))
    array([ 1.,  2., -1.,  0.,  2.,  3., -2.,  0.])
    >>> default_input((2, 3)).shape
    (2, 3)
    """
    if tuple(size) == (8,):
        return np.array(LECTURE_1D)
    return np.random.default_rng(seed).integers(0, 10, size=size).astype(np.float64)


def explain(
    op: str,
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Explanation:
    """Pool one ``(L,)`` or ``(H, W)`` plane and keep what each window did.

    Parameters
    ----------
    op : {'max', 'avg'}
        Max or average pooling (average pooling counts padding in its divisor, PyTorch's
        default, and has no dilation).
    x : array_like
        The plane, 1D or 2D, real numbers.
    kernel_size, stride, padding, dilation, ceil_mode
        As in ``poolnd.functional.max_pool2d``.

    Returns
    -------
    Explanation

    Examples
    --------
    >>> import numpy as np
    >>> e = explain("max", [1., 2, -1, 0, 2, 3, -2, 0], 3, 2, 1)
    >>> e.out
    array([2., 2., 3., 3.])
    >>> e.window((0,)), e.kind((-1,)), e.selected[:, 0]
    ([(-1,), (0,), (1,)], 'padding', array([1, 1, 5, 5]))
    """
    if op not in OPS:
        raise ValueError(f"explain(): op must be one of {list(OPS)}; got {op!r}")
    try:
        plane = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"explain(): x must be an array of real numbers; got {x!r}") from None
    if plane.ndim not in (1, 2) or 0 in plane.shape:
        raise ValueError(
            f"explain(): x must be a non-empty 1D or 2D plane; got shape {plane.shape}"
        )
    nd = plane.ndim
    name = f"{op}_pool{nd}d"
    kernel = _args.as_int_tuple(name, "kernel_size", kernel_size, nd)
    strides = kernel if stride is None else _args.as_int_tuple(name, "stride", stride, nd)
    pads = _args.as_int_tuple(name, "padding", padding, nd)
    dilations = _args.as_int_tuple(name, "dilation", dilation, nd)
    if op == "avg" and any(d != 1 for d in dilations):
        raise ValueError(
            f"explain(): dilation must be 1 for op='avg' (average pooling has no dilation); "
            f"got {dilation!r}"
        )
    batch = plane[np.newaxis]  # one channel
    fn = getattr(F, name)
    selected = None
    if op == "max":
        out, flat = fn(batch, kernel, strides, pads, dilations, ceil_mode, return_indices=True)
        coords = np.stack(np.unravel_index(np.maximum(flat[0], 0), plane.shape), axis=-1)
        selected = np.where((flat[0] < 0)[..., np.newaxis], -1, coords)
    else:
        out = fn(batch, kernel, strides, pads, ceil_mode)
    return Explanation(op, plane, kernel, strides, pads, dilations, bool(ceil_mode), out[0],
                       selected)


# --------------------------------------------------------------------------------------------
# text


def _fmt(v: Any) -> str:
    if np.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:.3g}" if v != int(v) else str(int(v))


def _span(positions: list[int]) -> str:
    if len(positions) > 1 and positions[1] - positions[0] == 1:
        return f"{positions[0]}..{positions[-1]}"
    return ", ".join(map(str, positions))


def _header(e: Explanation) -> list[str]:
    shape = "x".join(map(str, e.x.shape))
    out = "x".join(map(str, e.out.shape))
    lines = [f"{e.call}: input {shape} -> output {out}"]
    pad_value = "-inf, never the maximum" if e.op == "max" else "0, counted in the divisor"
    pad, past = ("pad", "out") if e.ndim == 1 else ("·", "∘")
    notes = [f"{pad} = padding ({pad_value})"] if any(e.padding) else []
    if e.op == "max":
        notes.append("[v] = the window's maximum")
    if any(d > 1 for d in e.dilation):
        notes.append("cells a dilated window skips are left blank")
    if any(e.kind(c) == "outside" for o in np.ndindex(*e.out.shape) for c in e.window(o)):
        notes.append(f"{past} = beyond the padded input (ceil_mode): ignored")
    if notes:
        lines.append("; ".join(notes))
    return lines


def _text_1d(e: Explanation) -> list[str]:
    lo, hi = e.extent(0)
    positions = list(range(lo, hi + 1))
    labels = {p: _fmt(e.x[p]) if 0 <= p < e.x.shape[0] else
              ("pad" if e.kind((p,)) == "padding" else "out") for p in positions}
    width = max(max(len(_fmt(v)) + 2 for v in e.x), len(str(lo)), len(str(hi)), 3) + 1
    names = [f"out[{o}]" for o in range(e.out.shape[0])]
    left = max(len("position"), *map(len, names)) + 1

    def row(name: str, cells: dict[int, str]) -> str:
        return (name.ljust(left) + "".join(cells.get(p, "").rjust(width) for p in positions)
                ).rstrip()

    lines = [row("position", {p: str(p) for p in positions}), row("input", labels)]
    for o, name in enumerate(names):
        cells = {}
        for p in e.positions(0, o):
            text = labels[p]
            if e.selected is not None and e.selected[o, 0] == p:
                text = f"[{text}]"
            cells[p] = text
        lines.append(row(name, cells).ljust(left + width * len(positions)) + "  -> "
                     + _fmt(e.out[o]))
    lines.append("output".ljust(left) + " ".join(_fmt(v) for v in e.out))
    return lines


def _grid(values: dict[tuple[int, int], str], rows: range, cols: range, indent: str) -> list[str]:
    width = max([len(v) for v in values.values()] + [len(str(c)) for c in cols]) + 1
    side = max(len(str(r)) for r in rows) + 1
    lines = [indent + " " * side + "".join(str(c).rjust(width) for c in cols)]
    for r in rows:
        lines.append(indent + str(r).rjust(side)
                     + "".join(values.get((r, c), "").rjust(width) for c in cols))
    return lines


def _text_2d(e: Explanation) -> list[str]:
    (r0, r1), (c0, c1) = e.extent(0), e.extent(1)
    rows, cols = range(r0, r1 + 1), range(c0, c1 + 1)
    cells = {}
    for r, c in itertools.product(rows, cols):
        kind = e.kind((r, c))
        cells[r, c] = _fmt(e.x[r, c]) if kind == "input" else ("·" if kind == "padding" else "∘")
    out_cells = {(i, j): _fmt(e.out[i, j]) for i, j in np.ndindex(*e.out.shape)}
    reads = np.zeros(e.x.shape, dtype=np.int64)
    lines = ["input (row and column numbers)"]
    lines += _grid(cells, rows, cols, "  ")
    lines += ["", "output"]
    lines += _grid(out_cells, range(e.out.shape[0]), range(e.out.shape[1]), "  ")
    lines += ["", "windows (input rows x columns each output reads)"]
    for i, j in np.ndindex(*e.out.shape):
        window = e.window((i, j))
        kinds = [e.kind(c) for c in window]
        for cell, kind in zip(window, kinds):
            if kind == "input":
                reads[cell] += 1
        line = (f"  out[{i}, {j}] = {_fmt(e.out[i, j])}: rows {_span(e.positions(0, i))} x "
                f"columns {_span(e.positions(1, j))}")
        extra = [f"{kinds.count(k)} {k} cells" for k in ("padding", "outside") if k in kinds]
        if e.selected is not None:
            si, sj = e.selected[i, j]
            extra.append("max at" + (f" ({si}, {sj})" if si >= 0 else ": none (all padding)"))
        lines.append(line + (" (" + ", ".join(extra) + ")" if extra else ""))
    lines += ["", "how many windows read each input cell (0: never read)"]
    lines += _grid({(r, c): str(reads[r, c]) for r, c in np.ndindex(*e.x.shape)},
                   range(e.x.shape[0]), range(e.x.shape[1]), "  ")
    return lines


def render_text(e: Explanation) -> str:
    """The explanation as plain text for a terminal.

    Examples
    --------
    >>> print(render_text(explain("max", [1., 2, -1, 0, 2, 3, -2, 0], 2)))
    max_pool1d(x, kernel_size=2): input 8 -> output 4
    [v] = the window's maximum
    position     0    1    2    3    4    5    6    7
    input        1    2   -1    0    2    3   -2    0
    out[0]       1  [2]                                -> 2
    out[1]                -1  [0]                      -> 0
    out[2]                           2  [3]            -> 3
    out[3]                                    -2  [0]  -> 0
    output   2 0 3 0
    """
    body = _text_1d(e) if e.ndim == 1 else _text_2d(e)
    return "\n".join(line.rstrip() for line in _header(e) + body)


# --------------------------------------------------------------------------------------------
# figures


def _colours(n: int) -> list[tuple[float, ...]]:
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:  # the ten strong hues first, then their light versions
        return [colormaps["tab20"](2 * i % 20 + (2 * i) // 20) for i in range(n)]
    return [colormaps["hsv"](i / n) for i in range(n)]


def _planar(e: Explanation) -> tuple[Any, Any, tuple[int, int]]:
    """Row and column position functions and the output shape, a 1D call as one row."""
    if e.ndim == 2:
        return (lambda i: e.positions(0, i)), (lambda j: e.positions(1, j)), e.out.shape
    return (lambda i: [0]), (lambda j: e.positions(0, j)), (1, e.out.shape[0])


MAX_WINDOWS = 20
"""`windows_figure` draws every window up to this many, else a few (pass ``windows``)."""


def _default_windows(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    every = list(np.ndindex(*shape))
    if len(every) <= MAX_WINDOWS:
        return every
    first = [o for o in every if all(i < 2 for i in o)] if len(shape) == 2 else every[:3]
    return [*first, every[-1]]


def windows_figure(e: Explanation, windows: Any = None) -> Figure:
    """Draw the explanation: input grid, coloured windows, selected cells, output grid.

    Each window gets its own colour and its own inset, so overlapping windows stay apart;
    a dilated window outlines each of its cells and its span (dashed). Padding is hatched
    and labelled with its value; a ring marks the cell a max window selects. A 1D call
    puts each output under the middle of its window; a 2D call draws the output grid on
    the right, each cell in its window's colour.

    Parameters
    ----------
    e : Explanation
        What to draw.
    windows : iterable of tuple of int, optional
        Output indices whose windows to draw (default: all of them when there are at most
        `MAX_WINDOWS`, else the first few and the last).

    Examples
    --------
    >>> fig = windows_figure(explain("max", [1., 2, -1, 0, 2, 3, -2, 0], 2))
    >>> len(fig.axes), fig.texts[-1].get_text()
    (1, "ring: the window's maximum")
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Rectangle

    rows_of, cols_of, (out_h, out_w) = _planar(e)
    plane = e.x if e.ndim == 2 else e.x[np.newaxis]
    (r0, r1), (c0, c1) = ((e.extent(0), e.extent(1)) if e.ndim == 2 else ((0, 0), e.extent(0)))
    kind = (lambda r, c: e.kind((r, c))) if e.ndim == 2 else (lambda r, c: e.kind((c,)))
    spans = [effective_kernel(k, d) for k, d in zip(e.kernel, e.dilation)]
    strides = list(e.stride)
    if e.ndim == 1:
        spans, strides = [1, *spans], [1, *strides]
    overlap = [max(1, math.ceil(sp / st)) for sp, st in zip(spans, strides)]
    slots = overlap[0] * overlap[1]
    step = min(0.1, 0.34 / slots)
    chosen = [tuple(int(i) for i in w) for w in
              (_default_windows(e.out.shape) if windows is None else windows)]
    for w in chosen:
        if len(w) != e.ndim or not all(0 <= i < n for i, n in zip(w, e.out.shape)):
            raise ValueError(
                f"windows_figure(): windows must be output indices of shape {e.out.shape}; "
                f"got {w}"
            )
    planar = {(w[0], w[1]) if e.ndim == 2 else (0, w[0]) for w in chosen}
    colours = _colours(len(chosen))
    colour_of = dict(zip(sorted(planar), colours))
    dilated = any(d > 1 for d in e.dilation)
    pad_text = "\u2212\u221e" if e.op == "max" else "0"  # minus sign, infinity

    width_cells = c1 - c0 + 1
    height_cells = r1 - r0 + 1
    if e.ndim == 2:
        fig = Figure(figsize=(0.62 * (width_cells + out_w) + 2.2, 0.62 * height_cells + 1.9))
        ax = fig.add_axes((0.05, 0.12, 0.58, 0.74))
        ax_out = fig.add_axes((0.69, 0.12, 0.28, 0.74))
    else:
        fig = Figure(figsize=(0.75 * width_cells + 1.6, 3.6))
        ax = fig.add_axes((0.08, 0.14, 0.88, 0.6))
        ax_out = None
    fig.suptitle(f"{e.call}\ninput {'x'.join(map(str, e.x.shape))} → output "
                 f"{'x'.join(map(str, e.out.shape))}", fontsize=11)

    # the input grid
    for r, c in itertools.product(range(r0, r1 + 1), range(c0, c1 + 1)):
        k = kind(r, c)
        if k == "input":
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="white", edgecolor="0.55", lw=0.8))
            ax.text(c + 0.5, r + 0.5, _fmt(plane[r, c]), ha="center", va="center", fontsize=11)
        elif k == "padding":
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="0.92", edgecolor="0.7", lw=0.8,
                                   hatch="///", label="padding"))
            ax.text(c + 0.5, r + 0.5, pad_text, ha="center", va="center", fontsize=9,
                    color="0.45", style="italic")
        else:
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="none", edgecolor="0.75", lw=0.8,
                                   linestyle=":", label="outside"))

    # the windows, and the output cells (grey for windows not drawn)
    for i, j in itertools.product(range(out_h), range(out_w)):
        if (i, j) not in colour_of:
            if ax_out is not None:
                ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor="0.96", edgecolor="0.6",
                                           lw=0.8))
                ax_out.text(j + 0.5, i + 0.5, _fmt(e.out[i, j]), ha="center", va="center",
                            fontsize=11, color="0.5")
            continue
        colour = colour_of[i, j]
        slot = (i % overlap[0]) * overlap[1] + (j % overlap[1])
        inset = 0.05 + slot * step
        rows, cols = rows_of(i), cols_of(j)
        gid = f"window {i},{j}" if e.ndim == 2 else f"window {j}"
        box = Rectangle((cols[0] + inset, rows[0] + inset), cols[-1] - cols[0] + 1 - 2 * inset,
                        rows[-1] - rows[0] + 1 - 2 * inset, fill=False, edgecolor=colour,
                        lw=1.2 if dilated else 2.2, linestyle="--" if dilated else "-", gid=gid)
        ax.add_patch(box)
        if dilated:
            for r, c in itertools.product(rows, cols):
                ax.add_patch(Rectangle((c + inset, r + inset), 1 - 2 * inset, 1 - 2 * inset,
                                       fill=False, edgecolor=colour, lw=2.2, gid=gid + " cell"))
        if e.selected is not None:
            where = e.selected[i, j] if e.ndim == 2 else (0, e.selected[j, 0])
            if where[0] >= 0:
                ax.add_patch(Circle((where[1] + 0.5, where[0] + 0.5), 0.2 + 0.5 * inset,
                                    fill=False, edgecolor=colour, lw=2.0, gid=gid + " max"))
        value = _fmt(e.out[i, j] if e.ndim == 2 else e.out[j])
        if ax_out is not None:
            ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor=(*colour[:3], 0.35),
                                       edgecolor="0.4", lw=0.8, gid=gid + " output"))
            ax_out.text(j + 0.5, i + 0.5, value, ha="center", va="center", fontsize=11)
        else:
            centre = (cols[0] + cols[-1] + 1) / 2
            ax.add_patch(Rectangle((centre - 0.5, 2.0), 1, 1, facecolor=(*colour[:3], 0.35),
                                   edgecolor="0.4", lw=0.8, gid=gid + " output"))
            ax.text(centre, 2.5, value, ha="center", va="center", fontsize=11)
            ax.plot([centre, centre], [1 - inset, 2.0], color=colour, lw=1.2)

    bottom = r1 + 1 if e.ndim == 2 else 3.0
    ax.set_xlim(c0 - 0.1, c1 + 1.1)
    ax.set_ylim(bottom + 0.1, r0 - 0.1)
    ax.set_aspect("equal")
    ax.set_xticks([c + 0.5 for c in range(c0, c1 + 1)], [str(c) for c in range(c0, c1 + 1)])
    ax.xaxis.tick_top()
    if e.ndim == 2:
        ax.set_yticks([r + 0.5 for r in range(r0, r1 + 1)], [str(r) for r in range(r0, r1 + 1)])
    else:
        ax.set_yticks([0.5, 2.5], ["input", "output"])
    ax.tick_params(length=0, labelsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if e.ndim == 2:
        ax.set_title("input and windows", fontsize=10, pad=18)
    if ax_out is not None:
        ax_out.set_xlim(-0.1, out_w + 0.1)
        ax_out.set_ylim(r1 - r0 + 1.1, -0.1)
        ax_out.set_aspect("equal")
        ax_out.set_xticks([j + 0.5 for j in range(out_w)], [str(j) for j in range(out_w)])
        ax_out.set_yticks([i + 0.5 for i in range(out_h)], [str(i) for i in range(out_h)])
        ax_out.xaxis.tick_top()
        ax_out.tick_params(length=0, labelsize=8)
        for spine in ax_out.spines.values():
            spine.set_visible(False)
        ax_out.set_title("output", fontsize=10, pad=18)

    notes = [f"hatched: padding ({pad_text})"] if any(e.padding) else []
    if e.op == "max":
        notes.append("ring: the window's maximum")
    if dilated:
        notes.append("dashed: a dilated window's span, solid: the cells it reads")
    if any(kind(r, c) == "outside" for r, c in
           itertools.product(range(r0, r1 + 1), range(c0, c1 + 1))):
        notes.append("dotted: beyond the padded input (ceil_mode), ignored")
    if len(planar) < out_h * out_w:
        notes.append(f"{len(planar)} of {out_h * out_w} windows drawn")
    fig.text(0.5, 0.03, ";  ".join(notes), ha="center", fontsize=9, color="0.3")
    return fig


def invariance_figure(
    results: dict[str, tuple[Consistency, Consistency]], stride: int, description: str
) -> Figure:
    """Bars of `poolnd.invariance.compare`'s numbers, next to Zhang's one-cell-shift example.

    Left: the signal ``[0 0 1 1 0 0 1 1 ...]`` and its shift by one cell, max-pooled and
    max-blur-pooled (Zhang's Figure 2). Right: the mean change of each op's output under
    shifts smaller than the stride, and under permutations inside stride-sized blocks.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd import invariance
    >>> table = invariance.compare(np.random.default_rng(0).standard_normal((2, 1, 8, 8)))
    >>> fig = invariance_figure(table, 2, "2 noise images")
    >>> len(fig.axes)
    4
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 6.4))
    grid = fig.add_gridspec(2, 2, width_ratios=(1, 1.25), hspace=0.55, wspace=0.25,
                            left=0.06, right=0.98, top=0.86, bottom=0.1)
    fig.suptitle("Weak invariance, measured: pooling under small shifts and within-block "
                 "permutations", fontsize=12)

    toy = np.array([[[0.0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]]])
    shifted = np.roll(toy, 1, axis=-1)
    for row, (name, pool) in enumerate((
        ("max pooling (kernel 2, stride 2)", lambda a: F.max_pool1d(a, 2)),
        ("max-blur pooling (max: kernel 2, stride 1; blur: [1 2 1] / 4, stride 2)",
         lambda a: F.max_blur_pool1d(a)),
    )):
        ax = fig.add_subplot(grid[row, 0])
        a, b = pool(toy)[0, 0], pool(shifted)[0, 0]
        positions = np.arange(a.size) * 2 + 0.5
        ax.step(np.arange(toy.shape[-1]), toy[0, 0], where="mid", color="0.75", lw=1,
                label="input")
        ax.plot(positions, a, "o-", color="tab:blue", label="output")
        ax.plot(positions, b, "s--", color="tab:red", label="output, input shifted by 1")
        ax.set_title(name, fontsize=10)
        ax.set_ylim(-0.15, 1.3)
        ax.set_yticks([0, 0.5, 1])
        ax.tick_params(labelsize=8)
        if row == 0:
            ax.legend(fontsize=7, loc="upper center", ncol=3, frameon=False,
                      bbox_to_anchor=(0.5, 1.0))

    names = list(results)
    colours = _colours(len(names))
    shift_labels = results[names[0]][0].labels
    ax = fig.add_subplot(grid[0, 1])
    width = 0.8 / len(names)
    for n, (name, colour) in enumerate(zip(names, colours)):
        ax.bar(np.arange(len(shift_labels)) + (n - (len(names) - 1) / 2) * width,
               results[name][0].change, width, color=colour, label=name)
    ax.set_xticks(np.arange(len(shift_labels)), [s.replace("shift ", "") for s in shift_labels],
                  fontsize=8)
    ax.set_xlabel(f"shift (cells; stride {stride})", fontsize=9)
    ax.set_ylabel("change of output\nrms(y' - y) / std(y)", fontsize=9)
    ax.set_title("shift by less than the stride (lower: more invariant)", fontsize=10)
    ax.legend(fontsize=8, ncol=len(names), frameon=False)
    ax.tick_params(labelsize=8)

    ax = fig.add_subplot(grid[1, 1])
    changes = [results[name][1].mean_change for name in names]
    bars = ax.bar(np.arange(len(names)), changes, 0.6, color=colours)
    for bar, name in zip(bars, names):
        unchanged = results[name][1].mean_unchanged
        ax.annotate(f"{unchanged:.0%} unchanged", (bar.get_x() + bar.get_width() / 2,
                    bar.get_height()), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(np.arange(len(names)), names, fontsize=8)
    ax.set_ylabel("change of output", fontsize=9)
    ax.set_ylim(0, max([*changes, 0.1]) * 1.3)
    ax.set_title(f"permute cells inside each {stride}x{stride} block (lower: more invariant)",
                 fontsize=10)
    ax.tick_params(labelsize=8)
    fig.text(0.5, 0.015, description, ha="center", fontsize=8, color="0.3")
    return fig


def figure_formats() -> dict[str, str]:
    """The figure formats matplotlib writes here, by suffix (``png``, ``svg``, ``pdf``...);
    `MissingExtra` naming ``poolnd[figures]`` without matplotlib."""
    from .errors import FIGURES_EXTRA, need

    need("matplotlib", "writing a figure", FIGURES_EXTRA)
    from matplotlib.figure import Figure

    return dict(Figure().canvas.get_supported_filetypes())


def check_figure_path(path: str | Path, flag: str = "-o") -> None:
    """Refuse, before any drawing, a figure path whose format matplotlib cannot write
    (`UsageError`) or whose folder is missing (`FileError`)."""
    from .errors import UsageError
    from .safe import check_writable

    suffix = Path(path).suffix.lower().lstrip(".")
    formats = figure_formats()
    if suffix not in formats:
        raise UsageError(f"argument {flag}: cannot write a figure as {str(path)!r}: use a "
                         f"suffix matplotlib writes ({', '.join(sorted(formats))})")
    check_writable(str(path), None)


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) and return the path: drawn under
    a temporary name beside it and renamed into place when complete."""
    from .safe import Staged

    target = Path(path)
    with Staged(str(target)) as tmp:
        fig.savefig(tmp, dpi=120, format=target.suffix.lower().lstrip("."))
    return target


# --------------------------------------------------------------------------------------------
# the command line


def _ints(text: str) -> int | tuple[int, ...]:
    """``'3'`` -> 3, ``'3x2'`` -> (3, 2)."""
    parts = text.lower().split("x")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(
            f"expected an int or ints joined by 'x' (3, 3x2); got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _values(text: str) -> np.ndarray:
    """``'1,2,-1'`` -> a row; ``'1,2;3,4'`` -> a 2D plane (rows split by ';')."""
    import argparse

    try:
        rows = [[float(v) for v in row.split(",")] for row in text.split(";")]
        plane = np.array(rows)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers split by ',' (rows by ';'); got {text!r}"
        ) from None
    return plane[0] if plane.shape[0] == 1 else plane


def _parser() -> Any:
    from .files import _Parser

    parser = _Parser(
        prog="poolnd explain",
        description="Show the windows of a 1D or 2D pooling call: as text, or as a figure "
                    "with -o. With --invariance, compare how max, average and blur pooling "
                    "withstand small shifts and permutations inside blocks.",
    )
    parser.add_argument("--op", choices=OPS, default="max", help="max or average pooling")
    parser.add_argument("--kernel", type=_ints, default=2, metavar="K",
                        help="kernel_size: an int or HxW (default 2)")
    parser.add_argument("--stride", type=_ints, default=None, metavar="S",
                        help="stride (default: the kernel size; 2 with --invariance)")
    parser.add_argument("--padding", type=_ints, default=0, metavar="P", help="padding")
    parser.add_argument("--dilation", type=_ints, default=1, metavar="D", help="dilation")
    parser.add_argument("--ceil-mode", action="store_true", help="round the output size up")
    parser.add_argument("--size", type=_ints, default=8, metavar="N|HxW",
                        help="input size: 8 (1D, the lecture's input) or e.g. 7x7 (2D)")
    parser.add_argument("--values", type=_values, default=None, metavar="V",
                        help="the input itself: 1,2,-1,0 (1D) or 1,2;3,4 (2D rows)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random input (digits 0-9; --invariance images)")
    parser.add_argument("--window", type=_ints, action="append", default=None, metavar="I[xJ]",
                        help="draw only this output's window (repeatable)")
    parser.add_argument("-o", "--output", default=None, metavar="PATH",
                        help="write a figure (PNG, SVG, PDF...) instead of printing text")
    parser.add_argument("--invariance", action="store_true",
                        help="compare max, average, blur and max-blur pooling under shifts "
                             "and block permutations")
    return parser


def _invariance(args: Any) -> tuple[str, Any]:
    from ..invariance import compare, format_table, smooth_images

    stride = 2 if args.stride is None else args.stride
    if not isinstance(stride, int) or stride < 2:
        raise ValueError(f"--invariance needs a single stride of at least 2; got {stride!r}")
    images = smooth_images(16, 3, 32, seed=args.seed)
    results = compare(images, stride)
    description = (f"16 smooth random 3x32x32 images (white noise blurred twice, seed "
                   f"{args.seed}); shifts are circular; 4 random permutations per op")
    text = "\n".join([
        f"Shift and permutation consistency, stride {stride} ({description})",
        "unchanged: fraction of output values that stay the same; change: rms(y' - y) / std(y)",
        "",
        format_table(results, stride),
    ])
    return text, (lambda: invariance_figure(results, stride, description))


def main(argv: list[str]) -> int:
    """``poolnd explain``: print the explanation, or write its figure with ``-o``."""
    from .errors import FileError

    parser = _parser()
    args = parser.parse_args(argv)
    if args.output is not None:  # before any work: a format matplotlib writes, a folder
        try:
            check_figure_path(args.output)
        except FileError as exc:
            if exc.status == 2:
                parser.error(str(exc))
            print(f"poolnd explain: error: {exc}", file=sys.stderr)
            return exc.status
    try:
        if args.invariance:
            text, figure = _invariance(args)
        else:
            size = args.size if isinstance(args.size, tuple) else (args.size,)
            x = default_input(size, args.seed) if args.values is None else args.values
            e = explain(args.op, x, args.kernel, args.stride, args.padding, args.dilation,
                        args.ceil_mode)
            text = render_text(e)
            windows = (None if args.window is None else
                       [w if isinstance(w, tuple) else (w,) for w in args.window])
            figure = (lambda: windows_figure(e, windows))  # noqa: E731
            if args.output is not None:
                fig = figure()  # check the windows before writing anything
                figure = (lambda: fig)  # noqa: E731
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    if args.output is None:
        print(text)
        return 0
    try:
        path = save(figure(), args.output)
    except OSError as exc:
        print(f"poolnd explain: error: cannot write {args.output!r}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    print(f"wrote {path}: {text.splitlines()[0]}")
    return 0
