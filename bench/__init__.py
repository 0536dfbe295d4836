"""Benchmarks that print tables: python -m bench.<name>."""

import os

# Before any benchmark imports onnxruntime: no telemetry database in the user's cache (see serving).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
