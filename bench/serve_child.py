"""A minimal serving process, for measuring its memory: load the model, answer a few images, wait.

    python -m bench.serve_child ort|torch MODEL IMAGE...   (torch: a whole Ensemble saved by torch.save)

Only the inference engine differs (both preprocess with serving.preprocess, which loads no
onnxruntime), and only the standard library is imported at module level: everything else counts in
the figure. It prints one JSON line, then waits for its stdin to close while the parent reads its memory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def ort_predict(model: str):
    from serving import Predictor

    predictor = Predictor(model, threads=1, verify=False)
    return lambda data: predictor.predict(data).digit


def torch_predict(model_file: str):
    import torch

    from serving.preprocess import to_mnist

    torch.set_num_threads(1)
    model = torch.load(model_file, weights_only=False).eval()

    def predict(data: bytes) -> int:
        with torch.inference_mode():
            return int(model(torch.from_numpy(to_mnist(data))[None, None])[0].argmax())

    return predict


def main(argv: list[str]) -> int:
    engine, model, *images = argv
    predict = ort_predict(model) if engine == "ort" else torch_predict(model)
    digits = [predict(Path(p).read_bytes()) for p in images for _ in range(3)]
    print(json.dumps({"digits": digits, "has_torch": "torch" in sys.modules,
                      "has_onnxruntime": "onnxruntime" in sys.modules}), flush=True)
    sys.stdin.read()  # until the parent closes it
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
