"""The lecture's claims about pooling, as Hypothesis properties (no oracle needed).

* weak invariance: permuting values inside each non-overlapping block leaves the output alone;
* pooling is channel-wise: changing channel c changes output channel c only;
* default stride: output shape N x C x floor(H/h) x floor(W/w) (and likewise in 1d/3d/N-d).
"""

from __future__ import annotations

import numpy as np
from helpers import ALL_DTYPES, arrays_of, assert_identical, avg_cases, max_cases
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import poolnd

F = poolnd.functional


def _pool(op: str, nd: int):
    if nd <= 3:
        return getattr(F, f"{op}_pool{nd}d")
    return getattr(poolnd, f"{op}_pool")


@st.composite
def blocked_inputs(draw, *, max_nd: int = 4):
    """(x, kernel): spatial sizes are whole blocks plus a remainder outside every block."""
    nd = draw(st.integers(1, max_nd))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    blocks = tuple(draw(st.integers(1, 3 if nd < 4 else 2)) for _ in range(nd))
    rest = tuple(draw(st.integers(0, k - 1)) for k in kernel)
    lead = (*draw(st.sampled_from([(), (1,), (2,), (0,)])), draw(st.integers(1, 3)))
    shape = lead + tuple(b * k + r for b, k, r in zip(blocks, kernel, rest))
    dtype = draw(st.sampled_from(ALL_DTYPES))
    x = draw(arrays_of(dtype, shape, avg=True))
    return x, kernel, blocks


def _permute_blocks(x, kernel, blocks, rng):
    """Shuffle the values inside every non-overlapping kernel-sized block, independently."""
    nd = len(kernel)
    lead = x.shape[: x.ndim - nd]
    inner = (Ellipsis, *(slice(0, b * k) for b, k in zip(blocks, kernel)))
    part = x[inner]
    split = lead + tuple(v for bk in zip(blocks, kernel) for v in bk)  # ..., b1, k1, b2, k2
    n = len(lead)
    order = list(range(n)) + [n + 2 * i for i in range(nd)] + [n + 2 * i + 1 for i in range(nd)]
    tiles = part.reshape(split).transpose(order)  # ..., b1, b2, ..., k1, k2, ...
    flat = tiles.reshape((*tiles.shape[: n + nd], int(np.prod(kernel))))
    flat = rng.permuted(flat, axis=-1)
    back = flat.reshape(tiles.shape).transpose(np.argsort(order)).reshape(part.shape)
    y = x.copy()
    y[inner] = back
    return y


@settings(max_examples=150)
@given(data=blocked_inputs(), seed=st.integers(0, 2**32 - 1))
def test_permutation_inside_blocks_leaves_max_unchanged(data, seed):
    x, kernel, blocks = data
    y = _permute_blocks(x, kernel, blocks, np.random.default_rng(seed))
    fn = _pool("max", len(kernel))
    a, b = fn(x, kernel), fn(y, kernel)
    # the same numbers (a tie between -0.0 and +0.0 may pick the other zero)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    # every block's value multiset is unchanged, so its maximum is too
    if a.size:
        assert np.array_equal(np.sort(x, axis=None), np.sort(y, axis=None), equal_nan=True)


@settings(max_examples=150)
@given(data=blocked_inputs(), seed=st.integers(0, 2**32 - 1))
def test_permutation_inside_blocks_leaves_avg_unchanged(data, seed):
    x, kernel, blocks = data
    if x.dtype.kind == "f":
        # integer-valued floats: every partial sum is exact, so the order cannot matter
        x = np.nan_to_num(np.round(np.clip(x, -100, 100)), nan=1.0).astype(x.dtype)
    y = _permute_blocks(x, kernel, blocks, np.random.default_rng(seed))
    fn = _pool("avg", len(kernel))
    assert_identical(fn(y, kernel), fn(x, kernel))


@st.composite
def channel_change(draw):
    nd = draw(st.integers(1, 3))
    op = draw(st.sampled_from(["max", "avg"]))
    case = draw((max_cases if op == "max" else avg_cases)(nd, max_extra=4, batch=(None, 1, 2)))
    dtype = draw(st.sampled_from(ALL_DTYPES))
    x = draw(arrays_of(dtype, case.shape, avg=True))
    c = draw(st.integers(0, case.shape[-nd - 1] - 1))
    new = draw(arrays_of(dtype, x[(Ellipsis, c) + (slice(None),) * nd].shape, avg=True))
    return op, nd, case, x, c, new


@settings(max_examples=150)
@given(channel_change())
def test_channels_are_never_mixed(args):
    op, nd, case, x, c, new = args
    fn = _pool(op, nd)
    kw = case.args.kw() if op == "max" else case.args.kw(nd)
    if op == "avg" and x.dtype.kind == "u" and (kw.get("divisor_override") or 0) < 0:
        kw["divisor_override"] = -kw["divisor_override"]
    try:
        before = fn(x, **kw)
    except ValueError:  # a configuration poolnd rejects: nothing to compare
        return
    y = x.copy()
    spatial = (slice(None),) * nd
    y[(Ellipsis, c, *spatial)] = new
    after = fn(y, **kw)
    other = [i for i in range(x.shape[-nd - 1]) if i != c]
    sel = (Ellipsis, other, *spatial)
    assert_identical(after[sel], before[sel])
    # channel c alone, pooled as a one-channel input, gives output channel c
    only_c = (Ellipsis, slice(c, c + 1), *spatial)
    assert_identical(after[only_c], fn(y[only_c], **kw))


@settings(max_examples=100)
@given(
    nd=st.integers(1, 4),
    data=st.data(),
)
def test_default_stride_output_shape_is_floor_of_ratio(nd, data):
    kernel = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    sizes = tuple(data.draw(st.integers(k, 3 * k + 2)) for k in kernel)
    n = data.draw(st.integers(0, 2))
    c = data.draw(st.integers(1, 3))
    x = np.zeros((n, c, *sizes), dtype=np.float32)
    expected = (n, c, *(h // k for h, k in zip(sizes, kernel)))
    for op in ("max", "avg"):
        fn = _pool(op, nd)
        assert fn(x, kernel).shape == expected
        assert fn(np.zeros((c, *sizes), dtype=np.float32), kernel).shape == expected[1:]
        assert fn(x, kernel, ceil_mode=False, padding=0).shape == expected


@settings(max_examples=100)
@given(data=st.data())
def test_max_indices_point_at_the_maximum(data):
    nd = data.draw(st.integers(1, 3))
    case = data.draw(max_cases(nd, max_extra=4))
    x = data.draw(arrays_of(data.draw(st.sampled_from(ALL_DTYPES)), case.shape))
    values, indices = _pool("max", nd)(x, **case.args.kw(), return_indices=True)
    assert indices.dtype == np.int64 and indices.shape == values.shape
    planes = x.reshape(int(np.prod(x.shape[:-nd])), int(np.prod(x.shape[-nd:])))
    idx = indices.reshape(planes.shape[0], int(np.prod(values.shape[-nd:])))
    assert ((idx >= -1) & (idx < planes.shape[1])).all()
    found = np.take_along_axis(planes, np.maximum(idx, 0), axis=1)
    got = values.reshape(idx.shape)
    inside = idx >= 0
    assert np.array_equal(found[inside], got[inside], equal_nan=x.dtype.kind == "f")


@settings(max_examples=100)
@given(data=st.data())
def test_max_is_at_least_the_average(data):
    nd = data.draw(st.integers(1, 3))
    case = data.draw(avg_cases(nd, max_extra=4))
    x = data.draw(hnp.arrays(np.float64, case.shape, elements=st.integers(-50, 50)))
    kw = case.args.kw(nd)
    kw.update(count_include_pad=False, divisor_override=None) if nd > 1 else kw.update(
        count_include_pad=False)
    avg = _pool("avg", nd)(x, **kw)
    mx = _pool("max", nd)(x, kw["kernel_size"], kw["stride"], kw["padding"],
                          ceil_mode=kw["ceil_mode"])
    assert (mx >= avg).all()
