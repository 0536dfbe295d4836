"""The sequence reader of numbers: shipped model, reading joined digits, boxes, agreement with
the digit model on one digit, training and export in small."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.numbers import iou, make_number
from serving.card import ModelError, file_sha256
from serving.contract import MINUS, POINT, SYMBOLS
from serving.numbers import read_number, segment_number
from serving.sequence import DEFAULT_NUMBER_MODEL, SequenceReader
from serving.strip import STRIP_HEIGHT, STRIP_INK, to_strip

CARD = DEFAULT_NUMBER_MODEL.with_suffix(".json")


@pytest.fixture(scope="module")
def reader() -> SequenceReader:
    return SequenceReader()


def easy_digits(mnist, predictor) -> tuple[np.ndarray, np.ndarray]:
    """Test digits the digit model reads right on their own, so a miss is the number reader's."""
    images, labels = mnist.test_images[:300], mnist.test_labels[:300]
    right = predictor.probabilities(images.astype(np.float32) / 255).argmax(axis=1) == labels
    return images[right], labels[right]


def test_shipped_model_loads_and_matches_its_card(reader):
    card = json.loads(CARD.read_text())
    entry = card["files"]["fp32"]
    assert entry["file"] == DEFAULT_NUMBER_MODEL.name
    assert entry["sha256"] == file_sha256(DEFAULT_NUMBER_MODEL)
    assert entry["bytes"] == DEFAULT_NUMBER_MODEL.stat().st_size < 2_000_000
    assert not Path(str(DEFAULT_NUMBER_MODEL) + ".data").exists()  # weights inside the one file
    assert card["parameters"] < 500_000
    assert reader.card is not None and reader.card["sha256"] == entry["sha256"]
    for width in (9, 40, 333):  # any width, odd or even
        out = reader.log_probs(np.zeros((STRIP_HEIGHT, width), np.float32))
        assert out.shape == (width // 2, len(reader.symbols) + 1)


def test_a_changed_model_file_is_refused(tmp_path):
    bad = tmp_path / DEFAULT_NUMBER_MODEL.name
    bad.write_bytes(DEFAULT_NUMBER_MODEL.read_bytes()[:-10] + b"0123456789")
    (tmp_path / CARD.name).write_text(CARD.read_text())
    with pytest.raises(ModelError, match="sha256"):
        SequenceReader(bad)


def test_strip_keeps_the_aspect_and_fills_the_ink_rows():
    ink = np.zeros((50, 200), np.float32)
    ink[10:40, 20:80] = 0.5  # 30 rows × 60 columns of ink
    strip, (left, top, fx, fy) = to_strip(ink)
    assert strip.shape[0] == STRIP_HEIGHT and strip.max() == pytest.approx(1.0)
    rows = np.flatnonzero(strip.max(axis=1) > 0)
    assert len(rows) == STRIP_INK and (left, top) == (20, 10)
    assert fx == pytest.approx(fy, rel=0.02) and fy == pytest.approx(STRIP_INK / 30)
    with pytest.raises(ValueError, match="no ink"):
        to_strip(np.zeros((10, 10), np.float32))


@pytest.mark.parametrize("gap", [{"gap_px": 0}, {"gap_range": (-1 / 8, -1 / 8)}],
                         ids=["touching", "overlapping-1/8"])
def test_joined_digits_are_read_with_their_boxes(predictor, reader, mnist, gap):
    images, labels = easy_digits(mnist, predictor)
    rng = np.random.default_rng(5)
    joined = right = boxed = 0
    for _ in range(100):  # a cap: the cases are chosen by the code under test
        made = make_number(images, labels, rng, length=int(rng.integers(2, 7)), **gap)
        if len(segment_number(made.image).boxes) == len(made.digits):
            continue  # these digits' ink happens not to meet: not what this test is about
        joined += 1
        if joined > 12:
            break
        result = read_number(predictor, made.image, reader=reader)
        assert len(result.inputs) == len(result.digits)
        if result.number != "".join(map(str, made.digits)):
            continue
        right += 1
        boxed += all(iou(found.box, truth) > 0.5 for found, truth in zip(result.digits, made.boxes,
                                                                          strict=True))
        xs = [d.box[0] for d in result.digits]
        assert xs == sorted(xs)
    assert joined > 12, "too few of the made numbers had their digits' ink meet"
    assert right >= 10, f"{right} of 12 joined numbers read exactly"
    # Every box of a number right: 94.8% of numbers in bench.numbers' set 2 (its "segmented right");
    # on these 12 cases, two may miss one box.
    assert boxed >= right - 2, f"{boxed} of {right} numbers read right have every box on its digit"


def test_one_digit_agrees_with_the_digit_model(predictor, reader, mnist):
    from PIL import Image

    for image in mnist.test_images[:30]:
        canvas = Image.new("L", (300, 300), 0)
        canvas.paste(Image.fromarray(image).resize((168, 168), Image.BILINEAR), (60, 70))
        assert read_number(predictor, canvas, reader).number == str(predictor.predict(canvas).digit)


def test_the_sequence_reader_reads_the_line_it_is_given(predictor, reader, mnist):
    images, labels = easy_digits(mnist, predictor)
    made = make_number(images, labels, np.random.default_rng(2), length=4, gap_px=0, dark_ink=False)
    ink = np.asarray(made.image, np.float32) / 255
    ink = np.clip((ink - 0.25) / 0.6, 0, 1)  # paper to 0, ink to 1: what the ink map gives
    read = reader.read(ink)
    assert [d.digit for d in read] == made.digits
    for d, truth in zip(read, made.boxes, strict=True):
        assert 0 < d.confidence <= 1 and sum(d.probabilities) == pytest.approx(1, abs=1e-4)
        overlap = min(d.columns[1], truth[2]) - max(d.columns[0], truth[0])
        assert overlap > 0.5 * (truth[2] - truth[0]), (d.columns, truth)
    assert reader.read(np.zeros((30, 30), np.float32)) == []


@pytest.mark.slow
def test_training_and_export_in_small(tmp_path, mnist):
    import torch

    from export.numbers import main as export_main
    from training.numbers_model import NumberNet, batch_of, compose_number
    from training.train_numbers import main as train_main

    images, labels = mnist.train_images[:100], mnist.train_labels[:100]
    rng = np.random.default_rng(0)
    numbers = [compose_number(images, labels, rng) for _ in range(20)]
    assert all(1 <= sum(s < 10 for s in c.symbols) <= 6 and c.strip.shape[0] == STRIP_HEIGHT for c in numbers)
    signed = [c for c in numbers if c.symbols[0] == MINUS]
    pointed = [c for c in numbers if POINT in c.symbols]
    assert signed and pointed and all(c.symbols[1:].count(MINUS) == 0 for c in numbers)
    assert all(0 < c.symbols.index(POINT) < len(c.symbols) - 1 and c.symbols[c.symbols.index(POINT) - 1] < 10
               for c in pointed)  # a point stands between two digits
    x, targets, lengths, target_lengths = batch_of(numbers)
    assert NumberNet()(x).shape == (20, x.shape[3] // 2, len(SYMBOLS) + 1)
    assert int(target_lengths.sum()) == len(targets) and (lengths >= 2 * target_lengths).all()
    run = tmp_path / "run"
    assert train_main(["--dry-run", "--limit", "500", "--out", str(run)]) == 0
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 3
    out = tmp_path / "models"
    assert export_main(["--run", str(run), "--out", str(out), "--check-numbers", "20"]) == 0
    card = json.loads((out / "numbernet.json").read_text())
    assert card["files"]["fp32"]["sha256"] == file_sha256(out / "numbernet.onnx")
    assert card["parity"]["reading_mismatches"] == 0 and card["files"]["fp32"]["opset"] >= 18
    exported = SequenceReader(out / "numbernet.onnx")
    assert exported.symbols == SYMBOLS and exported.read(np.ones((20, 20), np.float32)) is not None


@pytest.mark.slow
def test_bench_reads_both_sets(capsys):
    from bench.numbers import main as bench_main

    assert bench_main(["--count", "2", "--show-errors", "0"]) == 0
    out = capsys.readouterr().out
    assert "## Set 1: 2 numbers" in out and "e: mixed, 1/20 apart to 1/8 overlap" in out
    rows = [line for line in out.splitlines() if line.startswith("| e: mixed")]
    assert len(rows) == 2 and "%" in rows[0] and "%" not in rows[1]
