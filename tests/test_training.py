"""A --limit training run that really learns, resumes, and writes its plots; augmentation."""

from __future__ import annotations

import json

import pytest
import torch

import training.train as train_module
from training.augment import augment
from training.conventions import ConventionConfig, add_conventions, pen_width
from training.model import DigitNet, count_parameters
from training.train import main as train_main

SMALL_RUN = ["--limit", "2000", "--test-limit", "500", "--batch-size", "64", "--threads", "2"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert train_main([*SMALL_RUN, "--epochs", "3", "--out", str(out)]) == 0
    return out


def test_small_run_learns(small_run):
    history = json.loads((small_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"] * 0.8
    assert history[-1]["test_acc"] > 0.5  # ten classes: chance is 0.1


def test_small_run_writes_everything_export_needs(small_run):
    for name in ("checkpoint.pt", "history.json", "run.json", "curves.png", "confusion.png",
                 "mistakes.png"):
        assert (small_run / name).stat().st_size > 0, name
    run = json.loads((small_run / "run.json").read_text())
    assert run["command"].startswith("python -m training.train --limit 2000")
    assert run["machine"]["cores"] >= 1 and run["wall_time_s"] > 0


def test_resume_from_checkpoint_matches_straight_run(tmp_path, monkeypatch):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    args = [*SMALL_RUN, "--limit", "128", "--epochs", "2"]
    assert train_main([*args, "--out", str(straight)]) == 0
    # Stop after the first epoch by making the second one raise, then resume.
    real_epoch = train_module.train_epoch
    calls = {"n": 0}

    def stop_on_second(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(*a, **k)

    monkeypatch.setattr(train_module, "train_epoch", stop_on_second)
    with pytest.raises(KeyboardInterrupt):
        train_main([*args, "--out", str(resumed)])
    monkeypatch.setattr(train_module, "train_epoch", real_epoch)
    assert train_main([*args, "--out", str(resumed), "--resume"]) == 0
    a = json.loads((straight / "history.json").read_text())
    b = json.loads((resumed / "history.json").read_text())
    assert [h["epoch"] for h in b] == [1, 2]
    assert a[-1]["test_loss"] == pytest.approx(b[-1]["test_loss"], rel=1e-5)


def test_model_takes_raw_pixels_and_is_small():
    model = DigitNet().eval()
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert 100_000 < count_parameters(model) < 500_000  # ≤ 2 MB as fp32 ONNX


def test_augment_keeps_shape_range_and_varies_stroke_width():
    gen = torch.Generator().manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 6:22, 12:15] = 1.0  # a "1", 3 pixels wide
    out = augment(x, gen)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    ink = out.sum(dim=(1, 2, 3))
    assert ink.std() / ink.mean() > 0.1  # thinner and thicker strokes, not one width
    assert not torch.equal(augment(x, torch.Generator().manual_seed(1)), out)


def upright_one(n: int, width: int = 2) -> torch.Tensor:
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 4:24, 14 : 14 + width] = 1.0
    return x


def test_conventions_add_strokes_to_their_digits_only():
    gen = torch.Generator().manual_seed(0)
    x = upright_one(40)
    y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9] * 4)
    out = add_conventions(x, y, gen, ConventionConfig(flag_1=1, foot_1=0, bar_7=1, slash_0=1, loop_2=1))
    changed = (out != x).flatten(1).any(1)
    assert changed[torch.isin(y, torch.tensor([0, 1, 2, 7]))].all()
    assert not changed[~torch.isin(y, torch.tensor([0, 1, 2, 7]))].any()
    assert (out >= x).all() and out.max() <= 1  # strokes are added, nothing erased


def test_pen_width_is_measured_from_the_digit():
    for width in (2, 3, 4):
        assert abs(float(pen_width(upright_one(1, width)[:, 0])[0]) - width) < 0.8


def test_a_flag_leaves_the_top_of_a_one_down_and_left_not_as_a_bar():
    gen = torch.Generator().manual_seed(0)
    x = upright_one(200)
    y = torch.ones(200, dtype=torch.long)
    out = add_conventions(x, y, gen, ConventionConfig(flag_1=1, foot_1=0))
    added = (out - x)[:, 0]
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    mass = added.sum((1, 2))
    dx = 14.5 - (added * xs).sum((1, 2)) / mass  # left of the stem
    dy = (added * ys).sum((1, 2)) / mass - 4  # below the top
    angle_from_stem = torch.rad2deg(torch.atan2(dx, dy))
    assert (dx > 0).all() and (dy > 0).all()
    # A 7's top is a bar at about 90° from its stem; a flag stays well inside that.
    assert angle_from_stem.max() < 65 and angle_from_stem.min() > 10
