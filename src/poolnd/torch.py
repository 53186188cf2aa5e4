"""poolnd inside PyTorch: autograd-aware pooling of tensors, and an opt-in drop-in for
``torch.nn.functional``.

Importing this module imports torch (``import poolnd`` does not) and registers poolnd's
custom ops (``torch.ops.poolnd.*``, see `poolnd._torch.ops`).

The functions here are ``torch.nn.functional``'s pooling functions with the same names and
signatures: max, average, LP, adaptive, fractional pooling and max unpooling, 1d/2d/3d.
They take and return tensors (CPU tensors zero-copy; other devices through one host copy
each way), differentiate with autograd (first derivatives), and work in ``nn.Module`` s,
under ``torch.no_grad``/``inference_mode`` and under ``torch.compile`` (no graph break:
each call is one custom op with a fake implementation, its backward one more). Values,
indices and gradients are PyTorch's CPU results bit for bit, except where
``docs/semantics.md`` lists a departure (a max window wholly in padding gives index -1 and
a zero gradient, where PyTorch's backward writes out of bounds).

`patch` routes ``torch.nn.functional``'s own pooling functions, and so the ``torch.nn``
pooling layers, to poolnd for the calls it serves (float32/float64 CPU tensors), leaving
every other call, and every call PyTorch would refuse, to PyTorch; see ``docs/torch.md``.

Examples
--------
>>> import torch, poolnd.torch
>>> x = torch.tensor([[1., 2, -1, 0, 2, 3, -2, 0]], requires_grad=True)
>>> y = poolnd.torch.max_pool1d(x, 2)
>>> y.detach(), y.grad_fn.name()
(tensor([[2., 0., 3., 0.]]), 'GeneratedBackwardFor_poolnd_max_pool_defaultBackward')
>>> y.sum().backward()
>>> x.grad
tensor([[0., 1., 0., 1., 0., 1., 0., 1.]])
>>> with poolnd.torch.patch():
...     torch.nn.MaxPool1d(2)(x.detach())
tensor([[2., 0., 3., 0.]])
"""

from __future__ import annotations

from types import TracebackType

from ._torch.functional import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    fractional_max_pool2d,
    fractional_max_pool3d,
    lp_pool1d,
    lp_pool2d,
    lp_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from ._torch.patch import ROUTED, install, installed, uninstall

__all__ = [
    "ROUTED",
    "Patch",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "is_patched",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "patch",
    "unpatch",
]


class Patch:
    """The handle `patch` returns: a context manager whose exit calls `unpatch`."""

    def __enter__(self) -> Patch:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        unpatch()


def patch() -> Patch:
    """Route ``torch.nn.functional``'s pooling functions (and so ``torch.nn``'s pooling
    layers) to poolnd, process-wide, until `unpatch` (or the end of a ``with`` block).

    A call goes to poolnd when its input is a plain float32/float64 CPU tensor that
    PyTorch's own function accepts (checked by running it on ``meta`` tensors) and poolnd
    gives PyTorch's result for it; every other call (other devices and dtypes, quantized or
    subclassed tensors, calls under ``torch.compile``, ``torch.jit`` or a dispatch mode,
    calls PyTorch or poolnd refuses, adaptive averages to size 1) runs PyTorch's own
    function unchanged, errors included. The one visible difference: a max window lying
    wholly in padding gives index -1 and a zero gradient, where PyTorch's backward writes
    outside the gradient buffer. LP pooling stays PyTorch's composition, over the routed
    average and max pooling. The names routed are `ROUTED`. Calls nest: each `patch`
    needs one `unpatch`. Thread-safe.

    Returns
    -------
    Patch
        A context manager that calls `unpatch` on exit.

    Examples
    --------
    >>> import torch, poolnd.torch
    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> with poolnd.torch.patch():
    ...     poolnd.torch.is_patched(), torch.nn.MaxPool2d(2)(x)[0, 0]
    (True, tensor([[ 5.,  7.],
            [13., 15.]]))
    >>> poolnd.torch.is_patched()
    False
    >>> _ = poolnd.torch.patch()   # a plain call, undone by unpatch()
    >>> poolnd.torch.unpatch()
    """
    install()
    return Patch()


def unpatch() -> None:
    """Undo one `patch`; the last one puts PyTorch's own functions back.

    Raises
    ------
    RuntimeError
        When ``torch.nn.functional`` is not patched.

    Examples
    --------
    >>> import poolnd.torch
    >>> _ = poolnd.torch.patch()
    >>> poolnd.torch.unpatch()
    >>> poolnd.torch.is_patched()
    False
    """
    uninstall()


def is_patched() -> bool:
    """Whether ``torch.nn.functional``'s pooling functions are routed to poolnd now.

    Examples
    --------
    >>> import poolnd.torch
    >>> poolnd.torch.is_patched()
    False
    """
    return installed()
