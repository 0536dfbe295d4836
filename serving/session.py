"""A model file and its onnxruntime session, set up one way for every use in the project (imported
inside the package, so serving/__init__.py has turned onnxruntime's telemetry off before)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from serving.card import ModelError, verify_model
from serving.contract import FIELD


def load_session(path: Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime session for `path` on the CPU, `threads` threads for an operator (0: one per
    core), or a ModelError. Every session in the project is made here, as it is served."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own (pybind) classes: protobuf, graph, ...
        first_line = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise ModelError(f"{path} is not a model onnxruntime can load ({first_line}): the file may be "
                         "truncated or damaged. Restore it (git checkout models/) or re-run "
                         "`make export`.") from None


class OnnxModel:
    """A model file, checked against its model card (verify=True), and its onnxruntime session."""

    def __init__(self, model_path: str | Path, threads: int = 1, verify: bool = True) -> None:
        self.model_path = Path(model_path)
        self.card = verify_model(self.model_path) if verify else None
        self.session = load_session(self.model_path, threads)
        self.input_name = self.session.get_inputs()[0].name

    def run_fields(self, outputs: list[str], batch: np.ndarray) -> list[np.ndarray]:
        """The named outputs for (N, FIELD, FIELD) float32 model inputs (the digit graph's input)."""
        x = np.ascontiguousarray(batch, np.float32).reshape(-1, 1, FIELD, FIELD)
        return self.session.run(outputs, {self.input_name: x})
