"""Export of a small checkpoint: ONNX checks, parity with PyTorch, INT8, metadata, model card."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from export.__main__ import main as export_main
from export.evaluate import ParityError, check_parity, session
from export.onnx_export import load_checkpoint
from training.data import load_mnist
from training.train import main as train_main


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    assert train_main(["--limit", "256", "--test-limit", "200", "--epochs", "1", "--threads", "2",
                       "--out", str(run)]) == 0
    out = tmp_path_factory.mktemp("models")
    assert export_main(["--run", str(run), "--out", str(out), "--name", "tiny", "--test-limit", "500",
                        "--parity-images", "1000", "--calibration-images", "200"]) == 0
    return run, out


def test_onnx_file_is_checked_self_contained_and_batch_dynamic(exported):
    _, out = exported
    path = out / "tiny.onnx"
    onnx.checker.check_model(str(path), full_check=True)
    assert not list(out.glob("*.data"))  # weights inside the one file
    sess = ort.InferenceSession(str(path))
    (inp,), (outp,) = sess.get_inputs(), sess.get_outputs()
    assert (inp.name, outp.name) == ("image", "logits")
    assert isinstance(inp.shape[0], str) and inp.shape[1:] == [1, 28, 28]
    for n in (1, 7, 64):
        assert sess.run(None, {"image": np.zeros((n, 1, 28, 28), np.float32)})[0].shape == (n, 10)


def test_metadata_describes_the_model(exported):
    _, out = exported
    meta = {p.key: p.value for p in onnx.load(str(out / "tiny.onnx")).metadata_props}
    assert json.loads(meta["labels"]) == [str(d) for d in range(10)]
    assert "[0, 1]" in meta["input"] and "white digit on black" in meta["input"]
    assert 0 <= float(meta["test_accuracy"]) <= 1 and meta["commit"]
    assert meta["precision"] == "fp32"


def test_parity_is_checked_and_catches_a_different_model(exported):
    run, out = exported
    model = load_checkpoint(run / "checkpoint.pt")
    images = load_mnist().test_images[:200]
    report = check_parity(model, session(out / "tiny.onnx"), images)
    assert report["argmax_mismatches"] == 0 and report["max_abs_diff"] <= 1e-4
    with torch.no_grad():
        model.classifier[1].bias += 0.01
    with pytest.raises(ParityError):
        check_parity(model, session(out / "tiny.onnx"), images)


def test_int8_is_static_qdq_smaller_and_close(exported):
    _, out = exported
    int8 = onnx.load(str(out / "tiny.int8.onnx"))
    ops = {node.op_type for node in int8.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
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
        assert entry["test_accuracy"]["count"] == 500
    assert card["training"]["command"].startswith("python -m training.train")
    for plot in card["plots"]:
        assert (out / plot).stat().st_size > 0


def test_export_without_checkpoint_says_what_to_run(tmp_path, capsys):
    assert export_main(["--run", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "python -m training.train" in capsys.readouterr().err
