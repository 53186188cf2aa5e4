"""Whole models with and without ``poolnd.torch.patch()``: ResNet-18 and a VGG-style net.

Random weights, float32 CPU tensors, NCHW, batch 32 at 224x224 (``--batch``, ``--size``),
2 threads for both torch and poolnd (``--threads``). For each model and mode (forward under
``torch.no_grad``; forward + backward of the summed output), the median of ``--repeat``
timed rounds after one warm-up round, unpatched and patched, and the pooling layers' share:
each pooling layer's own call (forward, or forward + backward) on inputs of the shapes the
model feeds it, timed the same way, summed, over the model's time. Before timing, the
outputs and every parameter gradient are compared: patched must equal unpatched bit for bit.

ResNet-18 is torchvision's ``resnet18`` when torchvision imports; otherwise (as on this
project's machines, where PyPI's torchvision 0.28.0 fails to import beside torch 2.13.0's
local build: ``operator torchvision::nms does not exist``) the same architecture built here
(`resnet18`): 7x7/2 stem, 3x3/2 max pool, four stages of two basic blocks, global average
pool, fully connected layer.

    python benchmarks/torch_models.py [--batch 32] [--size 224] [--threads 2] [--repeat 3]
                                      [--models resnet18,vgg] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

import poolnd
import poolnd.torch as pt

POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: two 3x3 convolutions and a shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def resnet18(num_classes: int = 1000) -> nn.Module:
    """torchvision's ResNet-18, or the same architecture built here without torchvision."""
    try:
        from torchvision.models import resnet18 as tv_resnet18

        return tv_resnet18(weights=None, num_classes=num_classes)
    except Exception:  # torchvision absent, or failing to import beside this torch
        pass
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                               nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, num_classes)]
    return nn.Sequential(*layers)


def vgg_style(num_classes: int = 1000) -> nn.Module:
    """A VGG-style net: five blocks of two 3x3 convolutions + ReLU and a 2x2 max pool
    (32, 64, 128, 256, 256 channels: VGG-11's shape at a quarter of its width, so that
    forward + backward fits a 2-core budget), then VGG's 7x7 adaptive average pool and a
    classifier."""
    layers: list[nn.Module] = []
    cin = 3
    for cout in (32, 64, 128, 256, 256):
        layers += [nn.Conv2d(cin, cout, 3, 1, 1), nn.ReLU(inplace=True),
                   nn.Conv2d(cout, cout, 3, 1, 1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(), nn.Linear(256 * 49, num_classes)]
    return nn.Sequential(*layers)


MODELS: dict[str, Callable[[], nn.Module]] = {"resnet18": resnet18, "vgg": vgg_style}


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (first calls compile poolnd's kernels or load them from cache)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _forward(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad():
            return model(x)
    return run


def _train_step(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        model.zero_grad(set_to_none=True)
        out = model(x)
        out.sum().backward()
        return out
    return run


def _pool_inputs(model: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, torch.Size]]:
    seen: list[tuple[nn.Module, torch.Size]] = []
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.append((m, args[0].shape)))
             for m in model.modules() if isinstance(m, POOLING)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def _pooling_time(pools: list[tuple[nn.Module, torch.Size]], backward: bool,
                  repeat: int) -> float:
    total = 0.0
    for layer, shape in pools:
        inp = torch.randn(shape, requires_grad=backward)
        if backward:
            def run(layer: nn.Module = layer, inp: torch.Tensor = inp) -> object:
                out = layer(inp)
                out.backward(torch.ones_like(out))
                return out
        else:
            def run(layer: nn.Module = layer, inp: torch.Tensor = inp) -> object:
                with torch.no_grad():
                    return layer(inp)
        total += _median_time(run, repeat)
    return total


def _identical(model: nn.Module, x: torch.Tensor) -> bool:
    def outputs() -> list[torch.Tensor]:
        model.zero_grad(set_to_none=True)
        out = model(x)
        out.sum().backward()
        return [out.detach().clone()] + [p.grad.clone() for p in model.parameters()]

    want = outputs()
    with pt.patch():
        got = outputs()
    return all(torch.equal(a, b) for a, b in zip(want, got))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default="resnet18,vgg")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    poolnd.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size)
    rows = []
    print(f"batch {args.batch}, {args.size}x{args.size}, {args.threads} threads, median of "
          f"{args.repeat}; torch {torch.__version__}, {platform.processor() or platform.machine()}")
    print("| model | mode | unpatched (s) | patched (s) | speed-up | pooling share unpatched "
          "| pooling share patched | identical |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        model = MODELS[name]()
        model.train()  # batch statistics, as in training
        same = _identical(model, x)
        pools = _pool_inputs(model, x)
        for mode, make, backward in (("forward", _forward, False),
                                     ("forward+backward", _train_step, True)):
            base = _median_time(make(model, x), args.repeat)
            pool_base = _pooling_time(pools, backward, args.repeat)
            with pt.patch():
                fast = _median_time(make(model, x), args.repeat)
                pool_fast = _pooling_time(pools, backward, args.repeat)
            row = {"model": name, "mode": mode, "unpatched_s": base, "patched_s": fast,
                   "pool_unpatched_s": pool_base, "pool_patched_s": pool_fast,
                   "identical": same}
            rows.append(row)
            print(f"| {name} | {mode} | {base:.3f} | {fast:.3f} | {base / fast:.2f}x | "
                  f"{pool_base / base:.1%} ({pool_base:.3f} s) | "
                  f"{pool_fast / fast:.1%} ({pool_fast:.3f} s) | {same} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"argv": sys.argv, "rows": rows, "torch": torch.__version__,
                       "threads": args.threads}, f, indent=1)
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
