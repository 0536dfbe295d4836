"""Fine-tuning the digit model on page digits: the shipped members rebuilt as checkpoints
(training/shipped.py) and the page digits they learn from (bench/page_digits.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from bench import page_digits
from serving.contract import FIELD, to_model_input
from training import checkpoint
from training import shipped as shipped_module
from training.corrections import load, with_extra


@pytest.fixture(scope="module")
def rebuilt(model_path, mnist):
    return shipped_module.rebuild(model_path, mnist.train_images[:2000])


def test_the_shipped_members_rebuilt_read_as_the_shipped_model(rebuilt, predictor, mnist):
    """The rebuilt members, put together as the shipped graph puts them (the first alone where it is
    sure), give the served probabilities: each batch norm is unfolded exactly."""
    x = torch.from_numpy(to_model_input(mnist.test_images[:500]))
    with torch.no_grad():
        each = [torch.softmax(m.eval()(x), 1) for m in rebuilt]
    sure = each[0].amax(1, keepdim=True) >= 0.9
    together = torch.where(sure, each[0], torch.stack(each).mean(0)).numpy()
    assert len(rebuilt) == 3
    np.testing.assert_allclose(together, predictor.probabilities(mnist.test_images[:500] / 255.0), atol=1e-4)


def test_a_rebuilt_member_is_a_checkpoint_fine_tuning_starts_from(rebuilt, tmp_path, mnist):
    """What main writes is read back by the trainer's reader, and in training mode (batch
    statistics in place of the running ones) a batch of training images barely moves it."""
    assert shipped_module.main(["--out", str(tmp_path)]) == 0
    model = checkpoint.load_digit_net(tmp_path / "member0" / "checkpoint.pt")
    x = torch.from_numpy(to_model_input(mnist.train_images[20_000:20_256]))
    with torch.no_grad():
        served = torch.softmax(model.eval()(x), 1)
        model.train()
        model.dropout.p = 0
        learning = torch.softmax(model(x), 1)
    assert (served.argmax(1) == learning.argmax(1)).float().mean() >= 0.99
    assert float((served - learning).abs().mean()) < 0.01


def test_a_file_that_is_no_digit_model_is_refused_in_words(tmp_path, capsys):
    other = tmp_path / "marknet.onnx"
    other.write_bytes((shipped_module.DEFAULT_MODEL.parent / "marknet.onnx").read_bytes())
    assert shipped_module.main(["--model", str(other), "--out", str(tmp_path / "out")]) == 2
    assert "holds no digit model's members" in capsys.readouterr().err
    text = tmp_path / "notes.onnx"
    text.write_text("not a model")
    assert shipped_module.main(["--model", str(text), "--out", str(tmp_path / "out")]) == 2
    assert "is not an ONNX model file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_page_digits_are_the_inputs_of_numbers_read_as_written_labelled_by_what_was_written():
    page_digits.start_worker()
    made = page_digits.page(3, page_digits.FIRST_SEED, page_digits._digits)
    inputs, labels, read = page_digits.page_digits(3, page_digits.FIRST_SEED)
    written = [int(c) for number in made.numbers for c in number if c.isdigit()]
    assert labels == written  # this page is read number for number, digit for digit
    assert all(x.shape == (FIELD, FIELD) and x.dtype == np.uint8 and x.max() > 128 for x in inputs)
    assert len(read) == len(labels)
    # each input is what the digit model reads there: read alone, the served model mostly agrees
    from serving import Predictor

    alone = Predictor().probabilities(np.stack(inputs) / 255.0).argmax(1)
    assert (alone == np.array(labels)).mean() >= 0.9


def test_a_number_read_with_a_digit_too_few_is_left_out_and_a_page_read_short_gives_none(monkeypatch):
    """A digit's label is the digit written at its place only where the number was read with as
    many digits as were written, on a page read with as many numbers: elsewhere the places may
    not line up, and nothing is kept."""
    page_digits.start_worker()
    made = page_digits.page(3, page_digits.FIRST_SEED, page_digits._digits)
    read = page_digits._reader.read_page(made.jpeg)
    first = read.numbers[0]
    short = replace(first, characters=first.characters[1:])
    reads_as = lambda numbers: lambda jpeg: replace(read, numbers=numbers)  # noqa: E731
    monkeypatch.setattr(page_digits._reader, "read_page", reads_as([short, *read.numbers[1:]]))
    _, labels, _ = page_digits.page_digits(3, page_digits.FIRST_SEED)
    assert labels == [int(c) for number in made.numbers[1:] for c in number if c.isdigit()]
    monkeypatch.setattr(page_digits._reader, "read_page", reads_as(read.numbers[1:]))
    assert page_digits.page_digits(3, page_digits.FIRST_SEED) == ([], [], [])


def test_the_page_digits_file_is_what_fine_tuning_takes_as_extra(tmp_path, capsys, mnist):
    out = tmp_path / "page_digits.npz"
    assert page_digits.main(["--count", "2", "--jobs", "1", "--holdout", "0.5", "--out", str(out)]) == 0
    assert "MNIST training digits" in capsys.readouterr().out
    arrays = load(out)
    assert arrays["images"].shape[1:] == (FIELD, FIELD) and len(arrays["labels"]) == len(arrays["images"])
    assert 0 < arrays["holdout"].sum() < len(arrays["holdout"])
    x, y = with_extra(mnist.train_images[:100], mnist.train_labels[:100], out, 0.4)
    assert len(x) > 100 and len(x) == len(y)
