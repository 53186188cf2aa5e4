"""A small CNN in NumPy, trained with poolnd's pooling layers, on scikit-learn's digits.

conv 3x3 (16) -> ReLU -> pool /2 -> conv 3x3 (32) -> ReLU -> pool /2 -> dense (10), trained
with Adam on softmax cross-entropy. The convolutions and the dense layer are written here in
plain NumPy; the pooling layers are poolnd's (``layer(x)`` forward, ``layer.backward(g)``
backward): max, average, blur (`poolnd.nn.BlurPool2d`) or max-blur
(`poolnd.nn.MaxBlurPool2d`) pooling. The same network is trained once per pooling, from the
same seed, and a table compares test accuracy and shift consistency: the fraction of test
digits whose predicted class stays the same when the image is shifted by one pixel, down,
right or both (Zhang 2019's consistency, computed with `poolnd.invariance.shift_consistency`).
The 8x8 digits sit on a 12x12 blank canvas so that a shift moves the whole digit.

Run ``python examples/digits_cnn.py`` (30 epochs per pooling, about a minute on two cores;
``--quick`` is a few seconds' smoke run). Only NumPy, poolnd and scikit-learn (its bundled
``load_digits``, no download, and its ``threadpoolctl``) are used; everything is seeded.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import poolnd
from poolnd.invariance import shift_consistency

POOLS: dict[str, Callable[[int], Any]] = {
    "max": lambda channels: poolnd.nn.MaxPool2d(2),
    "average": lambda channels: poolnd.nn.AvgPool2d(2),
    "blur": lambda channels: poolnd.nn.BlurPool2d(channels, filt_size=3),
    "max-blur": lambda channels: poolnd.nn.MaxBlurPool2d(channels, filt_size=3),
}


class Conv2d:
    """3x3 convolution with zero padding 1 and a bias: ``(N, C, H, W) -> (N, O, H, W)``."""

    def __init__(self, c_in: int, c_out: int, rng: np.random.Generator) -> None:
        scale = np.sqrt(2.0 / (9 * c_in))  # He initialisation for ReLU
        self.params = {"w": (rng.standard_normal((c_out, c_in, 3, 3)) * scale).astype(np.float32),
                       "b": np.zeros(c_out, np.float32)}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.windows = sliding_window_view(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))),
                                           (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3), a view
        out = np.tensordot(self.windows, self.params["w"], axes=([1, 4, 5], [1, 2, 3]))
        return out.transpose(0, 3, 1, 2) + self.params["b"][:, None, None]

    def backward(self, g: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        grads = {"w": np.tensordot(g, self.windows, axes=([0, 2, 3], [0, 2, 3])),
                 "b": g.sum(axis=(0, 2, 3))}
        n, _, h, w = g.shape
        # what each output sends back to each of its 3x3 inputs: (N, H, W, C, 3, 3), one GEMM
        cols = np.tensordot(g, self.params["w"], axes=([1], [0])).transpose(0, 3, 4, 5, 1, 2)
        gx = np.zeros((n, self.params["w"].shape[1], h + 2, w + 2), np.float32)
        for i in range(3):
            for j in range(3):
                gx[:, :, i:i + h, j:j + w] += cols[:, :, i, j]
        return gx[:, :, 1:-1, 1:-1], grads


class Dense:
    """``(N, features) -> (N, classes)``."""

    def __init__(self, features: int, classes: int, rng: np.random.Generator) -> None:
        scale = np.sqrt(1.0 / features)
        self.params = {"w": (rng.standard_normal((features, classes)) * scale).astype(np.float32),
                       "b": np.zeros(classes, np.float32)}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.params["w"] + self.params["b"]

    def backward(self, g: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return g @ self.params["w"].T, {"w": self.x.T @ g, "b": g.sum(axis=0)}


class Network:
    """conv -> ReLU -> pool -> conv -> ReLU -> pool -> dense, for ``1 x size x size`` images
    (``size`` a multiple of 4)."""

    def __init__(self, pool: Callable[[int], Any], size: int, rng: np.random.Generator) -> None:
        self.conv1, self.pool1 = Conv2d(1, 16, rng), pool(16)
        self.conv2, self.pool2 = Conv2d(16, 32, rng), pool(32)
        self.dense = Dense(32 * (size // 4) ** 2, 10, rng)
        self.layers = {"conv1": self.conv1, "conv2": self.conv2, "dense": self.dense}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Class scores (logits) of a batch ``(N, 1, 8, 8)``."""
        self.a1 = self.conv1(x)
        h = self.pool1(np.maximum(self.a1, 0))
        self.a2 = self.conv2(h)
        h = self.pool2(np.maximum(self.a2, 0))
        self.shape = h.shape
        return self.dense(h.reshape(len(h), -1))

    def backward(self, g: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Parameter gradients given the gradient of the loss with respect to the logits."""
        grads = {}
        g, grads["dense"] = self.dense.backward(g)
        g = self.pool2.backward(g.reshape(self.shape)) * (self.a2 > 0)
        g, grads["conv2"] = self.conv2.backward(g)
        g = self.pool1.backward(g) * (self.a1 > 0)
        _, grads["conv1"] = self.conv1.backward(g)
        return grads

    def predict(self, x: np.ndarray, batch: int = 256) -> np.ndarray:
        """Predicted classes of ``(N, 1, size, size)`` images."""
        return np.concatenate([self(x[i:i + batch]).argmax(axis=1)
                               for i in range(0, len(x), batch)])


class Adam:
    """Adam (Kingma and Ba) over every layer's parameters."""

    def __init__(self, net: Network, lr: float) -> None:
        self.net, self.lr, self.t = net, lr, 0
        self.m = {k: {p: np.zeros_like(v) for p, v in layer.params.items()}
                  for k, layer in net.layers.items()}
        self.v = {k: {p: np.zeros_like(v) for p, v in layer.params.items()}
                  for k, layer in net.layers.items()}

    def step(self, grads: dict[str, dict[str, np.ndarray]]) -> None:
        self.t += 1
        b1, b2 = 0.9, 0.999
        for k, layer in self.net.layers.items():
            for p, value in layer.params.items():
                g = grads[k][p]
                self.m[k][p] = b1 * self.m[k][p] + (1 - b1) * g
                self.v[k][p] = b2 * self.v[k][p] + (1 - b2) * g * g
                m_hat = self.m[k][p] / (1 - b1 ** self.t)
                v_hat = self.v[k][p] / (1 - b2 ** self.t)
                value -= (self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(labels)
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1
    return float(-log_p[np.arange(n), labels].mean()), grad / n


def load_data(seed: int, border: int, train_size: int | None = None) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8x8 digits as float32 ``(N, 1, 8 + 2 * border, ...)`` in [0, 1], on a
    blank border; a stratified 75/25 split; ``train_size`` keeps that many training images."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pad = ((0, 0), (border, border), (border, border))
    x = np.pad(digits.images / 16.0, pad).astype(np.float32)[:, None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=seed, stratify=digits.target)
    if train_size is not None:
        x_train, y_train = x_train[:train_size], y_train[:train_size]
    return x_train, y_train, x_test, y_test


def shift_randomly(x: np.ndarray, rng: np.random.Generator, reach: int) -> np.ndarray:
    """Each image shifted (circularly) by its own random ``-reach .. reach`` pixels per axis."""
    shifts = rng.integers(-reach, reach + 1, size=(len(x), 2))
    out = np.empty_like(x)
    for dy, dx in {tuple(s) for s in shifts.tolist()}:
        chosen = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
        out[chosen] = np.roll(x[chosen], (dy, dx), axis=(2, 3))
    return out


@dataclass
class Result:
    pooling: str
    losses: list[float]
    accuracy: float
    consistency: float
    seconds: float


def train(pooling: str, data: tuple[np.ndarray, ...], *, epochs: int, batch: int, lr: float,
          seed: int, augment: int) -> Result:
    """Train the network with ``pooling`` layers; mean training loss per epoch, test
    accuracy, shift consistency on the test set, and the seconds it all took."""
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    net = Network(POOLS[pooling], x_train.shape[-1], rng)
    opt = Adam(net, lr)
    losses = []
    for epoch in range(epochs):
        opt.lr = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))  # cosine decay per epoch
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            x = x_train[idx] if augment == 0 else shift_randomly(x_train[idx], rng, augment)
            loss, g = cross_entropy(net(x), y_train[idx])
            opt.step(net.backward(g))
            total += loss * len(idx)
        losses.append(total / len(order))
    accuracy = float(np.mean(net.predict(x_test) == y_test))
    consistency = shift_consistency(net.predict, x_test, 2).mean_unchanged
    return Result(pooling, losses, accuracy, consistency, time.perf_counter() - start)


def table(results: list[Result]) -> str:
    """The comparison as a text table."""
    lines = [f"{'pooling':<10} {'test accuracy':>14} {'shift consistency':>18} "
             f"{'final loss':>11} {'seconds':>8}"]
    for r in results:
        lines.append(f"{r.pooling:<10} {r.accuracy:>14.2%} {r.consistency:>18.2%} "
                     f"{r.losses[-1]:>11.4f} {r.seconds:>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[Result]:
    """Train one network per pooling and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="passes over the training set")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-3,
                        help="Adam's initial learning rate (cosine decay to 0)")
    parser.add_argument("--border", type=int, default=2,
                        help="blank pixels around each 8x8 digit (so shifts move it whole)")
    parser.add_argument("--augment", type=int, default=0,
                        help="train on digits shifted by up to this many pixels (default 0: "
                             "none, so that consistency comes from the network alone)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pooling", default=",".join(POOLS),
                        help=f"comma-separated, from {', '.join(POOLS)}")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 epochs on 400 training images")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.pooling.split(",")]
    unknown = [name for name in names if name not in POOLS]
    if unknown:
        parser.error(f"--pooling must name poolings from {', '.join(POOLS)}; got {unknown}")
    epochs = 3 if args.quick else args.epochs
    data = load_data(args.seed, args.border, 400 if args.quick else None)
    if data[0].shape[-1] % 4:
        parser.error(f"--border must make the image size a multiple of 4; got {args.border}")
    # threads on arrays this small only wait for each other: one thread is fastest
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(1, user_api="blas")
    threads = poolnd.get_num_threads()
    poolnd.set_num_threads(1)
    size = data[0].shape[-1]
    print(f"digits: {len(data[0])} training and {len(data[2])} test images, 8x8 on a "
          f"{size}x{size} canvas; {epochs} epochs, batch {args.batch_size}, Adam lr {args.lr} "
          f"(cosine decay), training shifts up to {args.augment} px, seed {args.seed}")
    print("shift consistency: test digits whose predicted class survives a circular shift "
          "by (0, 1), (1, 0) or (1, 1) pixels")
    results = []
    for name in names:
        results.append(train(name, data, epochs=epochs, batch=args.batch_size, lr=args.lr,
                             seed=args.seed, augment=args.augment))
        print(f"  trained with {name} pooling: test accuracy {results[-1].accuracy:.2%} "
              f"({results[-1].seconds:.1f} s)", flush=True)
    limits.restore_original_limits()
    poolnd.set_num_threads(threads)
    print()
    print(table(results))
    return results


if __name__ == "__main__":
    main()
    sys.exit(0)
