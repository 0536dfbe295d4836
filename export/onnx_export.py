"""Checkpoint → one self-contained ONNX file with a dynamic batch, plus metadata; what a card records."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

import onnx
import onnxruntime as ort
import torch

from export.evaluate import ParityError, session
from serving.card import file_sha256
from serving.contract import CLASS_MAPS, DIGIT_INPUT, DIGIT_LOGITS, FIELD
from training import checkpoint
from training.data import Mnist, load_mnist_or_report
from training.model import Ensemble

T = TypeVar("T")


def load_ensemble(checkpoints: list[Path]) -> Ensemble:
    """The checkpoints' models (each with the weights its run chose on validation) as one ensemble."""
    return Ensemble([checkpoint.load_digit_net(path) for path in checkpoints]).eval()


def torch_to_onnx(model: torch.nn.Module, path: Path, example: torch.Tensor, inputs: list[str],
                  outputs: list[str], dynamic_axes: dict) -> None:
    """Dynamo export of `model` (its input `x` with `dynamic_axes`) to one checked file, weights inside."""
    # The exporter warns about every torchvision op it can't register; we use none of them.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    torch.onnx.export(model, (example,), str(path), input_names=inputs, output_names=outputs,
                      dynamic_shapes={"x": dynamic_axes}, external_data=False, dynamo=True, verbose=False)
    Path(str(path) + ".data").unlink(missing_ok=True)  # an earlier export's weights, left beside it otherwise
    onnx.checker.check_model(str(path), full_check=True)


def export_onnx(model: Ensemble, path: Path) -> None:
    """The digit model with a named, dynamic batch dimension, its graph tidied."""
    torch_to_onnx(model, path, torch.zeros(2, 1, FIELD, FIELD), [DIGIT_INPUT], [DIGIT_LOGITS, CLASS_MAPS],
                  {0: torch.export.Dim("batch", min=1, max=4096)})
    model_proto = onnx.load(str(path))
    graph = model_proto.graph
    weights_into_branches(graph)
    # Constants no node reads: the exporter leaves a few behind around an If, and onnxruntime warns
    # about each one whenever it loads the file.
    used = names_used(graph) | {output.name for output in graph.output}
    for weight in [w for w in graph.initializer if w.name not in used]:
        graph.initializer.remove(weight)
    # The exporter's per-node Python stack traces name files on the exporting machine, and inside an
    # If's branches each node carries the whole Python stack (a third of the file).
    for node in all_nodes(graph):
        kept = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
    save_checked(model_proto, path)


def weights_into_branches(graph: onnx.GraphProto) -> None:
    """Moves each weight that only one branch of an If uses into that branch, from the top of the graph
    where the exporter puts it: onnxruntime's NCHWc layout only rewrites convs whose weights are
    constants of their own graph, so convs in a branch would run several times slower."""
    used_at_top = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    for node in graph.node:
        branches = [a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH]
        for branch in branches:
            inside = names_used(branch)
            elsewhere = set().union(*(names_used(b) for b in branches if b is not branch))
            for weight in [w for w in graph.initializer if w.name in inside
                           and w.name not in used_at_top and w.name not in elsewhere]:
                branch.initializer.append(weight)
                graph.initializer.remove(weight)


def names_used(graph: onnx.GraphProto) -> set[str]:
    """The value names the nodes of `graph` and of its subgraphs read."""
    return {name for node in all_nodes(graph) for name in node.input}


def all_nodes(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """The nodes of `graph` and of every subgraph in it."""
    return [node for g in all_graphs(graph) for node in g.node]


def all_graphs(graph: onnx.GraphProto) -> list[onnx.GraphProto]:
    """`graph` and every subgraph in it (an If's branches), at any depth."""
    graphs = [graph]
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                graphs += all_graphs(attribute.g)
    return graphs


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "training", "export"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def save_checked(model: onnx.ModelProto, path: Path) -> None:
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(path), save_as_external_data=False)


def write_metadata(path: Path, props: dict[str, object]) -> None:
    """Stores key/value metadata (strings; other values as JSON) in the ONNX file."""
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)
    save_checked(model, path)


def opset_of(path: Path) -> int:
    model = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def export_record(commit: str, started: float) -> dict:
    """A model card's "export" entry: the commit, the date, the versions, how long it took."""
    return {"commit": commit, "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "torch": torch.__version__, "onnxruntime": ort.__version__,
            "seconds": round(time.time() - started, 1)}


def write_card(card: dict, out: Path) -> Path:
    """models/NAME.json, NAME the card's."""
    path = out / f"{card['name']}.json"
    path.write_text(json.dumps(card, indent=1) + "\n")
    return path


def file_entry(path: Path, **measured: object) -> dict:
    """A model file's entry in its card's "files"."""
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path),
            "opset": opset_of(path), **measured}


def read_json(path: Path, missing: dict | list) -> dict | list:
    """A run's JSON record (run.json, history.json), or `missing` when the run has none."""
    return json.loads(path.read_text()) if path.exists() else missing


def parity_or_none(path: Path, check: Callable[[ort.InferenceSession], dict]) -> dict | None:
    """check(the file's session), or None (the file deleted) after saying how ONNX and PyTorch differ."""
    try:
        return check(session(path))
    except ParityError as err:
        path.unlink()
        print(f"error: {err}", file=sys.stderr)
        return None


def start_export(args: argparse.Namespace, runs: list[Path], trainer: str,
                 load: Callable[[list[Path]], T]) -> tuple[T, Mnist, Path, float] | None:
    """What an export starts from: `load` of the runs' checkpoints, MNIST, the ONNX file to write (its
    folder made) and the time; None after saying on stderr why not."""
    try:
        loaded = load([checkpoint.in_run(run, trainer) for run in runs])
    except checkpoint.CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return None
    data = load_mnist_or_report(args.data_dir)
    if data is None:
        return None
    args.out.mkdir(parents=True, exist_ok=True)
    return loaded, data, args.out / f"{args.name}.onnx", time.time()


class Exported(NamedTuple):
    state: dict  # the checkpoint
    model: torch.nn.Module
    path: Path  # the ONNX file written
    parity: dict  # what the check measured
    started: float


def export_net(args: argparse.Namespace, trainer: str, cls: type[torch.nn.Module], example: torch.Tensor,
               names: tuple[list[str], list[str]], dynamic_axes: dict,
               check: Callable[[torch.nn.Module, Mnist, ort.InferenceSession], dict]) -> Exported | int:
    """The --run checkpoint of `trainer`'s net (`cls`) → the ONNX file, checked by check(net, MNIST, its
    session); else the exit status, once it is said why not."""
    run = start_export(args, [args.run], trainer, lambda paths: checkpoint.read(paths[0]))
    if run is None:
        return 2
    state, data, path, started = run
    model = checkpoint.net(state, cls)
    torch_to_onnx(model, path, example, *names, dynamic_axes)
    parity = parity_or_none(path, lambda sess: check(model, data, sess))
    return 1 if parity is None else Exported(state, model, path, parity, started)
