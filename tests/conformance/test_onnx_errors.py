"""Every error of `poolnd.onnx.run_node`, with its message (function, attribute or input,
rule, value), and the light import: ``import poolnd`` and ``import poolnd.onnx`` do not
import onnx.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from onnx import helper

import poolnd.onnx
from poolnd.onnx import run_node

X = np.zeros((1, 2, 4, 4), np.float32)
V, T = ValueError, TypeError


def m(*parts: str) -> str:
    """A regex matching the literal ``parts`` in this order, anything between them."""
    return ".*".join(re.escape(p) for p in parts)


def node(op="MaxPool", inputs=("X",), outputs=("Y",), **attrs):
    return helper.make_node(op, list(inputs), list(outputs), **attrs)


POOL = {"kernel_shape": [2, 2]}

CASES = [
    # (node, inputs, run_node keywords, error, message parts)
    ("not a node", [X], {}, T, ("run_node(): node must be an onnx.NodeProto", "got str")),
    (node(**POOL), [X], {"opset": True}, T, ("run_node(): opset must be an int", "True")),
    (node(**POOL), [X], {"opset": 12.0}, T, ("opset must be an int or None", "12.0",
                                              "float")),
    (node(**POOL), [X], {"opset": 0}, V, ("opset must be between 1 and", "got 0")),
    (node(**POOL), [X], {"opset": 10_000}, V, ("opset must be between 1 and", "10000")),
    (helper.make_node("MaxPool", ["X"], ["Y"], domain="com.microsoft", **POOL), [X], {}, V,
     ("node domain must be '' or 'ai.onnx'", "'com.microsoft'")),
    (node("Relu"), [X], {}, V, ("op_type must be one of AveragePool", "got 'Relu'")),
    (node("MaxUnpool", ("X", "I"), **POOL), [X, X.astype(np.int64)], {"opset": 8}, V,
     ("MaxUnpool is not defined at opset 8", "first appears in opset 9")),
    (node(dilations=[2, 2], **POOL), [X], {"opset": 8}, V,
     ("MaxPool-8 has no attribute 'dilations'", "auto_pad, kernel_shape", "[2, 2]")),
    (node(foo=1, **POOL), [X], {}, V, ("MaxPool-22 has no attribute 'foo'", "foo=1")),
    (node(kernel_shape=2), [X], {}, T,
     ("MaxPool-22 attribute 'kernel_shape' must be of type INTS", "got type INT")),
    (node("LpPool", p=2.0, **POOL), [X], {}, T,
     ("LpPool-22 attribute 'p' must be of type INT", "FLOAT")),
    (node("GlobalLpPool", p=2), [X], {"opset": 1}, T,
     ("GlobalLpPool-1 attribute 'p' must be of type FLOAT", "INT")),
    (node(), [X], {}, V, ("MaxPool-22 attribute 'kernel_shape' is required", "none")),
    (node(**POOL), X, {}, T, ("inputs must be a list of arrays", "ndarray")),
    (node(**POOL), [X, X], {}, V, ("inputs must hold one array per node input (1", "got 2")),
    (node(inputs=("X", "Z"), **POOL), [X, X], {}, V,
     ("MaxPool-22 takes 1 to 1 inputs", "['X', 'Z']")),
    (node(**POOL), [None], {}, V, ("MaxPool-22 input X is required", "None")),
    (node(inputs=("",), **POOL), [X], {}, V, ("input X is required", "an empty input name")),
    (node(**POOL), [X.astype(np.int32)], {}, T,
     ("MaxPool-22 input X must be of dtype", "int8, uint8", "got int32")),
    (node(**POOL), [X.astype(np.int8)], {"opset": 11}, T,
     ("MaxPool-11 input X must be of dtype float16, float32, float64", "got int8")),
    (node("AveragePool", outputs=("Y", "I"), **POOL), [X], {}, V,
     ("AveragePool-22 has 1 to 1 output(s)", "['Y', 'I']")),
    (node(outputs=("Y", "I"), **POOL), [X], {"opset": 7}, V,
     ("MaxPool-1 has 1 to 1 output(s)", "['Y', 'I']")),
    (node(outputs=(), **POOL), [X], {}, V, ("MaxPool-22 has 1 to 2 output(s)", "with 0: []")),
    (node(**POOL), [np.zeros((2, 4), np.float32)], {}, V,
     ("MaxPool-22 input X must have at least 3 dims", "(2, 4)")),
    (node(**POOL), [np.zeros((1, 0, 4, 4), np.float32)], {}, V,
     ("input X must have positive channel and spatial sizes", "(1, 0, 4, 4)")),
    (node(kernel_shape=[2]), [X], {}, V,
     ("MaxPool-22 attribute 'kernel_shape' must hold 2 ints >= 1", "got [2]")),
    (node(kernel_shape=[2, 0]), [X], {}, V, ("'kernel_shape' must hold 2 ints >= 1",
                                              "[2, 0]")),
    (node(strides=[1], **POOL), [X], {}, V, ("'strides' must hold 2 ints >= 1", "got [1]")),
    (node(strides=[1, 0], **POOL), [X], {}, V, ("'strides' must hold 2 ints >= 1", "[1, 0]")),
    (node(dilations=[0, 1], **POOL), [X], {}, V, ("'dilations' must hold 2 ints >= 1",
                                                   "[0, 1]")),
    (node(pads=[1, 1], **POOL), [X], {}, V, ("'pads' must hold 4 ints >= 0", "got [1, 1]")),
    (node(pads=[0, 0, -1, 0], **POOL), [X], {}, V, ("'pads' must hold 4 ints >= 0",
                                                     "[0, 0, -1, 0]")),
    (node(auto_pad="SAME", **POOL), [X], {}, V,
     ("'auto_pad' must be one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", "'SAME'")),
    (node(auto_pad="VALID", pads=[0, 1, 0, 0], **POOL), [X], {}, V,
     ("'pads' and 'auto_pad' cannot be used together", "[0, 1, 0, 0]", "'VALID'")),
    (node(ceil_mode=2, **POOL), [X], {}, V, ("'ceil_mode' must be 0 or 1", "got 2")),
    (node("AveragePool", count_include_pad=-1, **POOL), [X], {}, V,
     ("AveragePool-22 attribute 'count_include_pad' must be 0 or 1", "got -1")),
    (node(storage_order=2, **POOL), [X], {}, V,
     ("'storage_order' must be 0 (row-major) or 1 (column-major)", "got 2")),
    (node("LpPool", p=0, **POOL), [X], {}, V,
     ("LpPool-22 attribute 'p' must be a positive finite number", "got 0")),
    (node("GlobalLpPool", p=-1), [X], {}, V, ("GlobalLpPool-22 attribute 'p' must be",
                                               "got -1")),
    (node("GlobalLpPool", p=float("inf")), [X], {"opset": 1}, V,
     ("GlobalLpPool-1 attribute 'p' must be a positive finite number", "inf")),
    (node(kernel_shape=[3, 7]), [X], {}, V,
     ("MaxPool-22 input X is too small for its window in spatial dimension 1", "size 4",
      "kernel_shape 7", "output size -2")),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_error(case):
    bad_node, inputs, kwargs, error, parts = CASES[case]
    with pytest.raises(error, match=m(*parts)):
        run_node(bad_node, inputs, **kwargs)


def test_attribute_given_twice():
    bad = node(**POOL)
    bad.attribute.extend([helper.make_attribute("kernel_shape", [3, 3])])
    with pytest.raises(V, match=m("MaxPool-22 attribute 'kernel_shape' is given twice")):
        run_node(bad, [X])


def test_bfloat16_input_is_refused():
    ml_dtypes = pytest.importorskip("ml_dtypes")  # onnx's own dependency for bfloat16
    x = np.zeros((1, 1, 4), ml_dtypes.bfloat16)
    with pytest.raises(T, match=m("MaxPool-22 input X has dtype bfloat16", "does not support")):
        run_node(node(kernel_shape=[2]), [x])


UNPOOL = {"kernel_shape": [2, 2], "strides": [2, 2]}
XU = np.ones((2, 1, 2, 2), np.float32)
IU = np.arange(8, dtype=np.int64).reshape(2, 1, 2, 2)

UNPOOL_CASES = [
    (node("MaxUnpool", ("X", "I"), kernel_shape=[2]), [XU, IU], V,
     ("MaxUnpool-22 attribute 'kernel_shape' must hold 2 ints >= 1", "got [2]")),
    (node("MaxUnpool", ("X", "I"), **UNPOOL), [XU, IU.astype(np.int32)], T,
     ("MaxUnpool-22 input I must be of dtype int64", "got int32")),
    (node("MaxUnpool", ("X", "I"), **UNPOOL), [XU, IU[:, :, :1]], V,
     ("input I must have the shape of X (2, 1, 2, 2)", "got shape (2, 1, 1, 2)")),
    (node("MaxUnpool", ("X", "I"), kernel_shape=[1, 1], pads=[0, 0, 3, 0]), [XU, IU], V,
     ("output size (in - 1) * strides - pads + kernel_shape must be non-negative",
      "(-1, 2)")),
    (node("MaxUnpool", ("X", "I", "S"), **UNPOOL), [XU, IU, np.array([2, 1, 4], np.int64)], V,
     ("input output_shape must be the full output shape, 4 non-negative ints", "(2, 1)",
      "[2, 1, 4]")),
    (node("MaxUnpool", ("X", "I", "S"), **UNPOOL), [XU, IU, np.array([1, 2, 4, 4], np.int64)],
     V, ("output_shape must be the full output shape", "[1, 2, 4, 4]")),
    (node("MaxUnpool", ("X", "I", "S"), **UNPOOL),
     [XU, IU, np.array([2, 1, -4, 4], np.int64)], V, ("non-negative", "[2, 1, -4, 4]")),
    (node("MaxUnpool", ("X", "I", "S"), **UNPOOL),
     [XU, IU, np.array([[2, 1, 4, 4]], np.int64)], V, ("full output shape", "[[2, 1, 4, 4]]")),
    (node("MaxUnpool", ("X", "I"), **UNPOOL), [XU, IU - 1], V,
     ("input I must hold flat row-major indices into the whole output of shape (2, 1, 4, 4), "
      "in [0, 32)", "got -1 at position (0, 0, 0, 0)")),
    (node("MaxUnpool", ("X", "I", "S"), **UNPOOL),
     [XU, IU * 3, np.array([2, 1, 2, 2], np.int64)], V,
     ("whole output of shape (2, 1, 2, 2), in [0, 8)", "got 9 at position (0, 0, 1, 1)")),
]


@pytest.mark.parametrize("case", range(len(UNPOOL_CASES)))
def test_unpool_error(case):
    bad_node, inputs, error, parts = UNPOOL_CASES[case]
    with pytest.raises(error, match=m(*parts)):
        run_node(bad_node, inputs)


def test_missing_onnx_is_named(monkeypatch):
    def no_onnx(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(poolnd.onnx.importlib, "import_module", no_onnx)
    with pytest.raises(ImportError, match=m("run_node(): the onnx package is needed",
                                            "pip install onnx")):
        run_node(node(**POOL), [X])


def test_inputs_are_not_modified():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    x.setflags(write=False)
    before = x.copy()
    for op, attrs in (("MaxPool", POOL), ("AveragePool", dict(POOL, count_include_pad=1,
                                                                 ceil_mode=1, strides=[2, 2])),
                      ("LpPool", POOL), ("GlobalLpPool", {})):
        outputs = ("Y", "I") if op == "MaxPool" else ("Y",)
        run_node(node(op, outputs=outputs, **attrs), [x])
    np.testing.assert_array_equal(x, before, strict=True)


def test_import_poolnd_does_not_import_onnx():
    code = (
        "import sys, poolnd, poolnd.onnx; "
        "assert not any(m == 'onnx' or m.startswith('onnx.') for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('onnx'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
