"""The public namespaces: ``dir()`` shows public names and submodules only, ``__all__`` is
complete, every top-level name has its place on the API reference page, and ``__version__``
comes from the installed distribution's metadata."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest

import poolnd

ROOT = Path(__file__).resolve().parents[2]

PUBLIC = {
    "poolnd": [
        "avg_pool", "functional", "get_compile_mode", "get_num_threads", "global_avg_pool",
        "global_lp_pool", "global_max_pool", "invariance", "max_pool", "min_pool", "nn", "onnx",
        "pool", "pooled_length", "set_compile_mode", "set_num_threads", "sum_pool", "vjp",
    ],
    "poolnd.functional": [
        *(f"{kind}_pool{n}d" for kind in ("max", "avg", "lp", "adaptive_max", "adaptive_avg")
          for n in (1, 2, 3)),
        "fractional_max_pool2d", "fractional_max_pool3d",
        "max_unpool1d", "max_unpool2d", "max_unpool3d",
        "blur_pool1d", "blur_pool2d", "max_blur_pool1d", "max_blur_pool2d",
    ],
    "poolnd.nn": [
        *(f"{kind}Pool{n}d" for kind in ("Max", "Avg", "LP", "AdaptiveMax", "AdaptiveAvg")
          for n in (1, 2, 3)),
        "FractionalMaxPool2d", "FractionalMaxPool3d",
        "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
        "BlurPool1d", "BlurPool2d", "MaxBlurPool1d", "MaxBlurPool2d", "Module",
    ],
    "poolnd.invariance": [
        "Consistency", "compare", "format_table", "permutation_consistency", "permute_blocks",
        "shift_consistency", "smooth_images", "standard_pools",
    ],
    "poolnd.onnx": ["OPS", "run_node"],
}


def _defined_public(module) -> set[str]:
    """Names of ``module`` a user could mean: not underscored, not an import of another
    library (``np``, ``Any``, ``dataclass``...) nor a private poolnd module."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or name == "annotations":
            continue
        if inspect.ismodule(value):  # submodules are pinned above (poolnd.cli, the command
            continue  # line's, is set here once anything imports it, and is not a library face)
        if not str(getattr(value, "__module__", "poolnd")).startswith("poolnd"):
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_pinned_and_dir_shows_it_only(name):
    module = importlib.import_module(name)
    assert sorted(module.__all__) == sorted(PUBLIC[name])
    extra = ["__version__"] if name == "poolnd" else []
    assert dir(module) == sorted([*module.__all__, *extra])
    for public in module.__all__:
        assert getattr(module, public) is not None


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_complete(name):
    module = importlib.import_module(name)
    assert _defined_public(module) <= set(module.__all__)


def test_the_top_level_reference_page_lists_every_function():
    page = (ROOT / "docs" / "api" / "poolnd.md").read_text()
    listed = set(re.findall(r"^        - (\w+)$", page, re.M))
    functions = {n for n in poolnd.__all__ if not inspect.ismodule(getattr(poolnd, n))}
    assert listed == functions


def test_version_comes_from_the_installed_metadata():
    assert poolnd.__version__ == importlib.metadata.version("poolnd")
