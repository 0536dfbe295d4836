"""Export of a small checkpoint: ONNX checks, parity with PyTorch, INT8, metadata, model card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from export.__main__ import main as export_main
from export.evaluate import ParityError, check_parity, session
from export.onnx_export import all_nodes, export_onnx, load_ensemble, names_used
from serving.contract import to_model_input
from training.checkpoint import load_digit_net
from training.data import load_mnist
from training.model import FIRST_SURE, Ensemble
from training.train import main as train_main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    runs = []
    for seed in (1, 2):  # a two-member ensemble, as the shipped model is one of three
        run = tmp_path_factory.mktemp(f"run{seed}")
        assert train_main(["--limit", "256", "--val-limit", "200", "--test-limit", "200", "--epochs", "1",
                           "--threads", "2", "--seed", str(seed), "--out", str(run)]) == 0
        runs.append(run)
    out = tmp_path_factory.mktemp("models")
    assert export_main(["--run", str(runs[0]), "--run", str(runs[1]), "--out", str(out), "--name",
                        "tiny", "--val-limit", "300", "--test-limit", "500", "--parity-images", "1000",
                        "--calibration-images", "200"]) == 0
    return runs, out


def test_onnx_file_is_checked_self_contained_and_batch_dynamic(exported):
    _, out = exported
    path = out / "tiny.onnx"
    onnx.checker.check_model(str(path), full_check=True)
    assert not list(out.glob("*.data"))  # weights inside the one file
    graph = onnx.load(str(path)).graph  # every weight read by some node: onnxruntime warns otherwise
    assert {w.name for w in graph.initializer} <= names_used(graph)
    sess = ort.InferenceSession(str(path))
    (inp,), outputs = sess.get_inputs(), sess.get_outputs()
    assert (inp.name, [o.name for o in outputs]) == ("image", ["logits", "class_maps"])
    assert isinstance(inp.shape[0], str) and inp.shape[1:] == [1, 28, 28]
    for n in (1, 7, 64):
        logits, maps = sess.run(None, {"image": np.zeros((n, 1, 28, 28), np.float32)})
        assert logits.shape == (n, 10) and maps.shape == (n, 10, 7, 7)


def member_probabilities_and_maps(members, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(members, N, 10) probabilities and (members, N, 10, 7, 7) class maps, computed by hand."""
    with torch.no_grad():
        probs = [torch.softmax(m(torch.from_numpy(x)), 1).numpy() for m in members]
        maps = [torch.einsum("kc,nchw->nkhw", m.head.weight,
                             m.feature_map(torch.from_numpy(x))).numpy() for m in members]
    return np.array(probs), np.array(maps)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_the_ensemble_averages_its_members_probabilities_and_maps(exported):
    runs, out = exported
    members = [load_digit_net(run / "checkpoint.pt") for run in runs]
    x = to_model_input(load_mnist().test_images[:50])
    logits, maps = session(out / "tiny.onnx").run(None, {"image": x})
    probs, member_maps = member_probabilities_and_maps(members, x)
    alone = probs[0].max(1) >= FIRST_SURE  # a tiny model is rarely this sure: mostly the mean
    assert np.allclose(softmax(logits), np.where(alone[:, None], probs[0], probs.mean(0)), atol=1e-5)
    assert np.allclose(maps, np.where(alone[:, None, None, None], member_maps[0], member_maps.mean(0)),
                       atol=1e-4)


def test_an_image_the_first_member_is_sure_of_gets_its_answer_alone(exported, tmp_path):
    """With the bar at the first member's median confidence, half the images take the shortcut:
    each image's outputs are the first member's or the mean by its own confidence, whichever
    images share its batch, and the other members' convs keep their weights in their branch."""
    runs, _ = exported
    members = [load_digit_net(run / "checkpoint.pt") for run in runs]
    x = to_model_input(load_mnist().test_images[:40])
    probs, member_maps = member_probabilities_and_maps(members, x)
    bar = float(np.median(probs[0].max(1)))
    alone = probs[0].max(1) >= bar
    assert 0 < alone.sum() < len(x)
    path = tmp_path / "shortcut.onnx"
    export_onnx(Ensemble(members, first_sure=bar).eval(), path)
    sess = session(path)
    expected = np.where(alone[:, None], probs[0], probs.mean(0))
    expected_maps = np.where(alone[:, None, None, None], member_maps[0], member_maps.mean(0))
    logits, maps = sess.run(None, {"image": x})
    assert np.allclose(softmax(logits), expected, atol=1e-5)
    assert np.allclose(maps, expected_maps, atol=1e-4)
    for batch in (alone, ~alone):  # all sure (the If's first branch), none sure (the other)
        assert np.allclose(softmax(sess.run(None, {"image": x[batch]})[0]), expected[batch], atol=1e-5)
    for i in (int(np.argmax(alone)), int(np.argmin(alone))):  # one sure image, one unsure, alone
        one = sess.run(None, {"image": x[i : i + 1]})[0]
        assert np.allclose(softmax(one), expected[i : i + 1], atol=1e-5)

    graph = onnx.load(str(path)).graph
    branches = {a.name: a.g for node in graph.node if node.op_type == "If" for a in node.attribute}
    top = {w.name for w in graph.initializer}
    inside = {w.name for w in branches["else_branch"].initializer}
    assert "members.0.body.1.0.weight" in top
    assert "members.1.body.1.0.weight" in inside and not any(n.startswith("members.1.") for n in top)


def test_metadata_describes_the_model(exported):
    _, out = exported
    model = onnx.load(str(out / "tiny.onnx"))
    meta = {p.key: p.value for p in model.metadata_props}
    assert not [p for node in all_nodes(model.graph) for p in node.metadata_props if "stack" in p.key]
    assert json.loads(meta["labels"]) == [str(d) for d in range(10)]
    assert "[0, 1]" in meta["input"] and "white digit on black" in meta["input"]
    assert 0 <= float(meta["test_accuracy"]) <= 1 and meta["commit"]
    assert meta["precision"] == "fp32"


def test_parity_is_checked_and_catches_a_different_model(exported):
    runs, out = exported
    model = load_ensemble([run / "checkpoint.pt" for run in runs])
    images = load_mnist().test_images[:200]
    report = check_parity(model, session(out / "tiny.onnx"), images)
    assert report["argmax_mismatches"] == 0 and report["max_abs_diff"] <= 1e-4
    with torch.no_grad():
        model.members[0].head.bias[3] += 0.05  # one class: a shift of all would not show
    with pytest.raises(ParityError):
        check_parity(model, session(out / "tiny.onnx"), images)


def test_int8_is_static_qdq_smaller_and_close(exported):
    _, out = exported
    int8 = onnx.load(str(out / "tiny.int8.onnx"))
    ops = {node.op_type for node in int8.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    # Every member's convs quantized: the INT8 file has no shortcut whose branch it can't reach.
    assert "If" not in ops and sum(node.op_type == "Conv" for node in int8.graph.node) == 10
    assert "If" in {node.op_type for node in onnx.load(str(out / "tiny.onnx")).graph.node}
    card = json.loads((out / "tiny.json").read_text())
    fp32, q = card["files"]["fp32"], card["files"]["int8"]
    assert q["bytes"] * 2 < fp32["bytes"]
    assert abs(q["test_accuracy"]["overall"] - fp32["test_accuracy"]["overall"]) < 0.05


def test_model_card_numbers_are_measured(exported):
    _, out = exported
    card = json.loads((out / "tiny.json").read_text())
    assert card["parity"]["images"] == 1000 and card["parity"]["argmax_mismatches"] == 0
    for entry in card["files"].values():
        path = out / entry["file"]
        assert entry["bytes"] == path.stat().st_size
        assert len(entry["test_accuracy"]["per_class"]) == 10
        assert entry["test_accuracy"]["count"] == 500 and entry["validation_accuracy"]["count"] == 300
    meta = {p.key: p.value for p in onnx.load(str(out / "tiny.onnx")).metadata_props}
    assert float(meta["validation_accuracy"]) == card["files"]["fp32"]["validation_accuracy"]["overall"]
    assert len(card["members"]) == 2
    assert all(0 <= m["validation_accuracy"] <= 1 and m["chosen_epoch"] == 1 for m in card["members"])
    assert all(m["command"].startswith("python -m training.train") for m in card["members"])
    assert card["training"]["wall_time_s"] == round(sum(m["wall_time_s"] for m in card["members"]), 1)
    for plot in card["plots"]:
        assert (out / plot).stat().st_size > 0


def test_export_without_checkpoint_says_what_to_run(tmp_path, capsys):
    assert export_main(["--run", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "python -m training.train" in capsys.readouterr().err


def test_export_refuses_to_replace_a_better_shipped_model(exported, tmp_path, capsys):
    runs, _ = exported
    shipped = tmp_path / "digitnet.onnx"
    shipped.write_bytes((ROOT / "models" / "digitnet.onnx").read_bytes())
    before = shipped.read_bytes()
    assert export_main(["--run", str(runs[0]), "--out", str(tmp_path), "--calibration-images", "100",
                        "--val-limit", "700", "--test-limit", "400"]) == 1
    assert shipped.read_bytes() == before
    gate = capsys.readouterr().out
    # chosen on the validation split (its first 700 images here), never on the test set
    assert "WORSE" in gate and "MNIST validation:" in gate and "/700)" in gate and "/400)" not in gate


def test_export_of_an_unreadable_checkpoint_says_so_in_one_line(tmp_path, capsys):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert export_main(["--run", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "is not a training checkpoint" in err and "Traceback" not in err
