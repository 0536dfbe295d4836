"""The Predictor on the shipped model: answers, batches, and refusals of a wrong model file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from examples.make import draw_digits
from serving import InputError, ModelError, NoDigitError, Predictor
from serving.paths import DEFAULT_MODEL


@pytest.mark.parametrize("digit", range(10))
def test_drawn_digits_are_read(predictor, digit):
    result = predictor.predict(draw_digits((300, 300), str(digit), "black", "white", 18))
    assert result.digit == digit
    assert len(result.probabilities) == 10 and sum(result.probabilities) == pytest.approx(1, abs=1e-5)
    assert result.confidence == max(result.probabilities)
    assert result.model_input.shape == (28, 28)
    assert list(result.top(3))[0] == str(digit)


def test_batch_matches_single_and_keeps_errors_in_place(predictor):
    images = [draw_digits((300, 300), d, "black", "white", 18) for d in "3141"]
    batch = predictor.predict_batch([images[0], b"not an image", images[1], np.zeros((50, 50)), *images[2:]])
    assert isinstance(batch[1], InputError) and isinstance(batch[3], NoDigitError)
    digits = [r.digit for r in batch if not isinstance(r, Exception)]
    assert digits == [3, 1, 4, 1]
    single = predictor.predict(images[0])
    assert batch[0].probabilities == pytest.approx(single.probabilities, abs=1e-6)


def test_a_failure_that_is_not_the_images_is_raised_not_answered_as_one(predictor, monkeypatch):
    import serving.predictor

    real = serving.predictor.read_digit

    def flaky(source):
        if isinstance(source, bytes) and source == b"crash":
            raise RuntimeError("a bug")
        return real(source)

    monkeypatch.setattr(serving.predictor, "read_digit", flaky)
    image = draw_digits((300, 300), "7", "black", "white", 18)
    with pytest.raises(RuntimeError, match="a bug"):
        predictor.predict_batch([image, b"crash", image])


def test_blank_image_is_no_digit(predictor):
    with pytest.raises(NoDigitError, match="no digit found"):
        predictor.predict(np.full((280, 280), 255, np.uint8))


def copy_model(tmp_path):
    for path in DEFAULT_MODEL.parent.glob("digitnet*"):
        if path.suffix in (".onnx", ".json"):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path / DEFAULT_MODEL.name


def test_missing_model_says_what_to_run(tmp_path):
    with pytest.raises(ModelError, match="make train export"):
        Predictor(tmp_path / "nope.onnx")


def test_changed_model_file_is_refused(tmp_path):
    model = copy_model(tmp_path)
    Predictor(model)  # an intact copy with its card is fine
    raw = bytearray(model.read_bytes())
    raw[-100] ^= 0xFF
    model.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="sha256"):
        Predictor(model)
    assert Predictor(model, verify=False).session is not None  # an explicit opt-out


def test_model_without_card_is_refused(tmp_path):
    model = copy_model(tmp_path)
    (tmp_path / "digitnet.json").unlink()
    with pytest.raises(ModelError, match="no model card"):
        Predictor(model)


def test_an_unreadable_model_card_is_refused_by_name(tmp_path):
    model = copy_model(tmp_path)
    (tmp_path / "digitnet.json").write_text("{ not json")
    with pytest.raises(ModelError, match="digitnet.json"):
        Predictor(model)


def test_int8_model_is_verified_and_agrees(predictor):
    int8 = Predictor(DEFAULT_MODEL.with_name("digitnet.int8.onnx"))
    image = draw_digits((300, 300), "7", "black", "white", 18)
    assert int8.predict(image).digit == predictor.predict(image).digit == 7
    card = json.loads(DEFAULT_MODEL.with_name("digitnet.json").read_text())
    assert int8.card["sha256"] == card["files"]["int8"]["sha256"]


def test_a_photo_of_paper_is_flagged_as_a_guess_sooner_than_a_drawing(predictor):
    """On a photo of paper the model may be handed a clean-looking piece of the digit, so the
    "not sure" note comes below PHOTO_UNSURE_BELOW there, below UNSURE_BELOW on drawings."""
    from bench.paper import make_photo
    from serving.result import PHOTO_UNSURE_BELOW, UNSURE_BELOW, DigitResult

    assert UNSURE_BELOW < PHOTO_UNSURE_BELOW
    digit = np.zeros((28, 28), np.float32)
    digit[6:22, 12:16] = 1  # a 1
    photo = make_photo(digit, 1, "ruled", "pencil", np.random.default_rng(1)).jpeg  # a 1 in plain view
    drawing = draw_digits((300, 300), "1", "black", "white", 18)
    for result in (predictor.predict(photo), predictor.predict_batch([drawing, photo])[1]):
        assert result.digit == 1 and result.photo
    for result in (predictor.predict(drawing), predictor.predict_batch([drawing, photo])[0]):
        assert not result.photo
    between = (UNSURE_BELOW + PHOTO_UNSURE_BELOW) / 2
    pixels = np.zeros((28, 28), np.float32)
    assert DigitResult(1, between, [0.0] * 10, pixels, photo=True).unsure
    assert not DigitResult(1, between, [0.0] * 10, pixels).unsure


def test_a_picture_of_several_digits_says_so(predictor):
    """/predict (and the CLI, the Draw and Upload tabs) read one digit; where a picture holds more,
    the answer says so instead of silently answering part of what is written."""
    from serving.records import SEVERAL, digit_fields

    examples = Path(__file__).resolve().parent.parent / "examples"
    several = predictor.predict(examples / "number_2026.png")
    assert several.several and digit_fields(several)["note"] == SEVERAL and digit_fields(several)["several"]
    for name in ("3_marker.png", "2_pencil.png", "4_phone_exif.jpg", "7_ballpoint_photo.jpg",
                 "8_transparent.png"):
        one = predictor.predict(examples / name)
        assert not one.several and "several" not in digit_fields(one), name


def test_every_answer_says_whether_it_is_a_guess(predictor):
    """Clients need not know the 60% / 80% rule: digits, numbers and pages all carry "unsure"."""
    from serving import Reader
    from serving.operations import PREDICT, READ_NUMBER, READ_PAGE
    from serving.records import digit_fields
    from serving.result import DigitResult

    examples = Path(__file__).resolve().parent.parent / "examples"
    reader = Reader()
    sure = predictor.predict(examples / "3_marker.png")
    assert digit_fields(sure)["unsure"] is False
    guess = DigitResult(7, 0.55, [0.0] * 7 + [0.55, 0.45, 0.0], sure.model_input)
    photo = DigitResult(7, 0.7, [0.0] * 7 + [0.7, 0.3, 0.0], sure.model_input, photo=True)
    assert digit_fields(guess)["unsure"] is True and digit_fields(photo)["unsure"] is True
    (number,) = READ_NUMBER.answers(reader, [examples / "number_2026.png"])
    assert number["unsure"] is False and all(d["unsure"] is False for d in number["digits"])
    (page,) = READ_PAGE.answers(reader, [examples / "number_2026.png"])
    assert all("unsure" in n and all("unsure" in c for c in n["characters"]) for n in page["numbers"])
    assert PREDICT.answers(reader, [examples / "3_marker.png"])[0]["unsure"] is False
