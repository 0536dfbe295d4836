"""The shipped model matches its card: sha256, sizes, and accuracy re-measured here."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from serving.contract import DIGIT_INPUT, to_model_input
from training.data import load_mnist

MODELS = Path(__file__).resolve().parent.parent / "models"
CARD = json.loads((MODELS / "digitnet.json").read_text())


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_files_match_the_card(kind):
    entry = CARD["files"][kind]
    path = MODELS / entry["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert path.stat().st_size == entry["bytes"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_accuracy_re_measured_on_the_test_set_matches_the_card(kind):
    entry = CARD["files"][kind]
    mnist = load_mnist()
    sess = ort.InferenceSession(str(MODELS / entry["file"]), providers=["CPUExecutionProvider"])
    x = to_model_input(mnist.test_images)
    predicted = np.concatenate([sess.run(None, {DIGIT_INPUT: x[i : i + 2000]})[0].argmax(1)
                                for i in range(0, len(x), 2000)])
    errors = int((predicted != mnist.test_labels).sum())
    assert abs(errors - entry["test_accuracy"]["errors"]) <= 2  # other CPUs may round a tie apart
    assert entry["test_accuracy"]["count"] == 10000


def test_shipped_model_meets_its_targets():
    fp32, int8 = CARD["files"]["fp32"], CARD["files"]["int8"]
    assert fp32["test_accuracy"]["overall"] >= 0.996
    assert abs(int8["test_accuracy"]["overall"] - fp32["test_accuracy"]["overall"]) <= 0.001
    assert fp32["bytes"] <= 2_000_000
    assert 1 <= len(CARD["members"]) <= 3  # each member costs its share of serving time
    assert all(m["command"].startswith("python -m training.train") for m in CARD["members"])
    assert CARD["training"]["wall_time_s"] == round(sum(m["wall_time_s"] for m in CARD["members"]), 1)
    for plot in CARD["plots"]:
        assert (MODELS / plot).stat().st_size > 0


def test_the_card_says_when_its_members_were_fine_tuned():
    """The data line names fine-tuning (--init) and images learnt besides MNIST (--extra) where
    the members' commands show them, as the shipped members' do since session 19."""
    from export.__main__ import fine_tuning

    plain = {"command": "python -m training.train --seed 1 --epochs 35 --out runs/seed1"}
    tuned = {"command": "python -m training.train --init runs/shipped/member0/checkpoint.pt "
                        "--extra runs/page_digits.npz --extra-as-is --out runs/pages/member0"}
    assert fine_tuning([plain, plain, {"command": None}]) == ""
    note = fine_tuning([tuned, plain])
    assert "fine-tuned" in note and "--extra images" in note
    assert CARD["data"].endswith(fine_tuning(CARD["members"])) and "fine-tuned" in CARD["data"]
