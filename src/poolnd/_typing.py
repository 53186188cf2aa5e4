"""Types of the public signatures: array-like inputs, results of the input's array type.

An op called on a NumPy array returns a NumPy array of the same dtype type; on an array of
another Array API library (PyTorch, JAX, CuPy, Dask: anything with ``shape`` and ``dtype``),
an array of that library (`ArrayT`); on other array-likes (nested lists), a NumPy array.
`same_array` gives an op those overloads while keeping its own other parameters;
`typed_as` gives a function the overloads written once in a `typing.Protocol` (the ops whose
``return_indices=True`` returns a tuple).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "AdaptiveMax",
    "Array",
    "ArrayLike",
    "ArrayT",
    "FractionalMax",
    "Indices",
    "MaxPoolFixed",
    "MaxPoolN",
    "NDArray",
    "OutputSize",
    "Padding",
    "ScalarT",
    "Size",
    "same_array",
    "same_library",
    "typed_as",
]


class Array(Protocol):
    """An array of an Array API library: NumPy, PyTorch, JAX, CuPy, Dask..."""

    @property
    def shape(self) -> Any: ...

    @property
    def dtype(self) -> Any: ...


ArrayT = TypeVar("ArrayT", bound=Array)
ScalarT = TypeVar("ScalarT", bound=np.generic)
T = TypeVar("T")
P = ParamSpec("P")

Size = int | Sequence[int]
"""A size per spatial dimension: one int for all, or one each."""

Padding = (
    int | Sequence[int] | Sequence[tuple[int, int]] | Literal["valid", "same", "same_lower"]
)
"""PyTorch's ints, per-side ``(lo, hi)`` pairs, or a padding mode."""

Indices = NDArray[np.int64]
"""Flat int64 positions of maxima within their planes."""

OutputSize = int | Sequence[int | None]
"""An output size per spatial dimension; None keeps that input size."""


# The Protocols below spell out each overload in full (a type checker matches overloads by
# their literal signatures; a helper that generated them would hide them from it): repetition
# on purpose (docs/design.md, "Repetition kept on purpose").


class SameArray(Protocol[P]):
    """An op whose result is an array of its input's library and dtype: NumPy in, NumPy out."""

    @overload
    def __call__(
        self, input: NDArray[ScalarT], /, *args: P.args, **kwargs: P.kwargs
    ) -> NDArray[ScalarT]: ...

    @overload
    def __call__(self, input: ArrayT, /, *args: P.args, **kwargs: P.kwargs) -> ArrayT: ...

    @overload
    def __call__(self, input: ArrayLike, /, *args: P.args, **kwargs: P.kwargs) -> NDArray[Any]: ...


class SameLibrary(Protocol[P]):
    """An op whose result is an array of its input's library, of a dtype it may choose."""

    @overload
    def __call__(
        self, input: NDArray[Any], /, *args: P.args, **kwargs: P.kwargs
    ) -> NDArray[Any]: ...

    @overload
    def __call__(self, input: ArrayT, /, *args: P.args, **kwargs: P.kwargs) -> ArrayT: ...

    @overload
    def __call__(self, input: ArrayLike, /, *args: P.args, **kwargs: P.kwargs) -> NDArray[Any]: ...


def same_array(fn: Callable[Concatenate[Any, P], Any]) -> SameArray[P]:
    """Type ``fn`` as `SameArray` over its other parameters (at run time ``fn`` itself)."""
    return fn


def same_library(fn: Callable[Concatenate[Any, P], Any]) -> SameLibrary[P]:
    """Type ``fn`` as `SameLibrary` over its other parameters (at run time ``fn`` itself)."""
    return fn


def typed_as(protocol: type[T]) -> Callable[[Callable[..., Any]], T]:
    """Type a function as ``protocol``'s overloaded ``__call__`` (at run time the function
    itself). The protocol restates the function's signature; tests/typing checks both."""

    def cast(fn: Callable[..., Any]) -> T:
        return fn  # type: ignore[return-value]

    return cast


class MaxPoolN(Protocol):
    """`poolnd.max_pool` and `poolnd.min_pool`, typed; ``return_indices=True`` gives a tuple."""

    @overload
    def __call__(
        self,
        input: NDArray[ScalarT],
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        return_indices: Literal[False] = False,
        *,
        ndim: int | None = None,
        channels_last: bool = False,
    ) -> NDArray[ScalarT]: ...
    @overload
    def __call__(
        self,
        input: NDArray[ScalarT],
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        *,
        return_indices: Literal[True],
        ndim: int | None = None,
        channels_last: bool = False,
    ) -> tuple[NDArray[ScalarT], Indices]: ...
    @overload
    def __call__(
        self,
        input: ArrayT,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        return_indices: Literal[False] = False,
        *,
        ndim: int | None = None,
        channels_last: bool = False,
    ) -> ArrayT: ...
    @overload
    def __call__(
        self,
        input: ArrayT,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        *,
        return_indices: Literal[True],
        ndim: int | None = None,
        channels_last: bool = False,
    ) -> tuple[ArrayT, ArrayT]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        return_indices: Literal[False] = False,
        *,
        ndim: int | None = None,
        channels_last: bool = False,
    ) -> NDArray[Any]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        *,
        return_indices: Literal[True],
        ndim: int | None = None,
        channels_last: bool = False,
    ) -> tuple[NDArray[Any], Indices]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike | Array,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        return_indices: bool = False,
        *,
        ndim: int | None = None,
        channels_last: bool = False,
    ) -> Any: ...
    def __call__(self, input: Any, *args: Any, **kwargs: Any) -> Any: ...


class MaxPoolFixed(Protocol):
    """``max_pool1d``, ``2d`` and ``3d``, typed; ``return_indices=True`` gives a tuple."""

    @overload
    def __call__(
        self,
        input: NDArray[ScalarT],
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        return_indices: Literal[False] = False,
        *,
        channels_last: bool = False,
    ) -> NDArray[ScalarT]: ...
    @overload
    def __call__(
        self,
        input: NDArray[ScalarT],
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        *,
        return_indices: Literal[True],
        channels_last: bool = False,
    ) -> tuple[NDArray[ScalarT], Indices]: ...
    @overload
    def __call__(
        self,
        input: ArrayT,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        return_indices: Literal[False] = False,
        *,
        channels_last: bool = False,
    ) -> ArrayT: ...
    @overload
    def __call__(
        self,
        input: ArrayT,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        *,
        return_indices: Literal[True],
        channels_last: bool = False,
    ) -> tuple[ArrayT, ArrayT]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        return_indices: Literal[False] = False,
        *,
        channels_last: bool = False,
    ) -> NDArray[Any]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        *,
        return_indices: Literal[True],
        channels_last: bool = False,
    ) -> tuple[NDArray[Any], Indices]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike | Array,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Padding = 0,
        dilation: Size = 1,
        ceil_mode: bool = False,
        return_indices: bool = False,
        *,
        channels_last: bool = False,
    ) -> Any: ...
    def __call__(self, input: Any, *args: Any, **kwargs: Any) -> Any: ...


class AdaptiveMax(Protocol):
    """``adaptive_max_pool1d``, ``2d``, ``3d``, typed; ``return_indices=True`` gives a tuple."""

    @overload
    def __call__(
        self,
        input: NDArray[ScalarT],
        output_size: OutputSize,
        return_indices: Literal[False] = False,
        *,
        channels_last: bool = False,
    ) -> NDArray[ScalarT]: ...
    @overload
    def __call__(
        self,
        input: NDArray[ScalarT],
        output_size: OutputSize,
        *,
        return_indices: Literal[True],
        channels_last: bool = False,
    ) -> tuple[NDArray[ScalarT], Indices]: ...
    @overload
    def __call__(
        self,
        input: ArrayT,
        output_size: OutputSize,
        return_indices: Literal[False] = False,
        *,
        channels_last: bool = False,
    ) -> ArrayT: ...
    @overload
    def __call__(
        self,
        input: ArrayT,
        output_size: OutputSize,
        *,
        return_indices: Literal[True],
        channels_last: bool = False,
    ) -> tuple[ArrayT, ArrayT]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike,
        output_size: OutputSize,
        return_indices: Literal[False] = False,
        *,
        channels_last: bool = False,
    ) -> NDArray[Any]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike,
        output_size: OutputSize,
        *,
        return_indices: Literal[True],
        channels_last: bool = False,
    ) -> tuple[NDArray[Any], Indices]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike | Array,
        output_size: OutputSize,
        return_indices: bool = False,
        *,
        channels_last: bool = False,
    ) -> Any: ...
    def __call__(self, input: Any, *args: Any, **kwargs: Any) -> Any: ...


class FractionalMax(Protocol):
    """``fractional_max_pool2d`` and ``3d``, typed; ``return_indices=True`` gives a tuple."""

    @overload
    def __call__(
        self,
        input: NDArray[ScalarT],
        kernel_size: Size,
        output_size: Size | None = None,
        output_ratio: float | Sequence[float] | None = None,
        return_indices: Literal[False] = False,
        _random_samples: ArrayLike | None = None,
        *,
        rng: np.random.Generator | None = None,
        channels_last: bool = False,
    ) -> NDArray[ScalarT]: ...
    @overload
    def __call__(
        self,
        input: NDArray[ScalarT],
        kernel_size: Size,
        output_size: Size | None = None,
        output_ratio: float | Sequence[float] | None = None,
        *,
        return_indices: Literal[True],
        _random_samples: ArrayLike | None = None,
        rng: np.random.Generator | None = None,
        channels_last: bool = False,
    ) -> tuple[NDArray[ScalarT], Indices]: ...
    @overload
    def __call__(
        self,
        input: ArrayT,
        kernel_size: Size,
        output_size: Size | None = None,
        output_ratio: float | Sequence[float] | None = None,
        return_indices: Literal[False] = False,
        _random_samples: ArrayLike | None = None,
        *,
        rng: np.random.Generator | None = None,
        channels_last: bool = False,
    ) -> ArrayT: ...
    @overload
    def __call__(
        self,
        input: ArrayT,
        kernel_size: Size,
        output_size: Size | None = None,
        output_ratio: float | Sequence[float] | None = None,
        *,
        return_indices: Literal[True],
        _random_samples: ArrayLike | None = None,
        rng: np.random.Generator | None = None,
        channels_last: bool = False,
    ) -> tuple[ArrayT, ArrayT]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike,
        kernel_size: Size,
        output_size: Size | None = None,
        output_ratio: float | Sequence[float] | None = None,
        return_indices: Literal[False] = False,
        _random_samples: ArrayLike | None = None,
        *,
        rng: np.random.Generator | None = None,
        channels_last: bool = False,
    ) -> NDArray[Any]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike,
        kernel_size: Size,
        output_size: Size | None = None,
        output_ratio: float | Sequence[float] | None = None,
        *,
        return_indices: Literal[True],
        _random_samples: ArrayLike | None = None,
        rng: np.random.Generator | None = None,
        channels_last: bool = False,
    ) -> tuple[NDArray[Any], Indices]: ...
    @overload
    def __call__(
        self,
        input: ArrayLike | Array,
        kernel_size: Size,
        output_size: Size | None = None,
        output_ratio: float | Sequence[float] | None = None,
        return_indices: bool = False,
        _random_samples: ArrayLike | None = None,
        *,
        rng: np.random.Generator | None = None,
        channels_last: bool = False,
    ) -> Any: ...
    def __call__(self, input: Any, *args: Any, **kwargs: Any) -> Any: ...
