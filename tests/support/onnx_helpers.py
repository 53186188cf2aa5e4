"""Shared helpers of the ONNX tests: onnxruntime as an oracle for single nodes, the opset of a
model, and the ONNX test data (node cases rebuilt by the onnx package, pytorch-converted
models shipped in its wheel).

Nothing here calls poolnd: expectations come from onnx's test cases or from onnxruntime.
"""

from __future__ import annotations

import ast
import functools
import glob
import importlib
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
# the modules of onnx.backend.test.case.node that generate the pooling cases
POOL_CASE_MODULES = (
    "averagepool",
    "globalaveragepool",
    "globalmaxpool",
    "lppool",
    "maxpool",
    "maxunpool",
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


def _node_package_dir() -> str:
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "case", "node")


def modules_naming(op_types: tuple[str, ...]) -> list[str]:
    """The modules of onnx's node-case generators whose source holds one of ``op_types`` as
    a string literal (read, not imported: importing a generator builds its cases)."""
    found = []
    for path in sorted(glob.glob(os.path.join(_node_package_dir(), "**", "*.py"),
                                 recursive=True)):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        if any(isinstance(n, ast.Constant) and n.value in op_types for n in ast.walk(tree)):
            found.append(os.path.splitext(os.path.relpath(path, _node_package_dir()))[0]
                         .replace(os.sep, "."))
    return found


@functools.cache
def node_cases(module: str | None = None) -> dict[str, Any]:
    """The ONNX backend node tests of pooling ops by name (those of one generator module of
    `POOL_CASE_MODULES`, or of all), rebuilt in memory by the onnx package: importing a
    generator module runs its ``export`` functions (each from seed 0, as
    ``collect_testcases`` does), which append their cases to the package's list. Only the
    pooling modules are imported (`modules_naming` shows no other module makes a pooling
    node), on first use rather than when the tests are collected. The generators warn about
    casts and divisions, which are silenced.
    """
    if module is None:
        return {k: v for m in POOL_CASE_MODULES for k, v in node_cases(m).items()}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        import onnx.backend.test.case.node as generators

        before = len(generators._NodeTestCases)
        importlib.import_module(f"{generators.__name__}.{module}")
        made = generators._NodeTestCases[before:]
    return {
        c.name: c for c in made
        if c.kind == "node" and any(n.op_type in POOL_OPS for n in c.model.graph.node)
    }


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
