"""The ONNX conformance suite for pooling, through `poolnd.onnx.run_node`.

Every ONNX backend node test of a pooling op (rebuilt in memory by the installed onnx
package: onnx >= 1.23 no longer ships their data files) and every pytorch-converted pooling
model the onnx wheel ships (opsets 6 and 12, some with Unsqueeze/Squeeze around the pool)
runs at its own opset. Max pooling values, indices and unpooling are compared bit for bit;
averages and LP norms within float rounding (a few units in the last place of the input's
magnitude), tighter than the suite's own ``rtol=1e-3``.

Two documented exceptions, each also checked against onnxruntime:

* ``test_averagepool_2d_ceil_last_window_starts_on_pad`` lists its expected values with
  four or five significant digits; it is compared with the suite's tolerance, and bit for
  bit-close to onnxruntime.
* ``test_maxunpool_export_with_output_shape``: onnx's expectation reads the indices in the
  inferred 4x4 shape and pads the result to 5x5; onnxruntime and PyTorch read them as flat
  positions in the requested 5x5 output, and poolnd follows them (onnx/onnx#2398).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from onnx import helper
from onnx_helpers import (
    POOL_CASE_MODULES,
    POOL_OPS,
    model_opset,
    modules_naming,
    node_cases,
    ort_run,
    pytorch_case,
    pytorch_case_dirs,
)

from poolnd.onnx import run_node

PYTORCH_DIRS = {os.path.basename(d): d for d in pytorch_case_dirs()}
EXACT_OPS = ("MaxPool", "GlobalMaxPool", "MaxUnpool")
DISPUTED = "test_maxunpool_export_with_output_shape"
ROUNDED_LITERALS = "test_averagepool_2d_ceil_last_window_starts_on_pad"


def assert_matches(op: str, got: np.ndarray, expected: np.ndarray, scale: float) -> None:
    """Bit for bit for max pooling and unpooling; within float rounding otherwise."""
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    if op in EXACT_OPS:
        np.testing.assert_array_equal(got, expected, strict=True)
        return
    eps = float(np.finfo(got.dtype).eps)
    np.testing.assert_allclose(got, expected, rtol=8 * eps, atol=8 * eps * scale)


def run_graph(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Evaluate a model's graph: pooling nodes by `run_node`, the Unsqueeze/Squeeze of the
    pytorch-converted 1d cases (opset-6 ``axes`` attributes) by NumPy."""
    env = {i.name: a for i, a in zip(model.graph.input, inputs)}
    opset = model_opset(model)
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Unsqueeze":
            out = env[node.input[0]]
            for axis in sorted(attrs["axes"]):
                out = np.expand_dims(out, axis)
            env[node.output[0]] = out
        elif node.op_type == "Squeeze":
            env[node.output[0]] = np.squeeze(env[node.input[0]], tuple(attrs["axes"]))
        else:
            assert node.op_type in POOL_OPS, node.op_type
            env.update(zip(node.output, run_node(node, [env[n] for n in node.input],
                                                 opset=opset)))
    return [env[o.name] for o in model.graph.output]


def test_the_suite_has_every_tested_pooling_op():
    """The cases built hold every pooling op the onnx suite tests (it has no GlobalLpPool
    case) and nothing else, every module gives some, and no generator module besides the
    ones imported makes a pooling node."""
    cases = node_cases()
    ops = {n.op_type for case in cases.values() for n in case.model.graph.node}
    assert ops == set(POOL_OPS) - {"GlobalLpPool"}
    assert all(node_cases(m) for m in POOL_CASE_MODULES)
    assert len(cases) > 40 and {DISPUTED, ROUNDED_LITERALS} <= set(cases)
    assert modules_naming(POOL_OPS) == list(POOL_CASE_MODULES)
    assert len(PYTORCH_DIRS) > 0
    assert all(("Pool" in name or "pool" in name) for name in PYTORCH_DIRS)


def check_node_case(case) -> None:
    (node,) = case.model.graph.node
    assert case.data_sets
    for inputs, outputs in case.data_sets:
        got = run_node(node, list(inputs), opset=model_opset(case.model))
        assert len(got) == len(outputs)
        scale = float(np.max(np.abs(inputs[0])))
        for g, e in zip(got, outputs):
            assert_matches(node.op_type, g, e, scale)


@pytest.mark.parametrize("module", POOL_CASE_MODULES)
def test_node_cases(module):
    """Every case of one generator module (the cases are built when the test runs, so they
    cannot name the parameters); the failures are reported by case name."""
    failures = []
    for name, case in sorted(node_cases(module).items()):
        if name in (DISPUTED, ROUNDED_LITERALS):
            continue
        try:
            check_node_case(case)
        except Exception as exc:  # reported with the case's name below
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


def test_node_case_with_rounded_literals():
    """The expected values are typed with few digits: the suite's own tolerance against
    them, float rounding against onnxruntime."""
    case = node_cases()[ROUNDED_LITERALS]
    (node,) = case.model.graph.node
    ((inputs, outputs),) = case.data_sets
    opset = model_opset(case.model)
    (got,) = run_node(node, list(inputs), opset=opset)
    np.testing.assert_allclose(got, outputs[0], rtol=case.rtol, atol=case.atol)
    (ort_out,) = ort_run(node, list(inputs), opset, [got.dtype])
    assert_matches(node.op_type, got, ort_out, float(np.max(np.abs(inputs[0]))))


def test_disputed_maxunpool_case_follows_onnxruntime_and_torch():
    case = node_cases()[DISPUTED]
    (node,) = case.model.graph.node
    ((inputs, outputs),) = case.data_sets
    x, indices, output_shape = inputs
    opset = model_opset(case.model)
    (got,) = run_node(node, list(inputs), opset=opset)
    (ort_out,) = ort_run(node, list(inputs), opset, [x.dtype])
    np.testing.assert_array_equal(got, ort_out, strict=True)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    torch_out = tF.max_unpool2d(
        torch.from_numpy(x), torch.from_numpy(indices), attrs["kernel_shape"],
        attrs["strides"], output_size=[int(v) for v in output_shape[2:]],
    ).numpy()
    np.testing.assert_array_equal(got, torch_out, strict=True)
    assert got.shape == outputs[0].shape
    assert not np.array_equal(got, outputs[0])  # the documented disagreement still stands


@pytest.mark.parametrize("name", sorted(PYTORCH_DIRS))
def test_pytorch_converted_case(name):
    model, data_sets = pytorch_case(PYTORCH_DIRS[name])
    (op,) = {n.op_type for n in model.graph.node} & set(POOL_OPS)
    assert data_sets
    for inputs, outputs in data_sets:
        got = run_graph(model, inputs)
        assert len(got) == len(outputs)
        for g, e in zip(got, outputs):
            assert_matches(op, g, e, float(np.max(np.abs(inputs[0]))))
