"""``poolnd demo``: a guided tour of pooling, with the lecture's examples computed by poolnd.

The tour: the lecture's 1D max and average pooling; 2D pooling, channel by channel; the
lecture's two weak-invariance claims (permutations inside a block, small translations),
measured with `poolnd.invariance`, and Zhang's blur pooling; a figure of overlapping,
padded windows written to a file; what to try next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import functional as F
from .. import invariance

__all__ = ["DEFAULT_FIGURE", "demo_text", "draw_windows_1d", "main"]

LECTURE_1D = np.array([1, 2, -1, 0, 2, 3, -2, 0], dtype=np.float64)
DEFAULT_FIGURE = "poolnd-demo-windows.png"
FIGURE_CALL: dict[str, Any] = dict(kernel_size=3, stride=2, padding=1)


def _fmt(v: float) -> str:
    return f"{v:g}"


def draw_windows_1d(x: np.ndarray, kernel: int, rows: dict[str, np.ndarray]) -> str:
    """A text picture of non-overlapping 1D windows over ``x`` and each output under its window.

    Examples
    --------
    >>> print(draw_windows_1d(np.array([1., 2, 3, 4]), 2, {"max": np.array([2., 4])}))
    input | 1 2 | 3 4 |
    max   |  2  |  4  |
    """
    cell = max(len(_fmt(v)) for v in x) + 1
    blocks = [x[i:i + kernel] for i in range(0, len(x) - kernel + 1, kernel)]
    width = max(len(name) for name in ("input", *rows))
    cells = [" ".join(_fmt(v).rjust(cell - 1) for v in b) for b in blocks]
    lines = ["input".ljust(width) + " | " + " | ".join(cells) + " |"]
    for name, out in rows.items():
        lines.append(
            name.ljust(width) + " | "
            + " | ".join(_fmt(v).center(len(c)) for v, c in zip(out, cells)) + " |"
        )
    return "\n".join(line.rstrip() for line in lines)


def _grid(a: np.ndarray) -> list[str]:
    width = max(len(_fmt(v)) for v in a.ravel())
    return ["  ".join(_fmt(v).rjust(width) for v in row) for row in a]


def _indent(text: str) -> list[str]:
    return ["   " + line if line else "" for line in text.splitlines()]


def _lecture_sections() -> list[str]:
    x = LECTURE_1D[np.newaxis]  # one channel, unbatched (C, L)
    mx, av = F.max_pool1d(x, 2)[0], F.avg_pool1d(x, 2)[0]
    out = [
        "1. 1D pooling, kernel 2, stride 2 (non-overlapping windows)",
        "   F.max_pool1d(x, 2) and F.avg_pool1d(x, 2) on x = " + str(LECTURE_1D.tolist()),
        "",
        *_indent(draw_windows_1d(LECTURE_1D, 2, {"max": mx, "average": av})),
        "",
    ]
    planes = np.stack([np.arange(16.0).reshape(4, 4), 100 - np.arange(16.0).reshape(4, 4)])
    pooled = F.max_pool2d(planes, 2)
    out += [
        "2. 2D max pooling is channel-wise: each channel is pooled on its own",
        "   input (C=2, H=4, W=4) -> F.max_pool2d(x, 2) -> (C=2, H=2, W=2)",
    ]
    for c in range(2):
        left, right = _grid(planes[c]), _grid(pooled[c])
        out.append(f"   channel {c}:")
        for i, line in enumerate(left):
            arrow = "  ->  " if i == 1 else "      "
            out.append(("     " + line + arrow + (right[i] if i < len(right) else "")).rstrip())
    out.append("")
    return out


def _invariance_sections() -> list[str]:
    shuffled = LECTURE_1D.reshape(4, 2)[:, ::-1].reshape(1, 8).copy()
    mx, av = F.max_pool1d(LECTURE_1D[np.newaxis], 2)[0], F.avg_pool1d(LECTURE_1D[np.newaxis], 2)[0]
    images = invariance.smooth_images(16, 3, 32)
    pools = invariance.standard_pools(2)
    perms = {name: invariance.permutation_consistency(pool, images, 2)
             for name, pool in pools.items()}
    out = [
        "3. Weak invariance, claim 1: permuting values inside a block leaves the output unchanged",
        f"   x with each block reversed: {shuffled[0].tolist()}",
        f"   max  {F.max_pool1d(shuffled, 2)[0].tolist()}   (was {mx.tolist()})",
        f"   mean {F.avg_pool1d(shuffled, 2)[0].tolist()}   (was {av.tolist()})",
        "   random permutations inside every 2x2 block of 16 smooth 3x32x32 images, fraction "
        "of outputs unchanged",
        "   (poolnd.invariance.permutation_consistency):",
        "   " + ", ".join(f"{name} {p.mean_unchanged:.0%}" for name, p in perms.items()),
        "   exact for max and average pooling; blur pooling weighs positions, so it is not.",
        "",
    ]
    toy = np.array([[[0.0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]]])
    moved = np.roll(toy, 1, axis=-1)

    def row(values: np.ndarray) -> str:
        return "[" + ", ".join(_fmt(v) for v in values[0, 0]) + "]"

    table = invariance.compare(images, 2)
    out += [
        "4. Weak invariance, claim 2: small translations. Only roughly (Zhang, ICML 2019):",
        f"   x = {row(toy)} and x shifted by one cell = {row(moved)}",
        f"   max pooling (F.max_pool1d(x, 2)):        {row(F.max_pool1d(toy, 2))} -> "
        f"{row(F.max_pool1d(moved, 2))}",
        f"   max-blur pooling (F.max_blur_pool1d(x)): {row(F.max_blur_pool1d(toy))} -> "
        f"{row(F.max_blur_pool1d(moved))}",
        "   A one-cell shift flips max pooling's outputs between 0 and 1; blurring before",
        "   subsampling (max-blur: max with stride 1, then blur) moves them by 0.25 (up to 0.5",
        "   at the reflected ends). On the 16 smooth images, shifted by one cell",
        "   (poolnd.invariance.compare; change = rms(y' - y) / std(y), lower is more invariant):",
        "",
        *_indent(invariance.format_table(table, 2)),
        "",
    ]
    return out


def demo_text() -> str:
    """Every text section of ``poolnd demo`` as one string (the figure is `main`'s)."""
    lines = [
        "poolnd demo: a tour of pooling, with the lecture's examples computed by poolnd",
        "",
        *_lecture_sections(),
        *_invariance_sections(),
    ]
    return "\n".join(lines).rstrip()


def _try_next() -> str:
    return "\n".join([
        "6. What to try next",
        "   poolnd explain --kernel 3 --stride 2 --padding 1         windows on the lecture's "
        "input, as text",
        "   poolnd explain --size 9x9 --kernel 3 --dilation 2 --padding 2 -o dilated.png",
        "   poolnd explain --op avg --size 6x6 --kernel 3 --stride 2 --padding 1 --ceil-mode",
        "   poolnd explain --invariance -o invariance.png             the comparison above, "
        "drawn",
        "   python examples/digits_cnn.py                             a CNN on poolnd layers: "
        "accuracy and shift consistency",
        "   poolnd.vjp(F.max_pool2d, x, 2)                            (output, pullback) for "
        "gradients",
        "   poolnd.nn.BlurPool2d(channels)                            antialiased-cnns' BlurPool"
        " on NumPy",
    ])


def main(figure: str | Path | None = DEFAULT_FIGURE) -> int:
    """Print the tour and write its figure to ``figure`` (None: no figure; without
    matplotlib, the tour says how to get it)."""
    import sys

    from .errors import FIGURES_EXTRA, FileError, MissingExtra
    from .explain import check_figure_path

    missing = None
    if figure is not None:  # before any work: matplotlib, a format it writes, a folder
        try:
            check_figure_path(figure)
        except MissingExtra:
            missing = f"5. (no figure: matplotlib is not installed; {FIGURES_EXTRA})"
        except FileError as exc:
            flag = "argument -o/--output: " if exc.status == 2 else ""
            message = str(exc).replace("argument -o: ", "")
            print(f"poolnd demo: error: {flag}{message}", file=sys.stderr)
            return exc.status
    print(demo_text())
    print()
    if figure is None:
        print("5. (no figure written)")
    elif missing:
        print(missing)
    else:
        from .explain import explain, save, windows_figure

        x = np.random.default_rng(0).integers(0, 10, size=(7, 7)).astype(np.float64)
        e = explain("max", x, **FIGURE_CALL)
        path = save(windows_figure(e), figure)
        print(f"5. A figure of overlapping, padded windows: {e.call} on a 7x7 input")
        print(f"   written to {path.resolve()}")
        print("   (the same as: poolnd explain --size 7x7 --kernel 3 --stride 2 --padding 1 "
              f"-o {path.name})")
    print()
    print(_try_next())
    return 0
