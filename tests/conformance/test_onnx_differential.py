"""`poolnd.onnx.run_node` against onnxruntime 1.32 (CPU, one thread) on random nodes.

The configurations aim at what the ONNX conformance suite leaves out: SAME_LOWER with
strides > 1, asymmetric pads, dilations with auto_pad, Indices with N and C > 1,
``storage_order=1``, ceil mode with ``count_include_pad``, LpPool with ceil mode and pads,
GlobalLpPool (no suite case at all), MaxUnpool with N and C > 1 and indices that cross
planes, and every MaxPool dtype. Max values and indices must be bit-identical, averages and
norms equal within float rounding.

Where the two differ by design (documented in `poolnd.onnx.run_node`):

* NaN: onnxruntime's MaxPool skips NaN (with the Indices output, every NaN but a window's
  first cell; without it, every NaN), and so does its GlobalMaxPool; poolnd propagates NaN
  (the window gives NaN and points at a NaN cell). On windows without NaN they agree bit
  for bit.
* -inf: onnxruntime's MaxPool without Indices and its GlobalMaxPool give the lowest float
  for a window of -inf cells; poolnd gives -inf.
* A window of padding only (dilation): MaxPool gives -inf where onnxruntime gives the
  dtype's lowest float (both give index -1); AveragePool without ``count_include_pad``
  gives NaN (0 / 0) where onnxruntime gives 0.
* SAME_UPPER/SAME_LOWER with dilations > 1: onnxruntime computes the padding from the
  undilated kernel and so gives fewer than the spec's ``ceil(in / stride)`` outputs; poolnd
  follows the spec's formula (and onnx's shape inference). There, onnxruntime runs with the
  spec's padding written out as explicit ``pads``.
* Opsets 10-21 with ceil mode: a last window starting in the end padding is kept, as the
  spec text and onnx's shape inference of those versions say; onnxruntime drops it.

onnxruntime refuses pads >= kernel and a negative total SAME padding, so those are not drawn
here (the error and geometry tests cover them against onnx's shape inference).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st
from onnx import helper, shape_inference
from onnx_helpers import ort_run, tensor_type

from poolnd.onnx import run_node

OPSET = 22
AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


# --------------------------------------------------------------------------------------------
# strategies and comparisons


@st.composite
def windows(draw, dilations=True, ceil=True, max_rank=3, auto_pads=AUTO_PADS):
    """Node attributes of a windowed pooling node and an input shape onnxruntime accepts."""
    rank = draw(st.integers(1, max_rank))
    auto_pad = draw(st.sampled_from(auto_pads))
    kernel = [draw(st.integers(1, 4 if rank < 3 else 3)) for _ in range(rank)]
    strides = [draw(st.integers(1, 3)) for _ in range(rank)]
    dil = [draw(st.integers(1, 3)) if dilations else 1 for _ in range(rank)]
    if auto_pad == "NOTSET":
        pads = [draw(st.integers(0, k - 1)) for k in kernel * 2]
    else:
        pads = [0] * (2 * rank)
    spatial = []
    for i in range(rank):
        eff = (kernel[i] - 1) * dil[i] + 1
        least = {"NOTSET": max(1, eff - pads[i] - pads[i + rank]), "VALID": eff}.get(auto_pad, 1)
        n = draw(st.integers(least, least + (7 if rank < 3 else 4)))
        if auto_pad.startswith("SAME"):  # onnxruntime refuses a negative total padding
            assume((-(-n // strides[i]) - 1) * strides[i] + eff - n >= 0)
        spatial.append(n)
    attrs = {"kernel_shape": kernel, "strides": strides}
    if dilations:
        attrs["dilations"] = dil
    if auto_pad == "NOTSET":
        attrs["pads"] = pads
    else:
        attrs["auto_pad"] = auto_pad
    if ceil:
        attrs["ceil_mode"] = draw(st.integers(0, 1))
    batch = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return batch + tuple(spatial), attrs


def data(seed: int, shape: tuple[int, ...], dtype, ties: bool) -> np.ndarray:
    """Random input: small integers (many ties) or normal draws; full range for ints."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)
    if ties:
        return rng.integers(-3, 4, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def close(got: np.ndarray, want: np.ndarray, x: np.ndarray, ulps: int = 8) -> None:
    """Equal within float rounding: ``ulps`` units of the dtype's epsilon, relative to the
    value and to the input's magnitude; NaN where NaN."""
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    eps = float(np.finfo(got.dtype).eps)
    scale = float(np.max(np.abs(x), initial=1.0))
    np.testing.assert_allclose(got, want, rtol=ulps * eps, atol=ulps * eps * scale,
                               equal_nan=True)


def for_onnxruntime(shape, attrs):
    """The attributes onnxruntime evaluates as the spec says: SAME padding with dilations
    written out as explicit pads (the spec's formula), so that its undilated-kernel rule does
    not apply; None where it would then refuse them (pads >= kernel)."""
    dilations = attrs.get("dilations", [1] * len(attrs["kernel_shape"]))
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if not auto_pad.startswith("SAME") or max(dilations) == 1:
        return attrs
    begins, ends = [], []
    for n, k, s, d in zip(shape[2:], attrs["kernel_shape"], attrs["strides"], dilations):
        total = (-(-n // s) - 1) * s + (k - 1) * d + 1 - n
        small, big = total // 2, total - total // 2
        begin, end = (big, small) if auto_pad == "SAME_LOWER" else (small, big)
        if max(begin, end) >= k:
            return None
        begins.append(begin)
        ends.append(end)
    explicit = {key: v for key, v in attrs.items() if key != "auto_pad"}
    return dict(explicit, pads=begins + ends)


def ort_node(op, outputs, shape, attrs):
    """The node onnxruntime runs for ``attrs`` (see `for_onnxruntime`); Hypothesis skips
    configurations it cannot run."""
    equivalent = for_onnxruntime(shape, attrs)
    if equivalent is None:
        reject()
    return helper.make_node(op, ["X"], outputs, **equivalent)


def padding_only(shape, attrs, opset=OPSET) -> np.ndarray:
    """Which outputs of these window attributes read padding only: where onnxruntime's
    MaxPool of zeros gives float32's lowest value."""
    node = ort_node("MaxPool", ["Y"], shape, _window_attrs(attrs))
    (values,) = ort_run(node, [np.zeros(shape, np.float32)], opset, [np.float32])
    return values == np.finfo(np.float32).min


def _window_attrs(attrs):
    return {k: v for k, v in attrs.items() if k not in ("count_include_pad", "p",
                                                         "storage_order")}


def check_max_pool(x, attrs, with_indices, opset=OPSET):
    """run_node against onnxruntime, bit for bit; where a window reads padding only,
    onnxruntime's lowest float is our -inf, and its index (the plane's offset plus a
    negative sentinel) our -1."""
    outputs = ["Y", "I"] if with_indices else ["Y"]
    node = helper.make_node("MaxPool", ["X"], outputs, **attrs)
    got = run_node(node, [x], opset=opset)
    want = ort_run(ort_node("MaxPool", outputs, x.shape, attrs), [x], opset,
                   [x.dtype, np.int64][: len(outputs)])
    pad_only = padding_only(x.shape, attrs, opset)
    if x.dtype.kind == "f":  # float16: float32's lowest, rounded to -inf
        assert np.isin(want[0][pad_only], [np.finfo(x.dtype).min, -np.inf]).all()
        lowest = -np.inf
    else:
        lowest = np.iinfo(x.dtype).min
        assert (want[0][pad_only] == lowest).all()
    np.testing.assert_array_equal(got[0], np.where(pad_only, lowest, want[0]).astype(x.dtype),
                                  strict=True)
    if with_indices:
        np.testing.assert_array_equal(got[1], np.where(pad_only, -1, want[1]), strict=True)
    return got


# --------------------------------------------------------------------------------------------
# MaxPool


@settings(max_examples=500)
@given(windows(), st.sampled_from(["float32", "float64", "float16", "int8", "uint8"]),
       st.booleans(), st.integers(0, 1), st.booleans(), st.integers(0, 2**32 - 1))
def test_max_pool_matches_onnxruntime(window, dtype, with_indices, storage_order, ties, seed):
    shape, attrs = window
    attrs = dict(attrs, storage_order=storage_order)
    check_max_pool(data(seed, shape, dtype, ties), attrs, with_indices)


@pytest.mark.parametrize(
    "shape, attrs",
    [
        # SAME_LOWER with stride > 1, the odd padding cell at the start
        ((2, 3, 5, 5), {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
        ((1, 2, 7), {"kernel_shape": [3], "strides": [3], "auto_pad": "SAME_LOWER"}),
        # asymmetric pads
        ((2, 2, 6, 5), {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [0, 1, 2, 0]}),
        # dilations with auto_pad
        ((1, 3, 9, 8), {"kernel_shape": [3, 2], "dilations": [2, 3], "strides": [2, 2],
                        "auto_pad": "SAME_UPPER"}),
        ((2, 1, 8), {"kernel_shape": [2], "dilations": [3], "strides": [2],
                     "auto_pad": "SAME_LOWER"}),
        ((1, 1, 10, 10), {"kernel_shape": [2, 3], "dilations": [3, 2], "auto_pad": "VALID",
                          "ceil_mode": 1, "strides": [3, 2]}),
        # Indices over N and C > 1, column-major
        ((3, 4, 5, 6), {"kernel_shape": [2, 2], "strides": [2, 2], "storage_order": 1}),
        ((2, 3, 4, 5, 3), {"kernel_shape": [2, 2, 2], "strides": [2, 1, 2], "pads": [1, 0, 1,
                                                                                      0, 1, 0],
                           "storage_order": 1, "ceil_mode": 1}),
        # windows of padding only (dilation): -inf and index -1
        ((1, 2, 2), {"kernel_shape": [2], "dilations": [3], "pads": [1, 1]}),
        ((2, 1, 3, 1), {"kernel_shape": [2, 2], "dilations": [4, 1], "pads": [1, 0, 1, 1]}),
        # a global window, the onnxruntime test's 8x8 plane
        ((1, 3, 8, 8), {"kernel_shape": [8, 8], "storage_order": 1}),
    ],
)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_corners(shape, attrs, ties):
    check_max_pool(data(7, shape, np.float32, ties), attrs, with_indices=True)


def test_max_pool_padding_only_window_is_minus_inf():
    node = helper.make_node("MaxPool", ["X"], ["Y", "I"], kernel_shape=[2], dilations=[3],
                            pads=[1, 1])
    x = np.array([[[5.0, 6.0]]], np.float32)
    values, indices = run_node(node, [x])
    ort_values, ort_indices = ort_run(node, [x], OPSET, [np.float32, np.int64])
    assert values.tolist() == [[[-np.inf]]]
    assert ort_values.tolist() == [[[float(np.finfo(np.float32).min)]]]
    assert indices.tolist() == ort_indices.tolist() == [[[-1]]]


def test_max_pool_indices_flatten_n_and_c():
    """The research note's onnxruntime check: (2, 3, 4, 5), k=2, s=2, plane (1, 2) holds the
    per-plane indices [[1, 7], [16, 18]] plus (1 * 3 + 2) * 20."""
    x = np.zeros((2, 3, 4, 5), np.float32)
    plane = np.zeros(20, np.float32)
    plane[[1, 7, 16, 18]] = 1
    x[1, 2] = plane.reshape(4, 5)
    _, indices = check_max_pool(x, {"kernel_shape": [2, 2], "strides": [2, 2]}, True)
    assert indices[1, 2].tolist() == [[101, 107], [116, 118]]


def test_same_padding_with_dilation_follows_the_spec():
    """x = 1..9, k=3, dilation 2, stride 1, SAME_UPPER: ceil(9 / 1) = 9 outputs, total pad
    (9 - 1) + 5 - 9 = 4, two cells each side, as onnx's shape inference says; onnxruntime
    pads by (9 - 1) + 3 - 9 = 2 and gives 7 outputs."""
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 9)
    attrs = {"kernel_shape": [3], "dilations": [2], "strides": [1], "auto_pad": "SAME_UPPER"}
    node = helper.make_node("MaxPool", ["X"], ["Y"], **attrs)
    (got,) = run_node(node, [x])
    assert got.shape == inferred_shape("MaxPool", x, attrs, OPSET) == (1, 1, 9)
    explicit = helper.make_node("MaxPool", ["X"], ["Y"], kernel_shape=[3], dilations=[2],
                                pads=[2, 2])
    np.testing.assert_array_equal(got, ort_run(explicit, [x], OPSET, [np.float32])[0])
    assert ort_run(node, [x], OPSET, [np.float32])[0].shape == (1, 1, 7)


@settings(max_examples=150)
@given(windows(dilations=False, ceil=False), st.sampled_from([("MaxPool", 8),
                                                              ("AveragePool", 7)]),
       st.integers(0, 1), st.integers(0, 2**32 - 1))
def test_opsets_7_and_8_match_onnxruntime(window, op_opset, flag, seed):
    """MaxPool-8 (Indices, storage_order; no dilations, no ceil mode) and AveragePool-7
    (count_include_pad) at their own opsets."""
    op, opset = op_opset
    shape, attrs = window
    x = data(seed, shape, np.float32, False)
    if op == "MaxPool":
        check_max_pool(x, dict(attrs, storage_order=flag), True, opset=opset)
    else:
        check_average(x, dict(attrs, count_include_pad=flag), opset=opset)


@pytest.mark.parametrize(
    "op, shape, attrs",
    [
        ("MaxPool", (0, 2, 5), {"kernel_shape": [2], "strides": [2]}),
        ("AveragePool", (0, 2, 5), {"kernel_shape": [2], "strides": [2]}),
        ("LpPool", (0, 2, 5), {"kernel_shape": [2], "strides": [2]}),
        ("GlobalMaxPool", (0, 2, 5), {}),
        ("GlobalAveragePool", (0, 2, 5), {}),
        ("MaxPool", (1, 2, 1), {"kernel_shape": [2], "dilations": [3], "pads": [1, 1]}),
        ("AveragePool", (2, 1, 1), {"kernel_shape": [2], "dilations": [3], "pads": [1, 1]}),
    ],
)
def test_empty_batches_and_outputs_match_onnxruntime(op, shape, attrs):
    """N = 0, and an output of size 0 (a dilated window longer than the padded input)."""
    x = np.zeros(shape, np.float32)
    outputs = ["Y", "I"] if op == "MaxPool" else ["Y"]
    node = helper.make_node(op, ["X"], outputs, **attrs)
    got = run_node(node, [x])
    want = ort_run(node, [x], OPSET, [np.float32, np.int64][: len(outputs)])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w, strict=True)


def test_omitted_optional_names():
    """An empty Indices name computes no indices; an absent output_shape is the inferred
    shape, given as None or left out of the node."""
    x = data(3, (2, 3, 4, 4), np.float32, False)
    values, none = run_node(helper.make_node("MaxPool", ["X"], ["Y", ""], kernel_shape=[2, 2],
                                             strides=[2, 2]), [x])
    assert none is None
    values, indices = run_node(helper.make_node("MaxPool", ["X"], ["Y", "I"],
                                                kernel_shape=[2, 2], strides=[2, 2]), [x])
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2]}
    two = helper.make_node("MaxUnpool", ["X", "I"], ["Y"], **attrs)
    three = helper.make_node("MaxUnpool", ["X", "I", ""], ["Y"], **attrs)
    (want,) = ort_run(two, [values, indices], OPSET, [np.float32])
    for unpool in (two, three):
        (got,) = run_node(unpool, [values, indices, None][: len(unpool.input)])
        np.testing.assert_array_equal(got, want, strict=True)


# --------------------------------------------------------------------------------------------
# NaN: poolnd propagates it, onnxruntime may skip it


def test_onnxruntime_skips_nan_that_poolnd_propagates():
    node = helper.make_node("MaxPool", ["X"], ["Y", "I"], kernel_shape=[2])
    x = np.array([[[1.0, np.nan, 2.0]]], np.float32)
    values, indices = run_node(node, [x])
    ort_values, ort_indices = ort_run(node, [x], OPSET, [np.float32, np.int64])
    assert ort_values[0, 0, 0] == 1.0 and ort_indices[0, 0, 0] == 0  # the NaN is skipped
    assert np.isnan(ort_values[0, 0, 1])  # a window's first cell is kept
    assert np.isnan(values).all() and indices.tolist() == [[[1, 1]]]
    node = helper.make_node("MaxPool", ["X"], ["Y"], kernel_shape=[2])
    (ort_values,) = ort_run(node, [x], OPSET, [np.float32])
    assert ort_values.tolist() == [[[1.0, 2.0]]]  # without Indices, every NaN is skipped
    assert np.isnan(run_node(node, [x])[0]).all()
    node = helper.make_node("GlobalMaxPool", ["X"], ["Y"])
    (ort_global,) = ort_run(node, [x], OPSET, [np.float32])
    assert ort_global.item() == 2.0
    assert np.isnan(run_node(node, [x])[0]).all()


def test_windows_of_minus_inf_give_minus_inf():
    """onnxruntime's MaxPool without Indices and its GlobalMaxPool start from the lowest
    float, so -inf cells never replace it."""
    x = np.array([[[-np.inf, -np.inf, 1.0]]], np.float32)
    lowest = float(np.finfo(np.float32).min)
    for op, attrs, want in (("MaxPool", {"kernel_shape": [2]}, [-np.inf, 1.0]),
                            ("GlobalMaxPool", {}, [1.0])):
        node = helper.make_node(op, ["X"], ["Y"], **attrs)
        assert run_node(node, [x])[0].ravel().tolist() == want
    node = helper.make_node("MaxPool", ["X"], ["Y"], kernel_shape=[2])
    assert ort_run(node, [x], OPSET, [np.float32])[0].ravel().tolist() == [lowest, 1.0]
    node = helper.make_node("GlobalMaxPool", ["X"], ["Y"])
    y = x[..., :2]
    assert run_node(node, [y])[0].item() == -np.inf
    assert ort_run(node, [y], OPSET, [np.float32])[0].item() == lowest


@settings(max_examples=150)
@given(windows(), st.integers(0, 1), st.integers(0, 2**32 - 1))
def test_max_pool_nan_propagates(window, storage_order, seed):
    shape, attrs = window
    attrs = dict(attrs, storage_order=storage_order)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    nan = rng.random(shape) < 0.15
    x[nan] = np.nan
    node = helper.make_node("MaxPool", ["X"], ["Y", "I"], **attrs)
    values, indices = run_node(node, [x])
    # which windows hold a NaN: onnxruntime's max of the NaN indicator
    (holds_nan,) = ort_run(ort_node("MaxPool", ["Y"], shape, attrs), [nan.astype(np.float32)],
                           OPSET, [np.float32])
    holds_nan = holds_nan == 1
    assert np.array_equal(np.isnan(values), holds_nan)
    spatial_order = range(x.ndim - 1, 1, -1) if storage_order else range(2, x.ndim)
    flat = x.transpose(0, 1, *spatial_order).reshape(-1)  # the order the indices count in
    assert np.isnan(flat[indices[holds_nan]]).all()
    ort_values, ort_indices = ort_run(ort_node("MaxPool", ["Y", "I"], shape, attrs), [x], OPSET,
                                      [np.float32, np.int64])
    clean = ~holds_nan & ~padding_only(shape, attrs)
    np.testing.assert_array_equal(values[clean], ort_values[clean], strict=True)
    np.testing.assert_array_equal(indices[clean], ort_indices[clean], strict=True)


# --------------------------------------------------------------------------------------------
# AveragePool and LpPool


def check_average(x, attrs, opset=OPSET):
    node = helper.make_node("AveragePool", ["X"], ["Y"], **attrs)
    (got,) = run_node(node, [x], opset=opset)
    (want,) = ort_run(ort_node("AveragePool", ["Y"], x.shape, attrs), [x], opset, [x.dtype])
    if not attrs.get("count_include_pad"):  # 0 / 0: NaN here, 0 in onnxruntime
        want = np.where(padding_only(x.shape, attrs, opset), np.nan, want).astype(x.dtype)
    close(got, want, x)
    return got


@settings(max_examples=400)
@given(windows(), st.integers(0, 1), st.sampled_from(["float32", "float16"]),
       st.integers(0, 2**32 - 1))
def test_average_pool_matches_onnxruntime(window, count_include_pad, dtype, seed):
    shape, attrs = window
    attrs = dict(attrs, count_include_pad=count_include_pad)
    check_average(data(seed, shape, dtype, False), attrs)


@pytest.mark.parametrize(
    "shape, attrs",
    [
        # ceil mode with count_include_pad: the overhang past the end padding is not counted
        ((1, 1, 10), {"kernel_shape": [3], "strides": [3], "ceil_mode": 1}),
        ((2, 3, 7, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 0, 1, 2],
                        "ceil_mode": 1}),
        ((1, 2, 5, 5, 5), {"kernel_shape": [2, 3, 2], "strides": [2, 2, 2],
                           "pads": [1, 1, 0, 0, 1, 1], "ceil_mode": 1}),
        ((1, 1, 8, 9), {"kernel_shape": [2, 2], "strides": [3, 3], "dilations": [2, 2],
                        "pads": [1, 1, 1, 0], "ceil_mode": 1}),
        # SAME with strides > 1 and dilation
        ((2, 2, 9, 7), {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": "SAME_LOWER"}),
        ((1, 3, 11), {"kernel_shape": [3], "strides": [2], "dilations": [2],
                      "auto_pad": "SAME_UPPER"}),
        # windows of padding only
        ((1, 2, 2), {"kernel_shape": [2], "dilations": [3], "pads": [1, 1]}),
    ],
)
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool_corners(shape, attrs, count_include_pad):
    x = data(11, shape, np.float32, False)
    check_average(x, dict(attrs, count_include_pad=count_include_pad))


def test_average_pool_ceil_overhang_is_not_counted():
    """Input 0..9, k=3, s=3, ceil: the last window holds 9 alone, with or without
    count_include_pad (the research note's example; onnx's reference gets it wrong)."""
    x = np.arange(10, dtype=np.float32).reshape(1, 1, 10)
    for cip in (0, 1):
        got = check_average(x, {"kernel_shape": [3], "strides": [3], "ceil_mode": 1,
                                "count_include_pad": cip})
        assert got.ravel().tolist() == [1.0, 4.0, 7.0, 9.0]


@settings(max_examples=200)
@given(windows(), st.sampled_from([1, 2, 3]), st.sampled_from(["float32", "float16"]),
       st.integers(0, 2**32 - 1))
def test_lp_pool_matches_onnxruntime(window, p, dtype, seed):
    shape, attrs = window
    x = data(seed, shape, dtype, False)
    node = helper.make_node("LpPool", ["X"], ["Y"], p=p, **attrs)
    (got,) = run_node(node, [x])
    (want,) = ort_run(ort_node("LpPool", ["Y"], shape, dict(attrs, p=p)), [x], OPSET, [x.dtype])
    close(got, want, x)


# --------------------------------------------------------------------------------------------
# global pooling


@settings(max_examples=100)
@given(st.integers(1, 3), st.integers(1, 3), st.lists(st.integers(1, 6), min_size=1,
       max_size=3), st.sampled_from(["float32", "float16"]), st.integers(0, 2**32 - 1))
def test_global_pools_match_onnxruntime(n, c, spatial, dtype, seed):
    x = data(seed, (n, c, *spatial), dtype, False)
    for op, opset, attrs in (
        ("GlobalMaxPool", OPSET, {}),
        ("GlobalAveragePool", OPSET, {}),
        ("GlobalLpPool", 21, {}),  # onnxruntime implements GlobalLpPool up to opset 21
        ("GlobalLpPool", 21, {"p": 1}),
        ("GlobalLpPool", 21, {"p": 3}),
    ):
        node = helper.make_node(op, ["X"], ["Y"], **attrs)
        (got,) = run_node(node, [x], opset=opset)
        (want,) = ort_run(node, [x], opset, [x.dtype])
        if op == "GlobalMaxPool":
            np.testing.assert_array_equal(got, want, strict=True)
        else:
            close(got, want, x, ulps=16)


# --------------------------------------------------------------------------------------------
# MaxUnpool


@settings(max_examples=150)
@given(windows(dilations=False, ceil=False, auto_pads=("NOTSET",)), st.integers(0, 3),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_max_unpool_of_max_pool_matches_onnxruntime(window, grow, explicit, seed):
    shape, attrs = window
    x = data(seed, shape, np.float32, False)
    pool = helper.make_node("MaxPool", ["X"], ["Y", "I"], **attrs)
    values, indices = ort_run(pool, [x], OPSET, [np.float32, np.int64])
    assume(values.size > 0 and (indices >= 0).all())
    rank = x.ndim - 2
    inferred = [
        (o - 1) * s - lo - hi + k
        for o, s, lo, hi, k in zip(values.shape[2:], attrs["strides"], attrs["pads"][:rank],
                                   attrs["pads"][rank:], attrs["kernel_shape"])
    ]
    assume(all(size > 0 for size in inferred))
    out_size = [max(size, n) + grow for size, n in zip(inferred, x.shape[2:])]
    unpool_attrs = {k: attrs[k] for k in ("kernel_shape", "strides", "pads")}
    if explicit or out_size != inferred:
        node = helper.make_node("MaxUnpool", ["X", "I", "S"], ["Y"], **unpool_attrs)
        inputs = [values, indices, np.array(list(x.shape[:2]) + out_size, np.int64)]
    else:
        node = helper.make_node("MaxUnpool", ["X", "I"], ["Y"], **unpool_attrs)
        inputs = [values, indices]
    (got,) = run_node(node, inputs)
    (want,) = ort_run(node, inputs, OPSET, [np.float32])
    np.testing.assert_array_equal(got, want, strict=True)


@settings(max_examples=80)
@given(st.integers(1, 3), st.integers(1, 3), st.lists(st.integers(1, 4), min_size=1,
       max_size=3), st.integers(0, 2), st.integers(0, 2**32 - 1))
def test_max_unpool_indices_over_the_whole_tensor(n, c, spatial, grow, seed):
    """Arbitrary indices into the whole output: repeated ones (the last write wins) and ones
    pointing into another (n, c) plane, as the spec's flat indices allow."""
    rng = np.random.default_rng(seed)
    shape = (n, c, *spatial)
    x = rng.standard_normal(shape).astype(np.float32)
    rank = len(spatial)
    out_shape = [n, c] + [2 * s + grow for s in spatial]
    indices = rng.integers(0, math.prod(out_shape), size=shape).astype(np.int64)
    node = helper.make_node("MaxUnpool", ["X", "I", "S"], ["Y"], kernel_shape=[2] * rank,
                            strides=[2] * rank)
    inputs = [x, indices, np.array(out_shape, np.int64)]
    (got,) = run_node(node, inputs)
    (want,) = ort_run(node, inputs, OPSET, [np.float32])
    np.testing.assert_array_equal(got, want, strict=True)


# --------------------------------------------------------------------------------------------
# opsets before 22: the ceil-mode window starting in the end padding is kept


def inferred_shape(op, x, attrs, opset):
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("X", tensor_type(x.dtype), x.shape)],
        [helper.make_tensor_value_info("Y", tensor_type(x.dtype), None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    return tuple(d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim)


def check_older_opset(op, opset, x, attrs):
    """The output shape is onnx's shape inference at that opset; the windows onnxruntime
    also computes agree with it; a window it drops (one starting in the end padding) holds
    padding only: -inf, a zero norm, an average of NaN (0 / 0) or of zeros."""
    node = helper.make_node(op, ["X"], ["Y"], **attrs)
    (got,) = run_node(node, [x], opset=opset)
    assert got.shape == inferred_shape(op, x, attrs, opset)
    (want,) = ort_run(node, [x], opset, [x.dtype])
    assert all(g - w in (0, 1) for g, w in zip(got.shape, want.shape))
    common = tuple(slice(0, m) for m in want.shape)
    cip = attrs.get("count_include_pad", 0)
    if op == "MaxPool":
        np.testing.assert_array_equal(got[common], want, strict=True)
    else:
        if op == "AveragePool" and not cip:
            pad_only = padding_only(x.shape, attrs, OPSET)[common]
            want = np.where(pad_only, np.nan, want).astype(x.dtype)
        close(got[common], want, x)
    kept = np.ones(got.shape, bool)
    kept[common] = False
    if op == "MaxPool":
        assert (got[kept] == -np.inf).all()
    elif op == "LpPool":
        assert (got[kept] == 0).all()
    elif cip:  # zeros over the padding cells: 0, or 0 / 0 past the end padding
        assert ((got[kept] == 0) | np.isnan(got[kept])).all()
    else:
        assert np.isnan(got[kept]).all()
    return got, want


OLD_OPSETS = [("MaxPool", 10), ("MaxPool", 12), ("AveragePool", 11), ("AveragePool", 19),
              ("LpPool", 18)]


@settings(max_examples=150)
@given(windows(dilations=False, auto_pads=("NOTSET", "VALID")), st.sampled_from(OLD_OPSETS),
       st.integers(0, 1), st.integers(0, 2**32 - 1))
def test_older_opsets_keep_the_ceil_window_in_the_padding(window, op_opset, cip, seed):
    op, opset = op_opset
    shape, attrs = window
    if op == "AveragePool":
        attrs = dict(attrs, count_include_pad=cip)
    check_older_opset(op, opset, data(seed, shape, np.float32, False), attrs)


@pytest.mark.parametrize("op, opset", OLD_OPSETS)
@pytest.mark.parametrize("cip", [0, 1])
def test_older_opsets_keep_a_window_onnxruntime_drops(op, opset, cip):
    """Width 4, k=2, s=2, pads (0, 1), ceil: the third window starts in the end padding."""
    x = np.arange(1, 9, dtype=np.float32).reshape(1, 2, 4)
    attrs = {"kernel_shape": [2], "strides": [2], "pads": [0, 1], "ceil_mode": 1}
    if op == "AveragePool":
        attrs["count_include_pad"] = cip
    got, want = check_older_opset(op, opset, x, attrs)
    assert got.shape == (1, 2, 3) and want.shape == (1, 2, 2)


def test_ceil_window_kept_before_opset_22():
    """The suite's ``maxpool_2d_ceil_output_size_reduce_by_one`` geometry (2x2, k=1, s=2):
    one output from opset 22 on, two before (the second window lies past the input)."""
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], np.float32)
    attrs = {"kernel_shape": [1, 1], "strides": [2, 2], "ceil_mode": 1}
    node = helper.make_node("MaxPool", ["X"], ["Y"], **attrs)
    assert run_node(node, [x], opset=22)[0].tolist() == [[[[1.0]]]]
    old = run_node(node, [x], opset=12)[0]
    assert old.shape == inferred_shape("MaxPool", x, attrs, 12) == (1, 1, 2, 2)
    assert old[0, 0, 0, 0] == 1.0 and (old[0, 0].ravel()[1:] == -np.inf).all()


# --------------------------------------------------------------------------------------------
# beyond what onnxruntime accepts: output shapes against onnx's shape inference, large pads


@st.composite
def any_windows(draw, auto_pads=AUTO_PADS):
    """Windows with pads up to past the dilated kernel and SAME padding of any total."""
    rank = draw(st.integers(1, 3))
    auto_pad = draw(st.sampled_from(auto_pads))
    kernel = [draw(st.integers(1, 4)) for _ in range(rank)]
    strides = [draw(st.integers(1, 4)) for _ in range(rank)]
    dil = [draw(st.integers(1, 3)) for _ in range(rank)]
    pads = [0] * (2 * rank)
    if auto_pad == "NOTSET":
        pads = [draw(st.integers(0, (kernel[i % rank] - 1) * dil[i % rank] + 2))
                for i in range(2 * rank)]
    spatial = []
    for i in range(rank):
        eff = (kernel[i] - 1) * dil[i] + 1
        least = {"NOTSET": max(1, eff - pads[i] - pads[i + rank]), "VALID": eff}.get(auto_pad, 1)
        spatial.append(draw(st.integers(least, least + 6)))
    attrs = {"kernel_shape": kernel, "strides": strides, "dilations": dil,
             "ceil_mode": draw(st.integers(0, 1))}
    attrs.update({"pads": pads} if auto_pad == "NOTSET" else {"auto_pad": auto_pad})
    return (1, 2, *spatial), attrs


@settings(max_examples=200)
@given(any_windows(), st.sampled_from([("MaxPool", 10), ("MaxPool", 12), ("MaxPool", 22),
                                       ("AveragePool", 19), ("AveragePool", 22),
                                       ("LpPool", 18), ("LpPool", 22)]))
def test_output_shapes_match_onnx_shape_inference(window, op_opset):
    op, opset = op_opset
    shape, attrs = window
    if opset < 22 and attrs["ceil_mode"] and attrs.get("auto_pad", "").startswith("SAME"):
        # no padding where the SAME total is negative: ceil(in / stride) outputs, where
        # shape inference before opset 22 applies the ceil rule to unpadded input
        totals = [(-(-n // s) - 1) * s + (k - 1) * d + 1 - n for n, k, s, d in
                  zip(shape[2:], attrs["kernel_shape"], attrs["strides"], attrs["dilations"])]
        assume(min(totals) >= 0)
    x = np.zeros(shape, np.float32)
    (got,) = run_node(helper.make_node(op, ["X"], ["Y"], **attrs), [x], opset=opset)
    assert got.shape == inferred_shape(op, x, attrs, opset)


@settings(max_examples=150)
@given(any_windows(auto_pads=("NOTSET",)), st.integers(0, 2**32 - 1))
def test_max_pool_with_large_pads_matches_onnxruntime_on_padded_input(window, seed):
    """Pads onnxruntime refuses (>= kernel) against its MaxPool of the input padded with -inf
    beforehand (floor mode: there the windows are the same). A window of -inf cells is -inf
    here, the lowest float in onnxruntime's MaxPool without Indices."""
    shape, attrs = window
    attrs = dict(attrs, ceil_mode=0)
    x = data(seed, shape, np.float32, False)
    (got,) = run_node(helper.make_node("MaxPool", ["X"], ["Y"], **attrs), [x])
    rank = x.ndim - 2
    pads = attrs["pads"]
    padded = np.pad(x, [(0, 0), (0, 0), *zip(pads[:rank], pads[rank:])],
                    constant_values=-np.inf)
    unpadded = {k: v for k, v in attrs.items() if k != "pads"}
    (want,) = ort_run(helper.make_node("MaxPool", ["X"], ["Y"], **unpadded), [padded], OPSET,
                      [np.float32])
    want = np.where(want == np.finfo(np.float32).min, np.float32(-np.inf), want)
    np.testing.assert_array_equal(got, want, strict=True)
