"""A minimal serving process, for measuring its memory: load the model, answer a few images, wait.

    python -m bench.serve_child ort   MODEL.onnx  IMAGE...
    python -m bench.serve_child torch WEIGHTS.pt  IMAGE...

Both decode and preprocess with serving.preprocess; only the inference engine differs. The
PyTorch one imports serving.preprocess without serving/__init__.py (which loads onnxruntime), so
neither process carries the other's runtime. It prints one JSON line, then waits for its stdin
to close, so the parent can read its resident memory in that state.

Only the standard library is imported at module level: everything else counts in the figure.
"""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ort_predict(model: str):
    from serving import Predictor

    predictor = Predictor(model, threads=1, verify=False)
    return lambda data: predictor.predict(data).digit


def torch_predict(weights: str):
    # serving/__init__.py imports the onnxruntime Predictor: load the package without it.
    package = types.ModuleType("serving")
    package.__path__ = [str(ROOT / "serving")]
    sys.modules["serving"] = package
    import torch

    from serving.preprocess import to_mnist
    from training.model import DigitNet, Ensemble

    torch.set_num_threads(1)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    count = len({key.split(".")[1] for key in state if key.startswith("members.")})
    width = int(state["members.0.body.0.0.weight"].shape[0])
    model = Ensemble([DigitNet(width=width) for _ in range(count)])
    model.load_state_dict(state)
    model.eval()

    def predict(data: bytes) -> int:
        with torch.inference_mode():
            return int(model(torch.from_numpy(to_mnist(data))[None, None])[0].argmax())

    return predict


def main(argv: list[str]) -> int:
    engine, model, *images = argv
    start = time.perf_counter()
    predict = ort_predict(model) if engine == "ort" else torch_predict(model)
    loaded = time.perf_counter()
    blobs = [Path(p).read_bytes() for p in images]
    digits = [predict(b) for b in blobs for _ in range(3)]
    answered = time.perf_counter()
    print(json.dumps({"engine": engine, "digits": digits, "load_s": loaded - start,
                      "answer_s": answered - loaded,
                      "has_torch": "torch" in sys.modules, "has_onnxruntime": "onnxruntime" in sys.modules}),
          flush=True)
    sys.stdin.read()  # until the parent closes it
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
