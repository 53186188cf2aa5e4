"""examples/digits_cnn.py: its layers' gradients against torch autograd, and a short smoke run
(the full run, 30 epochs per pooling, is in the README with its numbers)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("digits_cnn", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["digits_cnn"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["digits_cnn"]


def _torch_net(net):
    """The same network in torch, with the NumPy network's weights (max pooling)."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 9, 10),
    )
    with torch.no_grad():
        for layer, conv in ((model[0], net.conv1), (model[3], net.conv2)):
            layer.weight.copy_(torch.from_numpy(conv.params["w"]))
            layer.bias.copy_(torch.from_numpy(conv.params["b"]))
        model[7].weight.copy_(torch.from_numpy(net.dense.params["w"].T.copy()))
        model[7].bias.copy_(torch.from_numpy(net.dense.params["b"]))
    return model


def test_network_forward_and_gradients_match_torch(example):
    rng = np.random.default_rng(0)
    net = example.Network(example.POOLS["max"], 12, rng)
    x = rng.random((5, 1, 12, 12), dtype=np.float32)
    labels = rng.integers(0, 10, 5)
    model = _torch_net(net)
    logits = net(x)
    loss, g = example.cross_entropy(logits, labels)
    grads = net.backward(g)
    t_logits = model(torch.from_numpy(x))
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.from_numpy(labels))
    t_loss.backward()
    np.testing.assert_allclose(logits, t_logits.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert loss == pytest.approx(t_loss.item(), rel=1e-5)
    pairs = [(grads["conv1"], model[0]), (grads["conv2"], model[3])]
    for ours, layer in pairs:
        np.testing.assert_allclose(ours["w"], layer.weight.grad.numpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(ours["b"], layer.bias.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grads["dense"]["w"], model[7].weight.grad.numpy().T, rtol=1e-4,
                               atol=1e-6)


def test_shift_randomly_moves_each_image_within_reach(example):
    rng = np.random.default_rng(1)
    x = rng.random((40, 1, 12, 12), dtype=np.float32)
    y = example.shift_randomly(x, rng, 1)
    moved = 0
    for a, b in zip(x, y):
        candidates = [np.roll(a, (dy, dx), axis=(1, 2)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert any(np.array_equal(b, c) for c in candidates)
        moved += not np.array_equal(a, b)
    assert moved > 20


def test_quick_run_trains_every_pooling(example, capsys):
    results = example.main(["--quick"])
    out = capsys.readouterr().out
    assert [r.pooling for r in results] == ["max", "average", "blur", "max-blur"]
    for r in results:
        assert len(r.losses) == 3
        assert r.losses[-1] < r.losses[0] < np.log(10) + 0.5  # it learns, from about chance
        assert r.accuracy > 0.3  # chance is 0.1
        assert 0 <= r.consistency <= 1
    table = out.split("\n\n")[-1].splitlines()
    assert table[0].split() == ["pooling", "test", "accuracy", "shift", "consistency", "final",
                                "loss", "seconds"]
    assert [line.split()[0] for line in table[1:]] == ["max", "average", "blur", "max-blur"]
    assert table[1].split()[1] == f"{results[0].accuracy:.2%}"


def test_runs_are_deterministic(example, capsys):
    first = example.main(["--quick", "--pooling", "blur", "--seed", "3"])
    again = example.main(["--quick", "--pooling", "blur", "--seed", "3"])
    capsys.readouterr()
    assert first[0].losses == again[0].losses
    assert first[0].accuracy == again[0].accuracy


@pytest.mark.parametrize(("args", "message"), [
    (["--pooling", "max,min"], "--pooling must name poolings from max, average, blur, "
                               "max-blur; got ['min']"),
    (["--border", "1"], "--border must make the image size a multiple of 4; got 1"),
])
def test_argument_errors(example, args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        example.main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
