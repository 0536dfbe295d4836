"""Export side: checkpoint(s) → ONNX (fp32 and static INT8), parity check, model card."""

import os

# As in serving/__init__.py: onnxruntime writes no telemetry when this is set before its import.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
