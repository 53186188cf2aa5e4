"""Issue 17, item 6: every mapping of docs/peers.md ("From other libraries") against the peer
itself. A peer that is not installed is skipped with the reason shown (pytest -ra)."""

from __future__ import annotations

import numpy as np
import pytest

import poolnd


@pytest.fixture
def image(rng):
    return rng.standard_normal((9, 10))


def test_block_reduce(image):
    measure = pytest.importorskip("skimage.measure", reason="scikit-image is not installed")
    for func, cval in ((np.median, 0), (np.nanmean, np.nan), (np.max, 0), (np.sum, 2.5)):
        want = measure.block_reduce(image, (4, 3), func, cval=cval)
        got = poolnd.pool(image[None], func, (4, 3), ceil_mode=True, pad_value=cval)[0]
        np.testing.assert_array_equal(got, want)
    # block_size with ones over leading axes: those axes are batch axes
    stack = np.stack([image, -image])
    np.testing.assert_array_equal(
        poolnd.pool(stack[:, None], np.median, (4, 3), ceil_mode=True, pad_value=0)[:, 0],
        measure.block_reduce(stack, (1, 4, 3), np.median))


def test_dask_coarsen(image):
    da = pytest.importorskip("dask.array", reason="Dask is not installed")
    image = image.copy()
    image[2, 3] = np.nan
    d = da.from_array(image, chunks=(4, 6))
    want = da.coarsen(np.nanmean, d, {0: 2, 1: 3}, trim_excess=True).compute()
    got = poolnd.pool(d[None], np.nanmean, (2, 3))[0].compute()
    np.testing.assert_allclose(got, want, rtol=1e-15)
    np.testing.assert_allclose(poolnd.pool(image[None], "nanmean", (2, 3))[0], want,
                               rtol=1e-15)


def test_lax_reduce_window(rng):
    jax = pytest.importorskip("jax", reason="JAX is not installed")
    lax, jnp = jax.lax, jax.numpy
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    dims, strides, wdil = (1, 1, 3, 2), (1, 1, 2, 1), (1, 1, 1, 2)
    pads = ((0, 0), (0, 0), (1, 2), (0, 1))
    for init, op, reducer in ((-jnp.inf, lax.max, "max"), (jnp.inf, lax.min, "min"),
                              (0.0, lax.add, "sum")):
        want = lax.reduce_window(jnp.asarray(x), init, op, dims, strides, pads,
                                 window_dilation=wdil)
        got = poolnd.pool(x, reducer, (3, 2), (2, 1), pads[2:], dilation=(1, 2))
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6, atol=1e-6)  # sum order
    for padding in ("SAME", "VALID"):
        want = lax.reduce_window(jnp.asarray(x), -jnp.inf, lax.max, dims, strides, padding)
        got = poolnd.max_pool(x, (3, 2), (2, 1), padding.lower())
        np.testing.assert_array_equal(got, np.asarray(want))


def test_flax(rng):
    nn = pytest.importorskip("flax.linen", reason="flax is not installed")
    x = rng.standard_normal((2, 3, 9, 8, 4)).astype(np.float32)  # (B1, B2, H, W, C)
    np.testing.assert_array_equal(
        poolnd.max_pool(x, (3, 2), (2, 2), "same", channels_last=True),
        np.asarray(nn.max_pool(x, (3, 2), (2, 2), "SAME")))
    np.testing.assert_allclose(
        poolnd.avg_pool(x, (3, 2), (2, 2), ((1, 1), (0, 1)), channels_last=True),
        np.asarray(nn.avg_pool(x, (3, 2), (2, 2), ((1, 1), (0, 1)))), rtol=1e-6)


def test_keras(rng):
    keras = pytest.importorskip("keras", reason="Keras is not installed")
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    for padding in ("valid", "same"):
        want = keras.layers.MaxPooling2D((3, 2), (2, 2), padding)(x)
        np.testing.assert_array_equal(
            poolnd.max_pool(x, (3, 2), (2, 2), padding, channels_last=True),
            keras.ops.convert_to_numpy(want))
        want = keras.layers.AveragePooling2D((3, 2), (2, 2), padding)(x)
        np.testing.assert_allclose(
            poolnd.avg_pool(x, (3, 2), (2, 2), padding, count_include_pad=False,
                            channels_last=True),
            keras.ops.convert_to_numpy(want), rtol=1e-6)


def test_tensorflow(rng):
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed")
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    want = tf.nn.max_pool2d(x, (3, 2), (2, 2), "SAME").numpy()
    np.testing.assert_array_equal(
        poolnd.max_pool(x, (3, 2), (2, 2), "same", channels_last=True), want)
    want = tf.nn.avg_pool2d(x, (3, 2), (2, 2), "SAME").numpy()
    np.testing.assert_allclose(
        poolnd.avg_pool(x, (3, 2), (2, 2), "same", count_include_pad=False,
                        channels_last=True), want, rtol=1e-6)
    values, argmax = tf.nn.max_pool_with_argmax(x, (3, 2), (2, 2), "VALID",
                                                include_batch_in_index=True)
    got, idx = poolnd.max_pool(x, (3, 2), (2, 2), channels_last=True, return_indices=True)
    n, c = np.arange(2)[:, None, None, None], np.arange(3)
    np.testing.assert_array_equal(got, values.numpy())
    np.testing.assert_array_equal((n * 9 * 8 + idx) * 3 + c, argmax.numpy())


def test_onnxruntime(rng):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    helper = onnx.helper
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 2], strides=[2, 1],
                            pads=[1, 0, 1, 1], ceil_mode=1)
    f32, i64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", f32, None)],
                              [helper.make_tensor_value_info("y", f32, None),
                               helper.make_tensor_value_info("i", i64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    y, i = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    got, idx = poolnd.max_pool(x, (3, 2), (2, 1), ((1, 1), (0, 1)), ceil_mode=True,
                               return_indices=True)
    np.testing.assert_array_equal(got, y)
    plane = np.arange(6).reshape(2, 3, 1, 1) * (9 * 8)  # ONNX indices are flat over NCHW
    np.testing.assert_array_equal(plane + idx, i)
