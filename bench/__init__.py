"""Benchmarks that print tables: python -m bench.<name>."""

# serving's __init__ turns off onnxruntime's telemetry, which must happen before onnxruntime is
# first imported: every benchmark imports onnxruntime after this package.
import serving  # noqa: F401
