"""serving.components against a plain flood fill on random and tricky masks."""

from collections import deque

import numpy as np
import pytest

from serving.components import label_components


def flood_fill_partition(mask: np.ndarray) -> set[frozenset[tuple[int, int]]]:
    """The 8-connected components of `mask` as sets of pixels, the slow obvious way."""
    h, w = mask.shape
    seen = np.zeros_like(mask, bool)
    parts = set()
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        part, queue = set(), deque([(y, x)])
        seen[y, x] = True
        while queue:
            cy, cx = queue.popleft()
            part.add((cy, cx))
            for ny in range(max(0, cy - 1), min(h, cy + 2)):
                for nx in range(max(0, cx - 1), min(w, cx + 2)):
                    if mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        parts.add(frozenset(part))
    return parts


def check_against_flood_fill(mask: np.ndarray) -> None:
    found = label_components(mask)
    expected = flood_fill_partition(mask)
    assert found.count == len(expected)
    assert ((found.labels > 0) == mask).all()
    # Numbered in the order their first pixels come in row-major order.
    firsts = [int(np.flatnonzero(found.labels.ravel() == label)[0]) for label in range(1, found.count + 1)]
    assert firsts == sorted(firsts)
    for label in range(1, found.count + 1):
        ys, xs = np.nonzero(found.labels == label)
        assert frozenset(zip(ys.tolist(), xs.tolist(), strict=True)) in expected
        assert found.area[label - 1] == len(ys)
        assert found.boxes[label - 1].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


@pytest.mark.parametrize("seed", range(40))
def test_random_masks_match_flood_fill(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
    check_against_flood_fill(rng.random(shape) < rng.uniform(0.1, 0.7))


def test_shapes_that_join_late() -> None:
    # A comb joined only by its bottom row, and a diagonal line (connected only diagonally).
    comb = np.zeros((12, 21), bool)
    comb[:, ::2] = True
    comb[-1] = True
    diagonal = np.eye(15, dtype=bool)[::-1]
    for mask in (comb, diagonal):
        check_against_flood_fill(mask)
        assert label_components(mask).count == 1


def test_empty_mask() -> None:
    found = label_components(np.zeros((5, 7), bool))
    assert found.count == 0 and found.labels.shape == (5, 7) and not found.labels.any()
