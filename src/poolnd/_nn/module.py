"""The base of poolnd's layers: forward through `poolnd.vjp`, backward from its pullback.

It lives apart from `poolnd.nn` so that the modules defining layers can import it without
importing `poolnd.nn`, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

import numpy as np

from .._autodiff import vjp
from .._dispatch.convert import dtype_kind
from .._typing import ArrayLike, ArrayT, NDArray, ScalarT

__all__ = ["Module"]


def _ntuple(value: Any, n: int) -> Any:
    """torch's ``_single``/``_pair``/``_triple``: an iterable as a tuple, else ``n`` copies;
    a padding mode name (``'same'``) stays as it is."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, np.ndarray, range)):
        return tuple(value)
    return (value,) * n


def _single(value: Any) -> Any:
    """torch's ``_single``: an iterable becomes a tuple, anything else a 1-tuple."""
    return _ntuple(value, 1)


class Module:
    """Base of the poolnd layers: ``__call__`` runs `forward` and keeps its pullback.

    Subclasses name the functional op (``_fn``) and the constructor arguments it takes
    (``_fn_args``); the repr lists ``_repr_args``.
    """

    _fn: Callable[..., Any]
    _fn_args: tuple[str, ...]
    _repr_args: tuple[str, ...]

    def __init__(self, channels_last: bool = False) -> None:
        self._pullback: Callable[[Any], np.ndarray] | None = None
        self._no_grad_reason = "backward() called before any forward call"
        self.channels_last = channels_last

    def _layout(self) -> dict[str, Any]:
        """The keyword the op needs for this layer's layout (none for channels-first)."""
        return {"channels_last": self.channels_last} if self.channels_last is not False else {}

    @overload
    def forward(self, input: NDArray[ScalarT]) -> NDArray[ScalarT]: ...
    @overload
    def forward(self, input: ArrayT) -> ArrayT: ...
    @overload
    def forward(self, input: ArrayLike) -> NDArray[Any]: ...

    def forward(self, input: Any) -> Any:
        """Pool ``input`` and remember how to pull a gradient back through this call."""
        return self._run(input, *(getattr(self, name) for name in self._fn_args))

    def _run(self, input: Any, *args: Any) -> Any:
        """The one forward path of every layer: ``_fn(input, *args)`` in the layer's layout,
        through `poolnd.vjp` for floating inputs of any array library (the pullback kept
        for `backward`), plainly otherwise. The input is never converted here, so Dask
        inputs stay lazy and tensors stay tensors."""
        if dtype_kind(input) != "f":
            self._pullback = None
            self._no_grad_reason = (
                "backward(): the last forward input was not floating point, so it has no "
                "gradient"
            )
            return type(self)._fn(input, *args, **self._layout())
        out, self._pullback = vjp(type(self)._fn, input, *args, **self._layout())
        return out

    __call__ = forward

    @overload
    def backward(self, grad_output: NDArray[ScalarT]) -> NDArray[ScalarT]: ...
    @overload
    def backward(self, grad_output: ArrayT) -> ArrayT: ...
    @overload
    def backward(self, grad_output: ArrayLike) -> NDArray[Any]: ...

    def backward(self, grad_output: Any) -> Any:
        """Gradient with respect to the input of the last forward call.

        Parameters
        ----------
        grad_output : array_like
            Gradient of the loss with respect to the layer's (values) output.

        Returns
        -------
        ndarray
            Gradient with respect to the last input, shaped like it.
        """
        if self._pullback is None:
            raise RuntimeError(f"{type(self).__name__}.{self._no_grad_reason}")
        return self._pullback(grad_output)

    def extra_repr(self) -> str:
        """The arguments shown inside the repr's parentheses (``channels_last`` only when set,
        so that default layers show exactly torch's repr)."""
        shown = [f"{name}={getattr(self, name)}" for name in self._repr_args]
        shown += [f"{k}={v}" for k, v in self._layout().items()]
        return ", ".join(shown)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
