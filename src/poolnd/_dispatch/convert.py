"""Backend dispatch: every public op accepts any Array API array, through this one module.

NumPy arrays (and lists, scalars) go straight to the compiled NumPy kernels, with no cost
beyond one type check per argument. Any other array that ``array-api-compat`` recognises
(PyTorch tensors on any device, JAX, CuPy, ``array-api-strict``, ...) is converted to NumPy,
zero-copy where the library allows it (DLPack or ``Tensor.numpy()`` on the CPU, one host copy
from a GPU), run through the same kernels, and the results are converted back to the input's
library and device: values keep the input's dtype, indices are int64 (or the library's
index dtype on a device without int64, such as JAX without ``jax_enable_x64``, when they
fit). Pullbacks from `poolnd.vjp` take and return that library's arrays too.

No native path of another library is taken: none of them has PyTorch-CPU's exact tie, NaN
and padding rules on every device, so the values would not be the NumPy path's. Dask arrays
are the exception, and stay lazy: they go to `poolnd._dispatch.dask`, which runs the NumPy kernels
block by block.

``array_api_compat`` (and Dask) are imported only when such an input arrives, so
``import poolnd`` stays light.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = [
    "PLAIN",
    "convert_result",
    "dtype_kind",
    "from_numpy",
    "has_int64",
    "is_foreign",
    "library",
    "namespace_device",
    "to_numpy",
    "widen",
]

# Values that are never arrays of another library (checked first: the fast path).
PLAIN = (np.ndarray, np.generic, numbers.Number, str, bytes, list, tuple, range, dict,
          type(None), np.random.Generator)
# Libraries whose arrays lack ``__array_namespace__`` but array-api-compat wraps.
_KNOWN_ROOTS = frozenset({"torch", "dask", "cupy", "jax", "jaxlib", "sparse", "ndonnx", "dpnp"})


def is_foreign(value: Any) -> bool:
    """Is ``value`` an array of a library other than NumPy (tensor, JAX/CuPy/Dask array...)?

    Examples
    --------
    >>> import numpy as np
    >>> is_foreign(np.zeros(3)), is_foreign([1, 2]), is_foreign(2)
    (False, False, False)
    """
    if isinstance(value, PLAIN):
        return False
    kind = type(value)
    if not (hasattr(kind, "__array_namespace__")
            or kind.__module__.partition(".")[0] in _KNOWN_ROOTS):
        return False
    import array_api_compat

    return bool(array_api_compat.is_array_api_obj(value))


def library(value: Any) -> str:
    """Short name of a foreign array's library: ``torch``, ``cupy``, ``jax``, ``dask`` or the
    top-level module of its namespace (e.g. ``array_api_strict``)."""
    import array_api_compat as compat

    for name, test in (("torch", compat.is_torch_array), ("cupy", compat.is_cupy_array),
                       ("jax", compat.is_jax_array), ("dask", compat.is_dask_array)):
        if test(value):
            return name
    return compat.array_namespace(value).__name__.partition(".")[0]


def _bfloat16() -> np.dtype:
    """``ml_dtypes.bfloat16`` (imported only when a bfloat16 array arrives)."""
    try:
        import ml_dtypes
    except ImportError:
        raise TypeError(
            "bfloat16 arrays need the ml_dtypes package (pip install ml_dtypes), NumPy's "
            "bfloat16"
        ) from None
    return np.dtype(ml_dtypes.bfloat16)


def _dtype_error(op: str, name: str, dtype: Any) -> TypeError:
    return TypeError(
        f"{op}(): {name} dtype must be float16, float32, float64 or an integer type with a "
        f"NumPy equivalent; got {dtype}"
    )


def to_numpy(value: Any, op: str, name: str = "input") -> np.ndarray:
    """A foreign array as a NumPy array on the host: a zero-copy view where the library
    allows it (CPU tensors, DLPack), otherwise one copy. NumPy input is returned as is."""
    if isinstance(value, np.ndarray):
        return value
    lib = library(value)
    if lib == "torch":
        t = value.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        import torch

        if t.dtype == torch.bfloat16:  # NumPy holds it as ml_dtypes.bfloat16: same bits
            return t.resolve_conj().resolve_neg().view(torch.int16).numpy().view(_bfloat16())
        try:
            return t.resolve_conj().resolve_neg().numpy()
        except TypeError:  # dtypes NumPy lacks
            raise _dtype_error(op, name, t.dtype) from None
    if lib == "cupy":
        return value.get()
    try:
        return np.from_dlpack(value)
    except (AttributeError, BufferError, TypeError, ValueError, RuntimeError):
        pass  # not on the host, or no DLPack: ask the library for a host copy
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(
            f"{op}(): {name} must be an array NumPy can read (on the host or through DLPack); "
            f"got {type(value).__name__} ({exc})"
        ) from None


def has_int64(xp: Any, device: Any) -> bool:
    """Does the namespace hold int64 arrays on ``device``? (JAX without x64 does not.)"""
    try:
        kinds = xp.__array_namespace_info__().dtypes(kind="signed integer", device=device)
    except (AttributeError, TypeError, ValueError):
        return True
    return "int64" in kinds


def _narrow_indices(op: str, a: np.ndarray) -> np.ndarray:
    """int64 indices as int32 for a device without int64, when every index fits."""
    if a.size and int(a.max()) > np.iinfo(np.int32).max:
        raise ValueError(
            f"{op}(): the input's library has no int64 on its device, and the indices "
            f"(up to {int(a.max())}) do not fit in int32; enable 64-bit integers there "
            f"(for JAX: jax.config.update('jax_enable_x64', True))"
        )
    return a.astype(np.int32)


def from_numpy(a: np.ndarray, like: Any, op: str) -> Any:
    """A NumPy result as an array of ``like``'s library, on ``like``'s device."""
    import array_api_compat as compat

    lib = library(like)
    if lib == "torch":
        import torch

        if not (a.flags.writeable and a.dtype.isnative):
            a = np.array(a, dtype=a.dtype.newbyteorder("="))
        if a.dtype.kind == "V" and a.dtype.name == "bfloat16":
            return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16).to(like.device)
        return torch.from_numpy(a).to(like.device)
    xp = compat.array_namespace(like)
    device = compat.device(like)
    if a.dtype == np.int64 and not has_int64(xp, device):
        a = _narrow_indices(op, a)
    if lib == "cupy":
        with device:
            return xp.asarray(a)
    return xp.asarray(a, device=device)


def widen(a: np.ndarray) -> np.ndarray:
    """int32 indices from a library without int64 back to the int64 poolnd takes."""
    return a.astype(np.int64) if a.dtype == np.int32 else a


def convert_result(result: Any, like: Any, op: str) -> Any:
    if isinstance(result, tuple):
        return tuple(from_numpy(r, like, op) for r in result)
    return from_numpy(result, like, op)


def dtype_kind(value: Any) -> str:
    """NumPy's dtype kind of any array (``'f'``, ``'i'``, ``'u'``, ...), without converting it."""
    if not is_foreign(value):
        return np.asarray(value).dtype.kind
    import array_api_compat as compat

    xp = compat.array_namespace(value)
    for kind, name in (("f", "real floating"), ("i", "signed integer"),
                       ("u", "unsigned integer"), ("b", "bool")):
        if xp.isdtype(value.dtype, name):
            return kind
    return "V"

def namespace_device(like: Any) -> tuple[Any, Any]:
    import array_api_compat as compat

    try:
        device = compat.device(like)
    except (AttributeError, TypeError):  # an array without a device: the host
        device = None
    return compat.array_namespace(like), device
