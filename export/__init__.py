"""Export side: checkpoint → ONNX (fp32 and static INT8), parity check, model card."""
