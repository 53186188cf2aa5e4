"""Shared helpers of the ONNX tests: onnxruntime as an oracle for single nodes, the opset of a
model, and the ONNX test data (node cases rebuilt by the onnx package, pytorch-converted
models shipped in its wheel).

Nothing here calls poolnd: expectations come from onnx's test cases or from onnxruntime.
"""

from __future__ import annotations

import functools
import glob
import os
import warnings
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

ort.set_default_logger_severity(3)  # no shape-mismatch chatter on stderr

POOL_OPS = (
    "AveragePool",
    "GlobalAveragePool",
    "GlobalLpPool",
    "GlobalMaxPool",
    "LpPool",
    "MaxPool",
    "MaxUnpool",
)


def model_opset(model: onnx.ModelProto) -> int:
    """The model's opset of the default domain."""
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def tensor_type(dtype: Any) -> int:
    """The ONNX element type of a NumPy dtype."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def ort_run(
    node: onnx.NodeProto,
    inputs: list[np.ndarray | None],
    opset: int,
    output_dtypes: list[Any],
) -> list[np.ndarray]:
    """Run one node in onnxruntime (CPU, one thread), in a model of the given opset."""
    present = [(name, a) for name, a in zip(node.input, inputs) if name and a is not None]
    graph = helper.make_graph(
        [node],
        "single_node",
        [helper.make_tensor_value_info(name, tensor_type(a.dtype), None) for name, a in present],
        [helper.make_tensor_value_info(name, tensor_type(d), None)
         for name, d in zip(node.output, output_dtypes) if name],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, dict(present))


@functools.cache
def node_cases() -> tuple[Any, ...]:
    """Every ONNX backend node test of a pooling op, rebuilt in memory by the onnx package.

    ``collect_testcases`` imports every generator module once (later calls return the same
    list), so it is called once, unfiltered, and filtered here. Its generators warn about
    casts and divisions of other operators' data, which are silenced.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases

        cases = collect_testcases()
    return tuple(
        c for c in cases
        if c.kind == "node" and any(n.op_type in POOL_OPS for n in c.model.graph.node)
    )


def data_root() -> str:
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")


def pytorch_case_dirs() -> list[str]:
    """The pooling models the onnx wheel ships from old PyTorch exports (with their data)."""
    found = glob.glob(os.path.join(data_root(), "pytorch-*", "test_*[Pp]ool*"))
    return sorted(found, key=os.path.basename)


def read_tensor(path: str) -> np.ndarray:
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return numpy_helper.to_array(tensor)


def pytorch_case(directory: str) -> tuple[onnx.ModelProto, list[tuple[list, list]]]:
    """A pytorch-converted case: its model and its ``(inputs, outputs)`` data sets."""
    model = onnx.load(os.path.join(directory, "model.onnx"))
    data_sets = []
    for ds in sorted(glob.glob(os.path.join(directory, "test_data_set_*"))):
        ins = [read_tensor(p) for p in sorted(glob.glob(os.path.join(ds, "input_*.pb")))]
        outs = [read_tensor(p) for p in sorted(glob.glob(os.path.join(ds, "output_*.pb")))]
        data_sets.append((ins, outs))
    return model, data_sets
