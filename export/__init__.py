"""Export side: checkpoint(s) → ONNX (fp32 and static INT8), parity check, model card."""

# serving's __init__ turns off onnxruntime's telemetry, which must happen before onnxruntime is
# first imported: every export module imports onnxruntime after this package.
import serving  # noqa: F401
