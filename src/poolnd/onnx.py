"""Evaluate ONNX pooling nodes with poolnd: `run_node`.

``import poolnd.onnx`` is light: the ``onnx`` package (needed to build an ``onnx.NodeProto``
anyway) is imported when `run_node` first runs. Each node's attributes, inputs and dtypes are
checked against the operator's schema at the requested opset, as the installed ``onnx``
package defines it, and the node is evaluated with poolnd's own ops
(`poolnd._ops.onnx_nodes`). See `run_node` for the conventions and where they depart from
onnxruntime.
"""

from __future__ import annotations

import importlib
import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._ops import onnx_nodes as ev

__all__ = ["OPS", "run_node"]

OPS = (
    "AveragePool",
    "GlobalAveragePool",
    "GlobalLpPool",
    "GlobalMaxPool",
    "LpPool",
    "MaxPool",
    "MaxUnpool",
)

_DROP_LAST_SINCE = 22  # ceil mode drops a window starting in the end padding (spec text)


def _onnx() -> Any:
    """The ``onnx`` package, imported on first use."""
    try:
        return importlib.import_module("onnx")
    except ImportError:
        raise ImportError(
            "run_node(): the onnx package is needed to read ONNX nodes (pip install onnx)"
        ) from None


def _opset(onnx: Any, opset: Any) -> int:
    newest = int(onnx.defs.onnx_opset_version())
    if opset is None:
        return newest
    if isinstance(opset, (bool, np.bool_)):
        raise TypeError(f"run_node(): opset must be an int or None; got {opset!r}")
    try:
        version = operator.index(opset)
    except TypeError:
        raise TypeError(
            f"run_node(): opset must be an int or None; got {opset!r} of type "
            f"{type(opset).__name__}"
        ) from None
    if not 1 <= version <= newest:
        raise ValueError(
            f"run_node(): opset must be between 1 and {newest} (the newest the installed onnx "
            f"defines); got {opset!r}"
        )
    return version


def _schema(onnx: Any, node: Any, version: int) -> Any:
    if node.domain not in ("", "ai.onnx"):
        raise ValueError(
            f"run_node(): node domain must be '' or 'ai.onnx' (the default ONNX domain); got "
            f"{node.domain!r}"
        )
    if node.op_type not in OPS:
        raise ValueError(
            f"run_node(): node op_type must be one of {', '.join(OPS)}; got {node.op_type!r}"
        )
    try:
        return onnx.defs.get_schema(node.op_type, version, "")
    except onnx.defs.SchemaError:
        first = min(s.since_version for s in onnx.defs.get_all_schemas_with_history()
                    if s.name == node.op_type and s.domain == "")
        raise ValueError(
            f"run_node(): {node.op_type} is not defined at opset {version} (it first appears "
            f"in opset {first}); got opset={version}"
        ) from None


def _attributes(onnx: Any, node: Any, schema: Any, label: str) -> dict[str, Any]:
    """The node's attributes by name, checked against the schema, defaults filled in."""
    given: dict[str, Any] = {}
    for attr in node.attribute:
        spec = schema.attributes.get(attr.name)
        if spec is None:
            raise ValueError(
                f"run_node(): {label} has no attribute {attr.name!r} (its attributes: "
                f"{', '.join(sorted(schema.attributes))}); got {attr.name}="
                f"{onnx.helper.get_attribute_value(attr)!r}"
            )
        if attr.type != spec.type.value:
            expected = onnx.AttributeProto.AttributeType.Name(spec.type.value)
            actual = onnx.AttributeProto.AttributeType.Name(attr.type)
            raise TypeError(
                f"run_node(): {label} attribute {attr.name!r} must be of type {expected}; got "
                f"type {actual}"
            )
        if attr.name in given:
            raise ValueError(f"run_node(): {label} attribute {attr.name!r} is given twice")
        given[attr.name] = onnx.helper.get_attribute_value(attr)
    values: dict[str, Any] = {}
    for name, spec in schema.attributes.items():
        if name in given:
            values[name] = given[name]
        elif spec.required:
            raise ValueError(f"run_node(): {label} attribute {name!r} is required; got none")
        elif spec.default_value.name:
            values[name] = onnx.helper.get_attribute_value(spec.default_value)
        else:
            values[name] = None
    if isinstance(values.get("auto_pad"), bytes):
        values["auto_pad"] = values["auto_pad"].decode()
    return values


def _allowed_dtypes(onnx: Any, schema: Any, type_str: str) -> list[np.dtype]:
    """The NumPy dtypes of a type parameter (``'T'``) of the schema."""
    allowed = {c.type_param_str: c.allowed_type_strs for c in schema.type_constraints}
    names = [t[len("tensor("):-1].upper() for t in allowed[type_str]]  # 'tensor(float)'
    return [np.dtype(onnx.helper.tensor_dtype_to_np_dtype(getattr(onnx.TensorProto, n)))
            for n in names]


def _inputs(onnx: Any, node: Any, schema: Any, inputs: Any, label: str) -> list[Any]:
    """The node's input arrays (None where an optional input is absent), dtypes checked."""
    if isinstance(inputs, (np.ndarray, str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(
            f"run_node(): inputs must be a list of arrays, one per node input; got "
            f"{type(inputs).__name__}"
        )
    if len(inputs) != len(node.input):
        raise ValueError(
            f"run_node(): inputs must hold one array per node input ({len(node.input)}: "
            f"{list(node.input)}); got {len(inputs)}"
        )
    if not schema.min_input <= len(node.input) <= schema.max_input:
        raise ValueError(
            f"run_node(): {label} takes {schema.min_input} to {schema.max_input} inputs; got "
            f"a node with {len(node.input)}: {list(node.input)}"
        )
    arrays: list[Any] = []
    for name, value, formal in zip(node.input, inputs, schema.inputs):
        optional = formal.option == onnx.defs.OpSchema.FormalParameterOption.Optional
        if name == "" or value is None:
            if not optional:
                raise ValueError(
                    f"run_node(): {label} input {formal.name} is required; got "
                    f"{'an empty input name' if name == '' else 'None'}"
                )
            arrays.append(None)
            continue
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
        allowed = _allowed_dtypes(onnx, schema, formal.type_str)
        if arr.dtype.newbyteorder("=") not in allowed:
            raise TypeError(
                f"run_node(): {label} input {formal.name} must be of dtype "
                f"{', '.join(d.name for d in allowed)}; got {arr.dtype}"
            )
        if arr.dtype.kind not in "fiu":
            raise TypeError(
                f"run_node(): {label} input {formal.name} has dtype {arr.dtype}, which poolnd "
                f"does not support (NumPy floats and integers only)"
            )
        arrays.append(arr)
    return arrays


def _ints(label: str, name: str, value: Any, count: int, least: int, default: int
          ) -> tuple[int, ...]:
    if value is None:
        return (default,) * count
    items = tuple(value)
    if len(items) != count or min(items, default=least) < least:
        raise ValueError(
            f"run_node(): {label} attribute {name!r} must hold {count} ints >= {least} (one "
            f"per spatial dimension); got {list(items)}"
        )
    return items


def _flag(label: str, name: str, value: Any) -> bool:
    if value not in (0, 1):
        raise ValueError(f"run_node(): {label} attribute {name!r} must be 0 or 1; got {value!r}")
    return bool(value)


def _positive_p(label: str, value: Any) -> int | float:
    if not value > 0 or math.isinf(value):
        raise ValueError(
            f"run_node(): {label} attribute 'p' must be a positive finite number; got {value!r}"
        )
    return value


def _spatial_input(label: str, x: np.ndarray) -> None:
    if x.ndim < 3:
        raise ValueError(
            f"run_node(): {label} input X must have at least 3 dims (N, C, D1, ...); got shape "
            f"{x.shape}"
        )
    if 0 in x.shape[1:]:
        raise ValueError(
            f"run_node(): {label} input X must have positive channel and spatial sizes (only "
            f"N may be 0); got shape {x.shape}"
        )


def _kernel(label: str, attrs: dict[str, Any], x: np.ndarray) -> tuple[int, ...]:
    kernel = tuple(attrs["kernel_shape"])
    rank = x.ndim - 2
    if len(kernel) != rank or min(kernel, default=0) < 1:
        raise ValueError(
            f"run_node(): {label} attribute 'kernel_shape' must hold {rank} ints >= 1 (one per "
            f"spatial dimension of X, shape {x.shape}); got {list(kernel)}"
        )
    return kernel


def _window(label: str, attrs: dict[str, Any], x: np.ndarray, drop_last: bool
            ) -> ev.Geometry:
    rank = x.ndim - 2
    kernel = _kernel(label, attrs, x)
    strides = _ints(label, "strides", attrs.get("strides"), rank, 1, 1)
    dilations = _ints(label, "dilations", attrs.get("dilations"), rank, 1, 1)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad not in ev.AUTO_PADS:
        raise ValueError(
            f"run_node(): {label} attribute 'auto_pad' must be one of "
            f"{', '.join(ev.AUTO_PADS)}; got {auto_pad!r}"
        )
    flat = _ints(label, "pads", attrs.get("pads"), 2 * rank, 0, 0)
    if auto_pad != "NOTSET" and any(flat):
        raise ValueError(
            f"run_node(): {label} attributes 'pads' and 'auto_pad' cannot be used together; "
            f"got pads={list(flat)} with auto_pad={auto_pad!r}"
        )
    pads = tuple(zip(flat[:rank], flat[rank:]))
    ceil_mode = _flag(label, "ceil_mode", attrs.get("ceil_mode", 0))
    return ev.onnx_geometry(
        label, x.shape[2:], kernel, strides, dilations, pads, auto_pad, ceil_mode, drop_last
    )


def _unpool_shape(label: str, attrs: dict[str, Any], x: np.ndarray, indices: np.ndarray,
                  output_shape: np.ndarray | None) -> tuple[int, ...]:
    rank = x.ndim - 2
    kernel = _kernel(label, attrs, x)
    strides = _ints(label, "strides", attrs.get("strides"), rank, 1, 1)
    flat = _ints(label, "pads", attrs.get("pads"), 2 * rank, 0, 0)
    if indices.shape != x.shape:
        raise ValueError(
            f"run_node(): {label} input I must have the shape of X {x.shape}; got shape "
            f"{indices.shape}"
        )
    if output_shape is None:
        shape = x.shape[:2] + tuple(
            (n - 1) * s - lo - hi + k
            for n, s, lo, hi, k in zip(x.shape[2:], strides, flat[:rank], flat[rank:], kernel)
        )
        if min(shape[2:]) < 0:
            raise ValueError(
                f"run_node(): {label} output size (in - 1) * strides - pads + kernel_shape must "
                f"be non-negative; got {shape[2:]} for X of shape {x.shape}"
            )
        return shape
    shape = tuple(int(v) for v in np.ravel(output_shape))
    if (np.ndim(output_shape) != 1 or len(shape) != x.ndim or shape[:2] != x.shape[:2]
            or min(shape) < 0):
        raise ValueError(
            f"run_node(): {label} input output_shape must be the full output shape, {x.ndim} "
            f"non-negative ints starting with X's N and C {x.shape[:2]}; got "
            f"{np.asarray(output_shape).tolist()}"
        )
    return shape


def _check_unpool_indices(label: str, indices: np.ndarray, shape: tuple[int, ...]) -> None:
    total = math.prod(shape)
    bad = (indices < 0) | (indices >= total)
    if bad.any():
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), indices.shape))
        raise ValueError(
            f"run_node(): {label} input I must hold flat row-major indices into the whole "
            f"output of shape {shape}, in [0, {total}); got {int(indices[where])} at position "
            f"{where}"
        )


def run_node(node: Any, inputs: Sequence[Any], *, opset: int | None = None
             ) -> list[np.ndarray | None]:
    """Evaluate one ONNX pooling node with poolnd.

    Supports ``MaxPool`` (with the optional ``Indices`` output), ``AveragePool``, ``LpPool``,
    ``GlobalMaxPool``, ``GlobalAveragePool``, ``GlobalLpPool`` and ``MaxUnpool`` in the
    default domain, following the operator's schema at ``opset``: attributes a version does
    not define are refused, missing ones take that version's defaults (``count_include_pad``
    0, ``storage_order`` 0, ``p`` 2), dtypes are checked against its type constraints.

    Parameters
    ----------
    node : onnx.NodeProto
        The node, e.g. from ``onnx.helper.make_node`` or a loaded model's graph.
    inputs : sequence of array_like
        One array per entry of ``node.input``; ``None`` for an absent optional input (such as
        MaxUnpool's ``output_shape``). Inputs are never modified.
    opset : int, optional
        The model's opset for the default domain; the newest the installed ``onnx`` defines
        by default.

    Returns
    -------
    list of ndarray
        One array per entry of ``node.output``; ``None`` for MaxPool's ``Indices`` when its
        name is empty (not computed then).

    Notes
    -----
    * Output size: floor by default. ``ceil_mode`` rounds up; from opset 22 a last window
      that would start in the end padding is dropped (onnxruntime and PyTorch drop it at
      every opset; the spec text and onnx's shape inference before 22 keep it, and so does
      poolnd there: such a window holds padding only). ``SAME_UPPER``/``SAME_LOWER`` give
      ``ceil(in / stride)`` outputs, the total padding ``(out - 1) * stride + (kernel - 1) *
      dilation + 1 - in`` split with its odd cell at the end / start (onnxruntime leaves the
      dilation out of that formula, and so gives fewer outputs when dilations > 1), no
      padding where the total would be negative (onnxruntime refuses MaxPool there). ``VALID``
      is no padding. Pads may be as large as the spec allows (onnxruntime refuses pads >=
      kernel).
    * MaxPool: the first maximum in row-major window order wins ties; NaN propagates (a
      window holding NaN gives NaN and the index of a NaN cell, where onnxruntime's MaxPool
      skips NaN: every NaN without the Indices output, all but a window's first cell with
      it; its GlobalMaxPool skips every NaN). A window of -inf cells gives -inf
      (onnxruntime's MaxPool without Indices and GlobalMaxPool: the lowest float). A window
      of padding only gives -inf and index -1 (onnxruntime: the lowest float, and an index
      made of the plane's offset and a negative sentinel). ``Indices`` are flat over
      the whole ``(N, C, *spatial)`` input, the spatial part column-major with
      ``storage_order=1``. Otherwise values and indices equal onnxruntime's bit for bit.
    * AveragePool: ``count_include_pad`` counts explicit and automatic padding, never the
      ceil-mode overhang past the end padding; a window without a counted cell is 0 / 0,
      NaN (onnxruntime: 0). LpPool: ``(sum |x| ** p) ** (1 / p)`` over the window's input
      cells, padding adding nothing (as onnxruntime; onnx's reference scales partial ceil
      windows by the kernel volume).
    * MaxUnpool: ``I`` holds flat indices into the whole output (N and C included), read in
      the shape of ``output_shape`` when given (as onnxruntime and PyTorch do; onnx's
      reference and its test ``test_maxunpool_export_with_output_shape`` read them in the
      inferred shape and pad the result instead). Repeated indices: the last value in
      row-major order wins. Any ``output_shape`` that holds the indices is accepted
      (onnxruntime refuses one smaller than the inferred shape).

    Examples
    --------
    >>> import numpy as np
    >>> from onnx import helper
    >>> from poolnd.onnx import run_node
    >>> node = helper.make_node("MaxPool", ["X"], ["Y", "I"], kernel_shape=[2], strides=[2])
    >>> x = np.array([[[1., 2, -1, 0]], [[3., 0, 5, 4]]])  # N=2, C=1, width 4
    >>> y, i = run_node(node, [x])
    >>> y
    array([[[2., 0.]],
    <BLANKLINE>
           [[3., 5.]]])
    >>> i  # flat over the whole tensor
    array([[[1, 3]],
    <BLANKLINE>
           [[4, 6]]])
    >>> node = helper.make_node("AveragePool", ["X"], ["Y"], kernel_shape=[3], strides=[2],
    ...                         auto_pad="SAME_LOWER")
    >>> run_node(node, [np.array([[[1., 2, 3, 4, 5, 6]]])])[0]
    array([[[1.5, 3. , 5. ]]])
    >>> node = helper.make_node("MaxUnpool", ["X", "I"], ["Y"], kernel_shape=[2], strides=[2])
    >>> run_node(node, [y, i])[0]
    array([[[0., 2., 0., 0.]],
    <BLANKLINE>
           [[3., 0., 5., 0.]]])
    """
    onnx = _onnx()
    if not isinstance(node, onnx.NodeProto):
        raise TypeError(f"run_node(): node must be an onnx.NodeProto; got {type(node).__name__}")
    version = _opset(onnx, opset)
    schema = _schema(onnx, node, version)
    op = node.op_type
    label = f"{op}-{schema.since_version}"
    attrs = _attributes(onnx, node, schema, label)
    if not schema.min_output <= len(node.output) <= schema.max_output:
        raise ValueError(
            f"run_node(): {label} has {schema.min_output} to {schema.max_output} output(s); got "
            f"a node with {len(node.output)}: {list(node.output)}"
        )
    arrays = _inputs(onnx, node, schema, inputs, label)
    x = arrays[0]
    _spatial_input(label, x)
    names = list(node.output)
    if op == "MaxUnpool":
        shape = _unpool_shape(label, attrs, x, arrays[1], arrays[2] if len(arrays) > 2 else None)
        _check_unpool_indices(label, arrays[1], shape)
        return [ev.max_unpool(x, arrays[1], shape)]
    if op in ("GlobalLpPool", "LpPool"):
        p = _positive_p(label, attrs["p"])
    if op.startswith("Global"):
        return [ev.global_pool(op, x, p if op == "GlobalLpPool" else 2)]
    geometry = _window(label, attrs, x, schema.since_version >= _DROP_LAST_SINCE)
    if op == "AveragePool":
        cip = _flag(label, "count_include_pad", attrs.get("count_include_pad", 0))
        return [ev.average_pool(x, geometry, cip)]
    if op == "LpPool":
        return [ev.lp_pool(x, geometry, p)]
    storage = attrs.get("storage_order", 0)
    if storage not in (0, 1):
        raise ValueError(
            f"run_node(): {label} attribute 'storage_order' must be 0 (row-major) or 1 "
            f"(column-major); got {storage!r}"
        )
    want = len(names) > 1 and names[1] != ""
    values, indices = ev.max_pool_with_indices(x, geometry, want, storage == 1)
    return [values, indices] if len(names) > 1 else [values]


def __dir__() -> list[str]:
    """The public names only (``__all__``), so tab completion shows no helper or import."""
    return sorted(__all__)
