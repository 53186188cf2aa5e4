"""How invariant is a pooling layer? The lecture's two claims, measured.

The lecture says pooling gives *weak invariance*: the output does not change when values
are permuted inside a pooling block, and it withstands small translations. The first claim
holds exactly for max and average pooling over non-overlapping blocks; the second only
roughly, and Zhang (ICML 2019, "Making Convnets Shift-Invariant Again") showed how roughly:
a shift by less than the stride can change a max-pooled output completely, and blurring
before subsampling (`poolnd.functional.blur_pool2d`) makes it change less.

`shift_consistency` and `permutation_consistency` run any pooling callable on a batch and
on transformed copies of it and report, per transformation, how much of the output stayed
the same. `compare` does both for max, average, blur and max-blur pooling.

Examples
--------
Zhang's toy signal: shifting it by one cell changes half of the max-pooled outputs.

>>> import numpy as np
>>> from poolnd import functional as F, invariance
>>> x = np.array([[[0., 0, 1, 1, 0, 0, 1, 1]]])
>>> F.max_pool1d(x, 2), F.max_pool1d(np.roll(x, 1, axis=-1), 2)
(array([[[0., 1., 0., 1.]]]), array([[[1., 1., 1., 1.]]]))
>>> result = invariance.shift_consistency(lambda a: F.max_pool1d(a, 2), x, 2)
>>> result.labels, result.unchanged, result.change
(('shift 1',), array([0.5]), array([1.41421356]))
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _args

__all__ = [
    "Consistency",
    "compare",
    "format_table",
    "permutation_consistency",
    "permute_blocks",
    "shift_consistency",
    "smooth_images",
    "standard_pools",
]

Pool = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class Consistency:
    """How much a pooled output stayed the same under each of a set of transformations.

    Attributes
    ----------
    labels : tuple of str
        One per transformation, e.g. ``'shift (0, 1)'`` or ``'permutation 3'``.
    unchanged : ndarray
        Per transformation, the fraction of output values equal (to ``rtol``) to the output
        of the untransformed input: 1 means exactly invariant.
    change : ndarray
        Per transformation, the root-mean-square change of the output relative to its
        standard deviation, ``rms(y' - y) / std(y)``: 0 means unchanged, about 1.4 means
        as different as two unrelated outputs with the same statistics.
    """

    labels: tuple[str, ...]
    unchanged: np.ndarray
    change: np.ndarray

    @property
    def mean_unchanged(self) -> float:
        """Mean of `unchanged` over the transformations."""
        return float(np.mean(self.unchanged))

    @property
    def mean_change(self) -> float:
        """Mean of `change` over the transformations."""
        return float(np.mean(self.change))


def _batch(name: str, x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim < 3 or arr.dtype.kind not in "fiu":
        raise ValueError(
            f"{name}(): x must be a real (N, C, *spatial) batch with at least one spatial axis; "
            f"got shape {arr.shape} and dtype {arr.dtype}"
        )
    return arr


def _compare(name: str, reference: Any, other: Any, rtol: float) -> tuple[float, float]:
    ref, out = np.asarray(reference), np.asarray(other)
    if ref.shape != out.shape:
        raise ValueError(
            f"{name}(): pool must give outputs of one shape for the input and its transformed "
            f"copies; got {ref.shape} and {out.shape}"
        )
    ref64, out64 = ref.astype(np.float64), out.astype(np.float64)
    scale = float(np.max(np.abs(ref64))) if ref.size else 0.0
    same = np.isclose(out64, ref64, rtol=rtol, atol=rtol * scale)
    unchanged = float(np.mean(same)) if ref.size else 1.0
    spread = float(np.std(ref64)) if ref.size else 0.0
    diff = float(np.sqrt(np.mean((out64 - ref64) ** 2))) if ref.size else 0.0
    change = diff / spread if spread > 0 else (0.0 if diff == 0 else float("inf"))
    return unchanged, change


def _as_sizes(name: str, argument: str, value: Any, rank: int) -> tuple[int, ...]:
    sizes = _args.as_int_tuple(name, argument, value, rank)
    if min(sizes) < 1:
        raise ValueError(f"{name}(): {argument} must be positive; got {value!r}")
    return sizes


def shift_consistency(
    pool: Pool, x: Any, max_shift: Any, *, rtol: float = 1e-6
) -> Consistency:
    """Compare ``pool(x)`` with ``pool`` of ``x`` shifted by 0 to ``max_shift - 1`` cells.

    Every combination of shifts ``0 .. max_shift - 1`` along the spatial axes except no shift
    at all is tried. Shifts are circular (`numpy.roll`), so no content enters or leaves.
    A shift by a multiple of the stride only moves the output; ``max_shift`` equal to the
    stride tries every shift that does more.

    Parameters
    ----------
    pool : callable
        Maps an ``(N, C, *spatial)`` array to an array (a `poolnd.nn` layer, a
        ``functools.partial`` of a functional op, a network's predictions...).
    x : array_like
        ``(N, C, *spatial)``: the trailing ``x.ndim - 2`` axes are shifted.
    max_shift : int or tuple of int
        Shifts ``0 .. max_shift - 1`` per spatial axis (usually the pooling stride).
    rtol : float, default 1e-6
        Relative tolerance (of the output's largest magnitude) under which a value counts
        as unchanged.

    Returns
    -------
    Consistency
        One entry per shift, labelled ``'shift 1'`` (1 spatial axis) or
        ``'shift (dy, dx)'``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd import nn, invariance
    >>> x = np.array([[[[9., 1, 0, 0], [1, 1, 0, 7], [0, 0, 1, 2], [0, 5, 3, 4]]]])
    >>> nn.MaxPool2d(2)(x)[0, 0]
    array([[9., 7.],
           [5., 4.]])
    >>> nn.MaxPool2d(2)(np.roll(x, 1, axis=-1))[0, 0]  # only the 9 stays in its window
    array([[9., 1.],
           [4., 5.]])
    >>> result = invariance.shift_consistency(nn.MaxPool2d(2), x, 2)
    >>> result.labels
    ('shift (0, 1)', 'shift (1, 0)', 'shift (1, 1)')
    >>> result.unchanged
    array([0.25, 0.25, 0.25])
    """
    arr = _batch("shift_consistency", x)
    spatial = tuple(range(2, arr.ndim))
    limits = _as_sizes("shift_consistency", "max_shift", max_shift, len(spatial))
    reference = pool(arr)
    labels, unchanged, change = [], [], []
    for shift in itertools.product(*(range(m) for m in limits)):
        if not any(shift):
            continue
        u, c = _compare("shift_consistency", reference, pool(np.roll(arr, shift, spatial)), rtol)
        labels.append(f"shift {shift[0]}" if len(shift) == 1 else f"shift {shift}")
        unchanged.append(u)
        change.append(c)
    if not labels:
        raise ValueError(
            f"shift_consistency(): max_shift must allow a shift (some size >= 2); "
            f"got {max_shift!r}"
        )
    return Consistency(tuple(labels), np.array(unchanged), np.array(change))


def permute_blocks(x: Any, block: Any, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``x`` with the cells of every ``block``-sized tile permuted at random.

    Tiles start at index 0 of each spatial axis; cells past the last whole tile stay put.
    Every tile of every ``(n, c)`` plane gets its own permutation.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.invariance import permute_blocks
    >>> x = np.arange(8.).reshape(1, 1, 8)
    >>> y = permute_blocks(x, 2, np.random.default_rng(1))
    >>> sorted(y[0, 0, :2]), sorted(y[0, 0, 2:4])
    ([np.float64(0.0), np.float64(1.0)], [np.float64(2.0), np.float64(3.0)])
    """
    arr = _batch("permute_blocks", x)
    d = arr.ndim - 2
    sizes = _as_sizes("permute_blocks", "block", block, d)
    counts = [n // b for n, b in zip(arr.shape[2:], sizes)]
    out = arr.copy()
    if 0 in counts:
        return out
    region: tuple[Any, ...] = (Ellipsis, *(slice(0, c * b) for c, b in zip(counts, sizes)))
    # (N, C, t0, b0, t1, b1, ...) -> (N, C, t0, t1, ..., b0 * b1 * ...)
    tiled = out[region].reshape(arr.shape[:2] + tuple(itertools.chain(*zip(counts, sizes))))
    order = [0, 1, *range(2, 2 + 2 * d, 2), *range(3, 3 + 2 * d, 2)]
    cells = tiled.transpose(order).reshape(arr.shape[:2] + tuple(counts) + (-1,))
    shuffled = rng.permuted(cells, axis=-1)
    back = shuffled.reshape(arr.shape[:2] + tuple(counts) + sizes).transpose(np.argsort(order))
    out[region] = back.reshape(out[region].shape)
    return out


def permutation_consistency(
    pool: Pool,
    x: Any,
    block: Any,
    *,
    trials: int = 4,
    rng: np.random.Generator | None = None,
    rtol: float = 1e-6,
) -> Consistency:
    """Compare ``pool(x)`` with ``pool`` of ``x`` whose ``block``-sized tiles are permuted.

    With ``block`` equal to a non-overlapping pooling window, max and average pooling are
    exactly invariant (the lecture's first claim); pooling that weighs positions, like blur
    pooling, is not.

    Parameters
    ----------
    pool : callable
        Maps an ``(N, C, *spatial)`` array to an array.
    x : array_like
        ``(N, C, *spatial)``.
    block : int or tuple of int
        Tile size per spatial axis (see `permute_blocks`).
    trials : int, default 4
        Number of independent random permutations.
    rng : numpy.random.Generator, optional
        Source of the permutations (default: ``np.random.default_rng(0)``, reproducible).
    rtol : float, default 1e-6
        As in `shift_consistency`.

    Returns
    -------
    Consistency
        One entry per trial, labelled ``'permutation 1'`` ...

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd import nn, invariance
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    >>> invariance.permutation_consistency(nn.MaxPool2d(2), x, 2).mean_unchanged
    1.0
    """
    arr = _batch("permutation_consistency", x)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(
            f"permutation_consistency(): trials must be a positive int; got {trials!r}"
        )
    gen = np.random.default_rng(0) if rng is None else rng
    reference = pool(arr)
    labels, unchanged, change = [], [], []
    for trial in range(int(trials)):
        permuted = permute_blocks(arr, block, gen)
        u, c = _compare("permutation_consistency", reference, pool(permuted), rtol)
        labels.append(f"permutation {trial + 1}")
        unchanged.append(u)
        change.append(c)
    return Consistency(tuple(labels), np.array(unchanged), np.array(change))


def standard_pools(stride: int = 2, ndim: int = 2, filt_size: int | None = None) -> dict[str, Pool]:
    """Max, average, blur and max-blur pooling that all subsample by ``stride``.

    Max and average pooling use ``stride``-sized windows (the lecture's non-overlapping
    blocks); blur pooling a binomial filter of ``filt_size`` taps (default: 3 in 1D, 4 in
    2D, the ``antialiased-cnns`` defaults); max-blur a stride-1 2-cell max pool before it.

    Examples
    --------
    >>> from poolnd.invariance import standard_pools
    >>> list(standard_pools())
    ['max', 'average', 'blur', 'max-blur']
    """
    from . import functional as F

    if ndim not in (1, 2):
        raise ValueError(
            f"standard_pools(): ndim must be 1 or 2 (blur pooling's ranks); got {ndim!r}"
        )
    taps = filt_size if filt_size is not None else (3 if ndim == 1 else 4)
    k = (stride,) * ndim
    blur = F.blur_pool1d if ndim == 1 else F.blur_pool2d
    max_blur = F.max_blur_pool1d if ndim == 1 else F.max_blur_pool2d
    return {
        "max": lambda a: F.max_pool1d(a, k) if ndim == 1 else F.max_pool2d(a, k),
        "average": lambda a: F.avg_pool1d(a, k) if ndim == 1 else F.avg_pool2d(a, k),
        "blur": lambda a: blur(a, "reflect", taps, stride),
        "max-blur": lambda a: max_blur(a, "reflect", taps, stride),
    }


def compare(
    x: Any,
    stride: int = 2,
    *,
    pools: dict[str, Pool] | None = None,
    trials: int = 4,
    rng: np.random.Generator | None = None,
) -> dict[str, tuple[Consistency, Consistency]]:
    """Shift and permutation consistency of several pooling ops on the same batch.

    Parameters
    ----------
    x : array_like
        ``(N, C, L)`` or ``(N, C, H, W)``.
    stride : int, default 2
        Subsampling factor: shifts ``0 .. stride - 1`` and ``stride``-sized blocks.
    pools : dict of str to callable, optional
        The ops to compare (default: `standard_pools` for ``stride``).
    trials : int, default 4
        Random permutations per op.
    rng : numpy.random.Generator, optional
        Source of the permutations; each op sees the same ones.

    Returns
    -------
    dict
        ``{name: (shift_consistency, permutation_consistency)}``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd import invariance
    >>> x = np.random.default_rng(0).standard_normal((4, 2, 16, 16))
    >>> table = invariance.compare(x)
    >>> table["max"][1].mean_unchanged, table["average"][1].mean_unchanged
    (1.0, 1.0)
    >>> table["blur"][0].mean_change < table["max"][0].mean_change
    True
    """
    arr = _batch("compare", x)
    if pools is None:
        pools = standard_pools(stride, arr.ndim - 2)
    seed = int((np.random.default_rng(0) if rng is None else rng).integers(2**63))
    results = {}
    for name, pool in pools.items():
        shifts = shift_consistency(pool, arr, stride)
        perms = permutation_consistency(pool, arr, stride, trials=trials,
                                        rng=np.random.default_rng(seed))
        results[name] = (shifts, perms)
    return results


def format_table(results: dict[str, tuple[Consistency, Consistency]], stride: int) -> str:
    """The numbers of `compare` as a text table, one row per pooling op.

    Examples
    --------
    >>> from poolnd import invariance
    >>> x = invariance.smooth_images(4, 2, 16)
    >>> print(invariance.format_table(invariance.compare(x), 2))
                shifted by 1 cell     blocks permuted
    pooling     unchanged   change    unchanged   change
    max             0.105    0.613        1.000    0.000
    average         0.000    0.512        1.000    0.000
    blur            0.000    0.456        0.000    0.076
    max-blur        0.000    0.428        0.000    0.240
    """
    shifts = "shifted by 1 cell" if stride == 2 else f"shifted by 1..{stride - 1} cells"
    lines = [f"{'':<10}  {shifts:<20}  blocks permuted",
             f"{'pooling':<10}  {'unchanged':>9} {'change':>8}    {'unchanged':>9} {'change':>8}"]
    for name, (shifted, permuted) in results.items():
        lines.append(
            f"{name:<10}  {shifted.mean_unchanged:>9.3f} {shifted.mean_change:>8.3f}    "
            f"{permuted.mean_unchanged:>9.3f} {permuted.mean_change:>8.3f}"
        )
    return "\n".join(line.rstrip() for line in lines)


def smooth_images(
    n: int = 16, channels: int = 3, size: int = 32, *, seed: int = 0
) -> np.ndarray:
    """Seeded smooth random images ``(n, channels, size, size)``: white noise blurred twice
    with the 7-tap binomial filter (stride 1), a stand-in for natural image statistics.

    Examples
    --------
    >>> from poolnd.invariance import smooth_images
    >>> smooth_images(2, 1, 8).shape
    (2, 1, 8, 8)
    """
    from . import functional as F

    noise = np.random.default_rng(seed).standard_normal((n, channels, size + 8, size + 8))
    smooth = F.blur_pool2d(F.blur_pool2d(noise, "reflect", 7, 1), "reflect", 7, 1)
    crop = smooth[..., 4:-4, 4:-4]
    return crop / crop.std()


def __dir__() -> list[str]:
    """The public names only (``__all__``), so tab completion shows no helper or import."""
    return sorted(__all__)
