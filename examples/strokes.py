"""Handwriting-like pen strokes for the ten digits, in a unit box (x right, y down).

One source for the example images the demo offers and for the browser tests, which draw these
same strokes with the mouse the way a person would.
"""

from __future__ import annotations

Stroke = list[tuple[float, float]]

DIGIT_STROKES: dict[int, list[Stroke]] = {
    0: [[(0.50, 0.05), (0.25, 0.18), (0.17, 0.50), (0.27, 0.85), (0.50, 0.96), (0.73, 0.84),
         (0.83, 0.50), (0.74, 0.16), (0.50, 0.05)]],
    1: [[(0.36, 0.22), (0.58, 0.04), (0.55, 0.96)]],
    2: [[(0.20, 0.26), (0.36, 0.08), (0.60, 0.05), (0.78, 0.20), (0.74, 0.42), (0.20, 0.92),
         (0.86, 0.92)]],
    3: [[(0.20, 0.14), (0.48, 0.03), (0.74, 0.15), (0.72, 0.36), (0.44, 0.49), (0.76, 0.60),
         (0.79, 0.82), (0.50, 0.97), (0.18, 0.88)]],
    4: [[(0.58, 0.04), (0.14, 0.66), (0.88, 0.66)], [(0.64, 0.30), (0.64, 0.97)]],
    5: [[(0.78, 0.05), (0.32, 0.05), (0.26, 0.46), (0.56, 0.40), (0.79, 0.56), (0.78, 0.82),
         (0.50, 0.96), (0.20, 0.87)]],
    6: [[(0.70, 0.04), (0.40, 0.26), (0.22, 0.60), (0.30, 0.90), (0.55, 0.97), (0.76, 0.80),
         (0.70, 0.57), (0.45, 0.51), (0.24, 0.66)]],
    7: [[(0.14, 0.07), (0.86, 0.07), (0.40, 0.96)]],
    8: [[(0.72, 0.20), (0.50, 0.04), (0.28, 0.18), (0.34, 0.40), (0.66, 0.60), (0.73, 0.82),
         (0.50, 0.97), (0.27, 0.82), (0.34, 0.60), (0.66, 0.40), (0.72, 0.20)]],
    9: [[(0.76, 0.30), (0.55, 0.07), (0.30, 0.14), (0.27, 0.38), (0.50, 0.49), (0.76, 0.30),
         (0.72, 0.62), (0.62, 0.96)]],
}


def smooth(stroke: Stroke, per_segment: int = 6) -> Stroke:
    """Catmull-Rom through the points, so strokes curve like a pen rather than zig-zag."""
    if len(stroke) < 3:
        return list(stroke)
    pts = [stroke[0], *stroke, stroke[-1]]
    out: Stroke = []
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for k in range(per_segment):
            t = k / per_segment
            out.append(tuple(
                0.5 * (2 * p1[d] + (-p0[d] + p2[d]) * t + (2 * p0[d] - 5 * p1[d] + 4 * p2[d] - p3[d]) * t * t
                       + (-p0[d] + 3 * p1[d] - 3 * p2[d] + p3[d]) * t ** 3)
                for d in (0, 1)))
    out.append(stroke[-1])
    return out


def digit_strokes(digit: int, x: float, y: float, width: float, height: float,
                  per_segment: int = 6) -> list[Stroke]:
    """The digit's strokes placed in the box (x, y, width, height), in pixels."""
    return [[(x + px * width, y + py * height) for px, py in smooth(stroke, per_segment)]
            for stroke in DIGIT_STROKES[digit]]
