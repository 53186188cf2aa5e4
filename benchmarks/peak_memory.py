"""Peak extra memory of one pooling call, poolnd against PyTorch, on large inputs.

Each (case, competitor) runs in a fresh process: the input is made and touched, the
process's resident-set high-water mark is reset (``/proc/self/clear_refs``, Linux), the call
runs, and the mark's rise over the resident size before the call is its peak extra memory,
output included (both libraries return outputs of the same size). Reported in MiB, with the
output's size for scale.

    python benchmarks/peak_memory.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASES = {
    "max_pool2d 32x64x112x112 k3 s2 p1": ("max", (32, 64, 112, 112)),
    "max_pool2d+indices 32x64x112x112 k3 s2 p1": ("argmax", (32, 64, 112, 112)),
    "avg_pool2d 32x64x112x112 k3 s2 p1": ("avg", (32, 64, 112, 112)),
    "max_pool2d backward 32x64x112x112 k3 s2 p1": ("max_bwd", (32, 64, 112, 112)),
    "lp_pool2d 32x64x112x112 p2 k2 s2": ("lp", (32, 64, 112, 112)),
    "adaptive_avg_pool2d 32x2048x7x7 -> 1": ("adaptive", (32, 2048, 7, 7)),
    "max_pool3d 4x32x16x56x56 k2": ("max3d", (4, 32, 16, 56, 56)),
}

_CHILD = r"""
import sys
import numpy as np
kind, competitor, shape = sys.argv[1], sys.argv[2], tuple(map(int, sys.argv[3].split(",")))

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024

x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
if competitor == "poolnd":
    import poolnd
    poolnd.set_num_threads(2)
    F = poolnd.functional
    calls = {
        "max": lambda: F.max_pool2d(x, 3, 2, 1),
        "argmax": lambda: F.max_pool2d(x, 3, 2, 1, return_indices=True),
        "avg": lambda: F.avg_pool2d(x, 3, 2, 1),
        "lp": lambda: F.lp_pool2d(x, 2, 2, 2),
        "adaptive": lambda: F.adaptive_avg_pool2d(x, 1),
        "max3d": lambda: F.max_pool3d(x, 2),
    }
    if kind == "max_bwd":
        out, pullback = poolnd.vjp(F.max_pool2d, x, 3, 2, 1)
        g = np.ones_like(out)
        calls["max_bwd"] = lambda: pullback(g)
else:
    import torch
    import torch.nn.functional as tF
    torch.set_num_threads(2)
    t = torch.from_numpy(x)
    calls = {
        "max": lambda: tF.max_pool2d(t, 3, 2, 1),
        "argmax": lambda: tF.max_pool2d(t, 3, 2, 1, return_indices=True),
        "avg": lambda: tF.avg_pool2d(t, 3, 2, 1),
        "lp": lambda: tF.lp_pool2d(t, 2, 2, 2),
        "adaptive": lambda: tF.adaptive_avg_pool2d(t, 1),
        "max3d": lambda: tF.max_pool3d(t, 2),
    }
    if kind == "max_bwd":
        tg = t.clone().requires_grad_()
        out = tF.max_pool2d(tg, 3, 2, 1)
        g = torch.ones_like(out)
        calls["max_bwd"] = lambda: torch.autograd.grad(out, tg, g, retain_graph=True)[0]
call = calls[kind]
res = call()  # warm up (compilation, allocator), then drop the result
nbytes = sum(r.nbytes for r in (res if isinstance(res, tuple) else (res,)))
del res
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the high-water mark
before = status("VmRSS:")
res = call()
peak = status("VmHWM:")
print(peak - before, nbytes)
"""


def measure(kind: str, competitor: str, shape: tuple[int, ...]) -> tuple[int, int] | None:
    done = subprocess.run([sys.executable, "-c", _CHILD, kind, competitor,
                           ",".join(map(str, shape))], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    extra, out = done.stdout.split()
    return int(extra), int(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    mib = 1 << 20
    rows = []
    print("| case | output MiB | poolnd peak extra MiB | torch peak extra MiB | poolnd/torch |")
    print("|---|---:|---:|---:|---:|")
    for name, (kind, shape) in CASES.items():
        ours = measure(kind, "poolnd", shape)
        theirs = measure(kind, "torch", shape)
        if ours is None:
            return 1
        ratio = f"{ours[0] / theirs[0]:.2f}" if theirs and theirs[0] > 0 else "n/a"
        print(f"| {name} | {ours[1] / mib:.1f} | {ours[0] / mib:.1f} | "
              f"{'n/a' if theirs is None else f'{theirs[0] / mib:.1f}'} | {ratio} |")
        rows.append({"case": name, "output_bytes": ours[1], "poolnd_extra_bytes": ours[0],
                     "torch_extra_bytes": None if theirs is None else theirs[0]})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
