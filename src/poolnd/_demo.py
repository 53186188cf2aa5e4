"""``poolnd demo``: the lecture's pooling examples, computed by poolnd and drawn as text."""

from __future__ import annotations

import numpy as np

from . import functional as F

__all__ = ["demo_text", "draw_windows_1d"]

LECTURE_1D = np.array([1, 2, -1, 0, 2, 3, -2, 0], dtype=np.float64)


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


def demo_text() -> str:
    """Every section of ``poolnd demo`` as one string."""
    x = LECTURE_1D[np.newaxis]  # one channel, unbatched (C, L)
    mx, av = F.max_pool1d(x, 2)[0], F.avg_pool1d(x, 2)[0]
    out = [
        "poolnd demo: the lecture's pooling examples, computed by poolnd",
        "",
        "1. 1D pooling, kernel 2, stride 2 (non-overlapping windows)",
        "   F.max_pool1d(x, 2) and F.avg_pool1d(x, 2) on x = " + str(LECTURE_1D.tolist()),
        "",
        *("   " + line for line in draw_windows_1d(LECTURE_1D, 2, {"max": mx, "average": av})
          .splitlines()),
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

    rng = np.random.default_rng(0)
    shuffled = LECTURE_1D.reshape(4, 2)[:, ::-1].reshape(1, 8).copy()
    img = rng.standard_normal((3, 8, 8))
    blocks = img.reshape(3, 4, 2, 4, 2).transpose(0, 1, 3, 2, 4).reshape(3, 4, 4, 4)
    permuted = rng.permuted(blocks, axis=-1).reshape(3, 4, 4, 2, 2).transpose(0, 1, 3, 2, 4)
    same_2d = np.array_equal(F.max_pool2d(img, 2), F.max_pool2d(permuted.reshape(3, 8, 8), 2))
    out += [
        "3. Weak invariance: permuting values inside a block leaves the pooled output unchanged",
        f"   x with each block reversed: {shuffled[0].tolist()}",
        f"   max  {F.max_pool1d(shuffled, 2)[0].tolist()}   (was {mx.tolist()})",
        f"   mean {F.avg_pool1d(shuffled, 2)[0].tolist()}   (was {av.tolist()})",
        f"   random permutations inside every 2x2 block of a (3, 8, 8) array: max pool unchanged: "
        f"{same_2d}",
        "",
        "Try next: poolnd.max_pool(x, (2, 2, 2)) pools any rank; "
        "poolnd.vjp(F.max_pool2d, x, 2) gives the gradient.",
    ]
    return "\n".join(out)
