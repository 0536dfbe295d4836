"""The not-a-digit check: marks that are no digit against digits, read as the app reads one picture.

Marks (fresh ones of training/marks.py's kinds, from a seed training never used) and typeset
letters that no digit resembles should come back flagged; digits (MNIST validation digits on paper,
plain and with a writing convention drawn on, and pad-like drawn digits) should not. Exit status 1
when more than MAX_UNFLAGGED of the marks are answered as a digit without a flag, or more than
MAX_FLAGGED of the plain digits are flagged.
"""

from __future__ import annotations

import glob
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from bench.common import made_images_parser, md_table
from serving.decode import InputError
from serving.paths import DEFAULT_MARK_MODEL
from serving.predictor import MarkCheck, Predictor
from training.conventions import add_conventions
from training.data import DataError, load_mnist
from training.marks import drawn_digit, mark_image, mnist_on_paper

MAX_UNFLAGGED = 0.10  # the bar for marks answered as a digit without a flag
MAX_FLAGGED = 0.005
LETTERS = "ABCDEFGHKMNPQRTUVWXYacdefhkmnrtuvwxy"  # none looks like a digit (no O, l, S, Z, b, g, q)
FONTS = "/usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf"


def letters() -> list[Image.Image]:
    """LETTERS typeset large, black on white, in up to six DejaVu Sans faces (Pillow's own face
    where none is installed)."""
    out = []
    faces = [ImageFont.truetype(path, 150) for path in sorted(glob.glob(FONTS))[:6]]
    for font in faces or [ImageFont.load_default(150)]:
        for char in LETTERS:
            picture = Image.new("L", (220, 220), 255)
            ImageDraw.Draw(picture).text((40, 10), char, font=font, fill=0)
            out.append(picture)
    return out


def sets(count: int, seed: int) -> dict[str, tuple[list[Image.Image], bool]]:
    """Name → (pictures, whether they are marks)."""
    rng = np.random.default_rng((seed, 4242))
    data = load_mnist()
    images, labels = data.validation_images[:count], data.validation_labels[:count]
    written = add_conventions(torch.from_numpy(images).float()[:, None] / 255, torch.from_numpy(labels),
                              torch.Generator().manual_seed(seed))
    conventions = (written[:, 0] * 255).round().to(torch.uint8).numpy()
    drawn_on = np.flatnonzero((conventions != images).reshape(len(images), -1).any(axis=1))
    marks = [mark_image(rng) for _ in range(count)]
    plain = [mnist_on_paper(x, rng) for x in images]
    with_one = [mnist_on_paper(conventions[i], rng) for i in drawn_on]
    drawn = [drawn_digit(int(rng.integers(10)), rng) for _ in range(count // 2)]
    return {"fresh marks (training/marks.py's kinds, a fresh seed)": (marks, True),
            "typeset letters no digit resembles": (letters(), True),
            "MNIST validation digits on paper": (plain, False),
            "the same, a writing convention drawn on": (with_one, False),
            "pad-like drawn digits": (drawn, False)}


def flagged_and_unflagged(predictor: Predictor, pictures: list[Image.Image]) -> tuple[int, int, int]:
    """(read, flagged as not a digit, answered as a digit with no flag at all) of the pictures."""
    results = [r for r in predictor.predict_batch(pictures) if not isinstance(r, InputError)]
    return len(results), sum(r.not_digit for r in results), sum(not r.unsure for r in results)


def main(argv: list[str] | None = None) -> int:
    p = made_images_parser(__doc__, 1000, "marks, and as many MNIST validation digits")
    p.add_argument("--marks-model", default=str(DEFAULT_MARK_MODEL), help="the not-a-digit check to measure")
    args = p.parse_args(argv)
    try:
        made = sets(args.count, args.seed)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    predictor = Predictor(args.model, verify=not args.no_verify)
    predictor.marks = MarkCheck(args.marks_model, verify=not args.no_verify)
    rows, judged = [], {}
    for name, (pictures, marks) in made.items():
        read, flagged, unflagged = flagged_and_unflagged(predictor, pictures)
        judged[name] = (unflagged if marks else flagged) / max(read, 1)
        rows.append((name, read, *(f"{100 * n / max(read, 1):.1f}%" for n in (flagged, unflagged))))
    print(f"not-a-digit check: {args.marks_model} (threshold {predictor.marks.threshold:.4f})\n")
    print(md_table(["pictures", "read", "flagged: not a digit", "answered as a digit, unflagged"], rows))
    marks, digits = judged[next(iter(made))], judged["MNIST validation digits on paper"]
    ok = marks <= MAX_UNFLAGGED and digits <= MAX_FLAGGED
    print(f"\n{'PASS' if ok else 'FAIL'}: marks answered unflagged {100 * marks:.1f}% "
          f"(≤ {100 * MAX_UNFLAGGED:.0f}%), plain digits flagged {100 * digits:.1f}% "
          f"(≤ {100 * MAX_FLAGGED:.1f}%)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
