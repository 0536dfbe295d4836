"""In-process measurements: model latency, end-to-end latency, throughput, accuracy and size.

Run through `python -m bench`; the functions return plain dicts that bench.__main__ turns into
tables and checks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from bench.common import Stats, Timing, interleaved_latency, time_calls
from serving.contract import FIELD
from serving.decode import open_image
from serving.predictor import Predictor
from serving.preprocess import to_mnist
from serving.session import load_session as ort_session
from training.model import FIRST_SURE, Ensemble, member_outputs

ALL_THREADS = os.cpu_count() or 1


def ort_runner(sess: ort.InferenceSession, x: np.ndarray) -> Callable[[], object]:
    name = sess.get_inputs()[0].name
    return lambda: sess.run(None, {name: x})


def torch_runner(model: torch.nn.Module, x: np.ndarray, threads: int) -> Callable[[], object]:
    def run() -> object:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            return model(torch.from_numpy(x))

    return run


def batch_of(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.random((size, 1, FIELD, FIELD), dtype=np.float32)
    x[x < 0.7] = 0
    return x


def model_latency(fp32: Path, int8: Path, model: torch.nn.Module, inputs: dict[str, np.ndarray],
                  runs: int, warmup: int) -> dict[tuple[str, str], Timing]:
    """Batch 1, one thread each: onnxruntime fp32 / INT8 and PyTorch eager, interleaved, on each
    of `inputs` (name → (1, 1, 28, 28) image); keyed (engine, input name)."""
    sessions = {"onnxruntime fp32": ort_session(fp32, 1), "onnxruntime INT8": ort_session(int8, 1)}
    engines = {}
    for input_name, x in inputs.items():
        for name, sess in sessions.items():
            engines[(name, input_name)] = ort_runner(sess, x)
        engines[("PyTorch eager fp32", input_name)] = torch_runner(model, x, 1)
    torch.set_num_threads(1)
    return interleaved_latency(engines, runs, warmup)


def first_member_confidence(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """How sure the ensemble's first member is of each image in x (N, 1, 28, 28): at FIRST_SURE
    or more it answers alone."""
    with torch.inference_mode():
        probabilities, _ = member_outputs(model.members[0], torch.from_numpy(x))
    return probabilities.numpy().max(1)


def end_to_end(fp32: Path, images: list[tuple[str, bytes, int, int]], warmup: int = 2) -> list[dict]:
    """Bytes → decode + preprocess → model on one thread, per (name, bytes, digit drawn, runs)."""
    predictor = Predictor(fp32, threads=1, verify=False)
    out = []
    for name, data, digit, runs in images:
        for _ in range(warmup):
            predictor.predict(data)
        prep, model, total, cpu = [], [], [], []
        for _ in range(runs):
            c0, t0 = time.thread_time(), time.perf_counter()
            x = to_mnist(data)
            t1 = time.perf_counter()
            probs = predictor.probabilities(x[None])
            t2, c2 = time.perf_counter(), time.thread_time()
            prep.append(t1 - t0)
            model.append(t2 - t1)
            total.append(t2 - t0)
            cpu.append(c2 - c0)
        decode, _ = time_calls(lambda data=data: open_image(data), runs)
        with open_image(data) as image:
            size = image.size
        out.append({"image": name, "bytes": len(data), "size": size, "expected": digit,
                    "predicted": int(np.argmax(probs[0])), "decode": Stats.of(decode),
                    "preprocess": Stats.of(prep), "model": Stats.of(model), "total": Stats.of(total),
                    "total_cpu": Stats.of(cpu)})
    return out


def throughput(fp32: Path, int8: Path, model: torch.nn.Module, batch_sizes: list[int],
               seconds: float, repeats: int = 3) -> list[dict]:
    """Images/s per engine, batch size and thread count: the best of `repeats` timed chunks.

    The best chunk, as timeit takes the minimum: background load only ever slows a chunk down.
    """
    rows = []
    for threads in sorted({1, ALL_THREADS}):
        for engine in ("onnxruntime fp32", "onnxruntime INT8", "PyTorch eager fp32"):
            sess = None if engine.startswith("PyTorch") else ort_session(
                fp32 if "fp32" in engine else int8, threads)
            rates = {}
            for size in batch_sizes:
                x = batch_of(size)
                run = torch_runner(model, x, threads) if sess is None else ort_runner(sess, x)
                run()
                chunk_rates = []
                for _ in range(repeats):
                    count, start = 0, time.perf_counter()
                    while True:
                        run()
                        count += 1
                        elapsed = time.perf_counter() - start
                        if elapsed >= seconds / repeats:
                            break
                    chunk_rates.append(count * size / elapsed)
                rates[size] = float(max(chunk_rates))
            rows.append({"engine": engine, "threads": threads, "rates": rates})
    torch.set_num_threads(1)
    return rows


def accuracy_and_size(fp32: Path, int8: Path, limit: int | None, model: torch.nn.Module) -> dict:
    """MNIST test accuracy through onnxruntime, and file sizes; and what the first member's
    shortcut changes: the served file's answers against every member of `model` (the PyTorch
    ensemble with the file's weights) averaged."""
    from export.evaluate import accuracy, onnx_logits, session
    from training.data import DataError, load_mnist

    out: dict = {"files": {"fp32": {"file": fp32.name, "bytes": fp32.stat().st_size},
                           "INT8": {"file": int8.name, "bytes": int8.stat().st_size}}}
    try:
        data = load_mnist()
    except DataError as err:
        out["error"] = str(err).splitlines()[0]
        return out
    images, labels = data.test_images[:limit], data.test_labels[:limit]
    for kind, path in (("fp32", fp32), ("INT8", int8)):
        result = accuracy(session(path), images, labels)
        out["files"][kind].update(accuracy=result.overall, errors=result.errors, count=result.count)
    served = onnx_logits(session(fp32), images).argmax(1)
    x = images[:, None].astype(np.float32) / 255
    with torch.inference_mode():
        every = Ensemble(list(model.members), first_sure=None)(torch.from_numpy(x))[0].numpy().argmax(1)
    out["shortcut"] = {"alone": float((first_member_confidence(model, x) >= FIRST_SURE).mean()),
                       "changed": int((served != every).sum()), "count": len(images),
                       "every_member_accuracy": float((every == labels).mean())}
    return out
