"""What the page shows for an answer: the label, the picture, the note in plain words.

The handlers never raise into the page: an image that can't be read gets a note saying why, and
anything unexpected is logged and answered "Something went wrong".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from app.inputs import read_input
from serving import DigitResult, InputError, NoDigitError, NumberResult, PageResult, Reader
from serving.decode import open_image, original_size
from serving.explain import overlay, seen_pixels
from serving.numbers import CUT_OFF
from serving.result import unsure as unsure_of

LOG = logging.getLogger("app")
SEEN_SIDE = 224  # the 28×28 picture shown 8× larger
# A pad's strokes under the number's boxes: blue on a transparent field, so that the picture takes
# the theme's background (a white panel glared in the dark theme); this blue reads on both.
INK_SHOWN = (59, 130, 246)
# The heatmap toggle under "what the model sees": off, or the evidence for one of the top two answers.
VIEW_OFF, VIEW_TOP, VIEW_RUNNER_UP = "Off", "Top answer", "Runner-up"
VIEWS = [VIEW_OFF, VIEW_TOP, VIEW_RUNNER_UP]
# What a tab's note says while there is nothing to read: the same when the page loads and after Clear.
EMPTY_NOTES = {"pad": "Draw a digit: the answer appears here.",
               "sketch": "Draw a digit: the answer appears here.",
               "upload": "Upload a photo, scan or drawing of one digit: the answer appears here."}
EMPTY_NUMBER = ("Write a number, or several on several lines, or upload a picture of a page: "
                "it is read as you write.")
NOT_READABLE = "not an image that can be read: "  # serving's words, said once in the note
HEAT_SCALE = ("Each map is as bright as its digit is likely: pale yellow is strong evidence for a likely "
              "answer, dark red weak evidence or an unlikely one, and no colour none at all.")


def a_digit(digit: int) -> str:
    """"a **7**", "an **8**": the article as the digit is said."""
    return f"{'an' if digit == 8 else 'a'} **{digit}**"


def capital(text: str) -> str:
    """The text with its first letter upper-case (not .capitalize(): it lowercases the rest)."""
    return text[:1].upper() + text[1:]


def note_for(result: DigitResult, page: PageResult | None = None) -> str:
    """The note under a digit's answer; `page`: the picture read as a page, when it seems to hold
    several digits (what they read is said, not only that there are several)."""
    top = sorted(range(len(result.probabilities)), key=lambda d: -result.probabilities[d])
    if result.not_digit:
        note = (f"**That doesn't look like a digit** (a dot, a dash, a scribble or a letter?). Write one "
                f"digit, large, in the middle. The nearest digit would be {a_digit(top[0])} "
                f"({result.confidence:.0%}).")
    elif result.unsure:
        advice = ("Try a closer photo in even light, the digit alone in the middle." if result.photo
                  else "Try writing it larger, centred, one digit only.")
        note = (f"**Not sure.** It looks most like {a_digit(top[0])} ({result.confidence:.0%}), but "
                f"it could be {a_digit(top[1])} ({result.probabilities[top[1]]:.0%}). {advice}")
    else:
        note = f"It's {a_digit(result.digit)} ({result.confidence:.0%} sure)."
    if not result.several:
        return note
    numbers = ", ".join(f"**{n.number}**" for n in page.numbers) if page is not None else ""
    reads = f": it reads {numbers}" if numbers else ""
    return note + (f"\n\n**This looks like more than one digit**{reads}. This tab reads one; the "
                   "**Numbers** tab boxes every number.")


def problem_note(err: Exception, kind: str = "upload") -> str:
    """The note for an input that could not be read, in plain words."""
    if isinstance(err, NoDigitError):
        return f"**No digit found.** {capital(str(err).removeprefix('no digit found: '))}"
    if isinstance(err, InputError):
        if str(err).startswith(NOT_READABLE):
            return f"**Can't read this file:** it is not an image. {capital(str(err)[len(NOT_READABLE):])}."
        return f"**Can't read this {'drawing' if kind == 'pad' else 'image'}.** {capital(str(err))}"
    LOG.error("unexpected error", exc_info=err)  # the page must keep working whatever a decoder does
    return "**Something went wrong reading this image.** Try another file."


def digit_outputs(reader: Reader, kind: str, value: Any, view: str | None = VIEW_OFF) -> tuple:
    """A digit tab's outputs, (label, what the model saw, note), for an input of `kind`; with a
    view other than VIEW_OFF, the picture shows where the model found the evidence for the top
    answer or the runner-up, as bright as that digit is likely (a 0% runner-up shows no heat)."""
    explain = view in (VIEW_TOP, VIEW_RUNNER_UP)

    def read(source: Any) -> tuple[DigitResult, PageResult | None]:
        digit = reader.read_digit(source, explain)
        return digit, reader.read_page(source) if digit.several else None

    try:
        found = read_input(kind, value, read)
    except Exception as err:
        return None, None, problem_note(err, kind)
    if found is None:
        return None, None, EMPTY_NOTES[kind]
    result, page = found
    shown = {VIEW_TOP: result.digit, VIEW_RUNNER_UP: result.runner_up}.get(view)
    if shown is None:
        seen = Image.fromarray(seen_pixels(result.model_input)).resize((SEEN_SIDE, SEEN_SIDE), Image.NEAREST)
        return result.top(3), seen, note_for(result, page)
    chance = result.probabilities[shown]
    why = (f"\n\nThe colours show where the model found the evidence for **{shown}** "
           f"({chance:.0%}). {HEAT_SCALE}")
    return (result.top(3), overlay(result.model_input, result.heatmap(shown) * chance),
            note_for(result, page) + why)


def number_outputs(reader: Reader, kind: str, value: Any) -> tuple:
    """/read_number_sketch's outputs, (annotated image, note): the number's digits boxed."""
    return boxed_outputs(reader.read_number, number_shown, kind, value)


def page_outputs(reader: Reader, kind: str, value: Any) -> tuple:
    """The Numbers tab's outputs, (annotated image, note): every number written, on one line or
    several, boxed and labelled on the picture, and the list as text to copy."""
    return boxed_outputs(reader.read_page, page_shown, kind, value)


def boxed_outputs(read: Callable[[Any], Any], shown: Callable[[Any, Image.Image], tuple[list, str]],
                  kind: str, value: Any) -> tuple:
    """(the picture with the boxes of what `read` found, the note), as `shown` makes them, for an
    input of `kind`; either says when the writing runs into the picture's edge."""
    try:
        found = read_input(kind, value, lambda source: (read(source), shown_image(source)))
    except Exception as err:
        return None, problem_note(err, kind)
    if found is None:
        return None, EMPTY_NUMBER
    result, image = found
    boxes, note = shown(result, image)
    return (image, boxes), note + (f"\n\n{capital(CUT_OFF)}." if result.cut_off else "")


def page_shown(result: PageResult, image: Image.Image) -> tuple[list, str]:
    """One number: each character boxed; several: each number boxed, and listed in the note."""
    if not result.numbers:
        return [], f"**No number found.** {capital(result.note or '')}"
    if len(result.numbers) == 1:
        (number,) = result.numbers
        boxes, note = line_shown(number.number, "character", image, [
            (c.char, c.confidence, unsure_of(c.confidence, False), c.box) for c in number.characters])
    else:
        boxes = [(shown_box(n.box, image), n.number) for n in result.numbers]
        listed = "\n".join(n.number for n in result.numbers)
        note = f"**{len(result.numbers)} numbers**, top to bottom, then left to right:\n\n```\n{listed}\n```"
        if doubtful := [n.number for n in result.numbers
                        if unsure_of(min(c.confidence for c in n.characters), False)]:
            note += f"\nNot sure about {', '.join(doubtful)}: write them clearer."
    return boxes, note + (f"\n\n{capital(result.note)}." if result.note else "")


def number_shown(result: NumberResult, image: Image.Image) -> tuple[list, str]:
    boxes, note = line_shown(result.number, "digit", image,
                             [(d.digit, d.confidence, d.unsure, d.box) for d in result.digits])
    if result.lines > 1:
        note += f"\n\n**This is {result.lines} lines of writing**, read here as one number."
    return boxes, note


def line_shown(text: str, noun: str, image: Image.Image,
               marks: list[tuple[Any, float, bool, tuple[int, int, int, int]]]) -> tuple[list, str]:
    """A number read on one line: each (mark, confidence, unsure, box) boxed on `image`; the note
    gives the number, and each mark it is not sure of."""
    boxes = [(shown_box(box, image), f"{mark} ({confidence:.0%})") for mark, confidence, _, box in marks]
    unsure = ", ".join(f"**{mark}** (position {i}, {confidence:.0%})"
                       for i, (mark, confidence, doubt, _) in enumerate(marks, 1) if doubt)
    advice = f" Not sure about {unsure}: write it clearer, apart from the others." if unsure else ""
    return boxes, f"## {text}\n{len(marks)} {noun}(s), left to right.{advice}"


def shown_box(box: tuple[int, int, int, int], image: Image.Image) -> tuple[int, int, int, int]:
    """A box in the pixels the image was sent with → on the shown picture (a big one is shown as
    decoded, reduced)."""
    sx, sy = (shown / sent for shown, sent in zip(image.size, original_size(image), strict=True))
    return round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy)


def shown_image(source: Any) -> Image.Image:
    """The picture to draw the boxes on, upright as the boxes are (EXIF applied). A drawing's strokes
    on a transparent field are shown in INK_SHOWN on that field, whatever the theme drew them in."""
    image = open_image(source)
    if image.mode in ("RGBA", "LA") and (np.asarray(image.getchannel("A")) < 128).mean() > 0.5:
        shown = Image.new("RGBA", image.size, (*INK_SHOWN, 0))
        shown.putalpha(image.getchannel("A"))
        return shown
    return image.convert("RGB")

