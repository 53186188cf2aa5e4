"""Conformance of the public surface: ONNX (conformance suite, onnxruntime, errors) and the
torch-compatible API."""
