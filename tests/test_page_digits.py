"""Fine-tuning the digit and number models on photographed pages: the shipped models rebuilt as
checkpoints (training/shipped.py), and the page digits and number strips they learn from
(bench/page_digits.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from bench import page_digits
from export.numbers import main as export_numbers
from serving.contract import FIELD, STRIP_HEIGHT, SYMBOLS, to_model_input
from serving.ctc import greedy_decode
from serving.sequence import SequenceReader
from training import checkpoint
from training import shipped as shipped_module
from training.corrections import load, with_extra
from training.data import load_mnist
from training.numbers_model import NumberNet, batch_of, compose_number
from training.train_numbers import main as train_numbers
from training.train_numbers import page_strips, similar_widths


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
    kept = page_digits.page_digits(3, page_digits.FIRST_SEED)
    inputs, labels, read = kept.inputs, kept.labels, kept.read
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
    labels = page_digits.page_digits(3, page_digits.FIRST_SEED).labels
    assert labels == [int(c) for number in made.numbers[1:] for c in number if c.isdigit()]
    monkeypatch.setattr(page_digits._reader, "read_page", reads_as(read.numbers[1:]))
    assert page_digits.page_digits(3, page_digits.FIRST_SEED) == page_digits.Learnt()


def test_the_page_digits_file_is_what_fine_tuning_takes_as_extra(tmp_path, capsys, mnist):
    out = tmp_path / "page_digits.npz"
    assert page_digits.main(["--count", "2", "--jobs", "1", "--holdout", "0.5", "--out", str(out)]) == 0
    assert "MNIST training digits" in capsys.readouterr().out
    arrays = load(out)
    assert arrays["images"].shape[1:] == (FIELD, FIELD) and len(arrays["labels"]) == len(arrays["images"])
    assert 0 < arrays["holdout"].sum() < len(arrays["holdout"])
    x, y = with_extra(mnist.train_images[:100], mnist.train_labels[:100], out, 0.4)
    assert len(x) > 100 and len(x) == len(y)


# ---------------------------------------------------------------- the number model on page strips


@pytest.fixture(scope="module")
def rebuilt_numbers(mnist):
    return shipped_module.rebuild_numbers(shipped_module.DEFAULT_NUMBER_MODEL, mnist.train_images[:2000],
                                          mnist.train_labels[:2000])


def test_the_shipped_number_model_rebuilt_reads_as_the_shipped_one(rebuilt_numbers, mnist):
    """On numbers of test digits (not those its statistics came from) the rebuilt model gives the
    served probabilities, and in training mode a batch of them barely moves it."""
    rng = np.random.default_rng(5)
    numbers = [compose_number(mnist.test_images, mnist.test_labels, rng) for _ in range(40)]
    reader = SequenceReader()
    with torch.no_grad():
        for c in numbers[:10]:
            ours = torch.exp(rebuilt_numbers.eval()(torch.from_numpy(c.strip)[None, None]))[0].numpy()
            np.testing.assert_allclose(ours, np.exp(reader.log_probs(c.strip)), atol=1e-4)
        x, _, lengths, _ = batch_of(numbers)
        served = rebuilt_numbers.eval()(x).exp()
        rebuilt_numbers.sequence[2].p = 0  # dropout off: the batch statistics alone
        learning = rebuilt_numbers.train()(x).exp()
        rebuilt_numbers.eval()
    own = torch.arange(served.shape[1])[None, :] < lengths[:, None]  # each strip's frames, not its padding
    assert float((served - learning).abs()[own].mean()) < 0.01
    read = [[greedy_decode(p[:n].log().numpy()) for p, n in zip(probs, lengths, strict=True)]
            for probs in (served, learning)]
    assert np.mean([a == b for a, b in zip(*read, strict=True)]) >= 0.85


def test_main_writes_the_number_model_as_a_checkpoint_fine_tuning_starts_from(tmp_path, capsys):
    out = tmp_path / "shipped"
    assert shipped_module.main(["--out", str(out)]) == 0
    model = checkpoint.net(checkpoint.read(out / "numbers" / "checkpoint.pt"), NumberNet)
    assert model.config == {"width": 24}
    other = tmp_path / "digitnet.onnx"
    other.write_bytes(shipped_module.DEFAULT_MODEL.read_bytes())
    assert shipped_module.main(["--number-model", str(other), "--out", str(tmp_path / "out")]) == 2
    assert "holds no number model's weights" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


PAGE = 4  # seven numbers, three of them with a point, one with a sign


def test_page_strips_are_what_the_number_model_read_labelled_with_the_number_written():
    page_digits.start_worker()
    made = page_digits.page(PAGE, page_digits.FIRST_SEED, page_digits._digits)
    kept = page_digits.page_digits(PAGE, page_digits.FIRST_SEED)
    assert kept.numbers == made.numbers  # each number read with its sign and point where written
    assert all(x.shape[0] == STRIP_HEIGHT and x.dtype == np.uint8 for x in kept.strips)
    reader = SequenceReader()
    alone = ["".join(SYMBOLS[s] for s in greedy_decode(reader.log_probs(x / 255.0))) for x in kept.strips]
    assert np.mean([a == n for a, n in zip(alone, kept.numbers, strict=True)]) >= 0.8


def test_a_number_read_without_its_point_gives_no_strip(monkeypatch):
    """A number read with a sign or point too few or too many may be read from ink without it: its
    strip would not hold what its label says, so it is left out (its digits still count)."""
    page_digits.start_worker()
    made = page_digits.page(PAGE, page_digits.FIRST_SEED, page_digits._digits)
    read = page_digits._reader.read_page(made.jpeg)
    k = next(k for k, n in enumerate(made.numbers) if "." in n)
    point = read.numbers[k]
    lost = replace(point, characters=[c for c in point.characters if c.char != "."],
                   number=point.number.replace(".", ""))
    numbers = [*read.numbers[:k], lost, *read.numbers[k + 1:]]
    monkeypatch.setattr(page_digits._reader, "read_page", lambda jpeg: replace(read, numbers=numbers))
    kept = page_digits.page_digits(PAGE, page_digits.FIRST_SEED)
    assert kept.numbers == made.numbers[:k] + made.numbers[k + 1:]
    assert kept.labels == [int(c) for n in made.numbers for c in n if c.isdigit()]


@pytest.mark.slow
def test_the_page_strips_file_is_what_the_number_trainer_takes_as_extra(tmp_path, capsys):
    """Made, learnt from (a share of each batch, the held-out strips read at each validation) and
    read by the export, whose card says what the model learnt from and how it reads them."""
    digits, numbers = tmp_path / "page_digits.npz", tmp_path / "page_numbers.npz"
    assert page_digits.main(["--count", "3", "--jobs", "1", "--holdout", "0.5", "--out", str(digits),
                             "--numbers-out", str(numbers)]) == 0
    assert "number strips" in capsys.readouterr().out
    learn, held = page_strips(numbers)
    assert learn and held
    assert all(c.strip.shape[0] == STRIP_HEIGHT and 0 <= c.strip.min() and c.strip.max() <= 1 for c in learn)
    rng = np.random.default_rng(0)
    mnist = load_mnist()
    batches = similar_widths(mnist.train_images[:100], mnist.train_labels[:100], rng, 10, learn, 0.4)
    drawn = [c for batch in batches for c in batch if any(c is x for x in learn)]
    assert len(drawn) == 16 and sum(len(b) for b in batches) == 40
    run = tmp_path / "run"
    assert train_numbers(["--dry-run", "--limit", "500", "--extra", str(numbers), "--out", str(run)]) == 0
    history = json.loads((run / "history.json").read_text())
    assert "page_exact" in history[-1] and history[-1]["score"] == pytest.approx(
        (history[-1]["exact"] + history[-1]["page_exact"]) / 2)
    out = tmp_path / "models"
    assert export_numbers(["--run", str(run), "--out", str(out), "--check-numbers", "20"]) == 0
    card = json.loads((out / "numbernet.json").read_text())
    assert card["parity"]["page_strips_held_out"] == len(held)
    assert 0 <= card["parity"]["page_strips_exact"] <= 1
    assert "40% of each batch page strips" in card["data"] and "fine-tuned" not in card["data"]


def test_fine_tuning_the_number_model_starts_by_measuring_where_it_starts(tmp_path):
    """With --init, step 0 is validated (and kept if no later step reads better)."""
    start = tmp_path / "shipped"
    assert shipped_module.main(["--out", str(start)]) == 0
    run = tmp_path / "run"
    assert train_numbers(["--dry-run", "--limit", "500", "--init", str(start / "numbers" / "checkpoint.pt"),
                          "--lr", "1", "--out", str(run)]) == 0
    history = json.loads((run / "history.json").read_text())
    assert history[0]["step"] == 0 and history[0]["exact"] >= 0.8
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 0  # lr 1 wrecks the rest


def test_a_file_that_holds_no_strips_is_refused_in_words(tmp_path, capsys):
    other = tmp_path / "page_digits.npz"
    np.savez(other, images=np.zeros((2, 28, 28), np.uint8))
    assert train_numbers(["--dry-run", "--extra", str(other), "--out", str(tmp_path / "run")]) == 2
    assert "holds no number strips" in capsys.readouterr().err


def test_pages_that_give_nothing_to_learn_from_are_said_not_raised(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(page_digits, "page_digits", lambda index, seed: page_digits.Learnt())
    out = tmp_path / "page_digits.npz"
    assert page_digits.main(["--count", "2", "--jobs", "1", "--out", str(out)]) == 1
    assert "none of the 2 pages was read number for number" in capsys.readouterr().err
    assert not out.exists()
