"""A --limit training run that really learns, chooses on validation, resumes, and writes its plots;
the model's named parts and its checkpoint's config; augmentation."""

from __future__ import annotations

import json

import pytest
import torch

import training.train as train_module
from serving.contract import DIGITS, FIELD, MAP_SIDE
from training import checkpoint
from training.conventions import ConventionConfig, add_conventions, augment, pen_width
from training.model import DigitNet, count_parameters, current_names
from training.train import main as train_main
from training.train import parse_args

SMALL_RUN = ["--limit", "2000", "--val-limit", "500", "--test-limit", "500", "--batch-size", "64",
             "--threads", "2"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert train_main([*SMALL_RUN, "--epochs", "3", "--out", str(out)]) == 0
    return out


def test_small_run_learns(small_run):
    history = json.loads((small_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"] * 0.8
    assert history[-1]["val_acc"] > 0.5  # ten classes: chance is 0.1
    assert not any(key.startswith("test") for h in history for key in h)  # chosen on validation only


def test_the_epoch_that_reads_validation_best_is_chosen_and_test_is_measured_once(small_run):
    history = json.loads((small_run / "history.json").read_text())
    run = json.loads((small_run / "run.json").read_text())
    best = max(h["val_acc"] for h in history)
    assert run["chosen_epoch"] == max(h["epoch"] for h in history if h["val_acc"] == best)
    assert run["validation_accuracy"] == best and run["validation_images"] == 500
    assert run["test_images"] == 500 and 0.5 < run["test_accuracy"] <= 1
    state = checkpoint.read(small_run / "checkpoint.pt")
    assert state["chosen"] == {"epoch": run["chosen_epoch"], "validation_accuracy": best}


def test_a_checkpoint_rebuilds_its_model_from_its_config(tmp_path):
    out = tmp_path / "narrow"
    assert train_main([*SMALL_RUN, "--limit", "64", "--epochs", "1", "--width", "8", "--dropout", "0.1",
                       "--out", str(out)]) == 0
    state = checkpoint.read(out / "checkpoint.pt")
    assert state["config"] == {"width": 8, "dropout": 0.1}
    model = checkpoint.digit_net(state)  # no width given: the checkpoint says it
    assert model.config == state["config"] and model.head.in_features == 4 * 8
    assert not model.training


@pytest.mark.slow
def test_resuming_a_finished_run_says_so_and_changes_nothing(tmp_path, capsys):
    args = [*SMALL_RUN, "--limit", "64", "--epochs", "1", "--out", str(tmp_path)]
    assert train_main(args) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    assert train_main([*args, "--resume"]) == 0
    assert "the run is complete (1 of 1 epochs); nothing to do" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    # a checkpoint from before runs chose on validation (they learnt from it) is not resumed
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    del state["chosen"]
    torch.save(state, tmp_path / "checkpoint.pt")
    assert train_main([*args, "--epochs", "2", "--resume"]) == 2
    assert "without --resume" in capsys.readouterr().err


def test_small_run_writes_everything_export_needs(small_run):
    for name in ("checkpoint.pt", "history.json", "run.json", "curves.png", "confusion.png",
                 "mistakes.png"):
        assert (small_run / name).stat().st_size > 0, name
    run = json.loads((small_run / "run.json").read_text())
    assert run["command"].startswith("python -m training.train --limit 2000")
    assert run["machine"]["cores"] >= 1 and run["wall_time_s"] > 0


@pytest.mark.slow
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
    assert a[-1]["val_loss"] == pytest.approx(b[-1]["val_loss"], rel=1e-5)


def test_the_device_is_the_cpu_unless_asked():
    assert parse_args([]).device == "cpu"
    assert parse_args(["--device", "cpu"]).device == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: --device cuda trains")
def test_asking_for_a_gpu_where_there_is_none_says_so(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        train_main(["--device", "cuda", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert "no CUDA GPU is available here" in capsys.readouterr().err


def test_model_takes_raw_pixels_and_is_small():
    model = DigitNet().eval()
    assert model(torch.rand(3, 1, FIELD, FIELD)).shape == (3, DIGITS)
    assert 100_000 < count_parameters(model) < 500_000  # ≤ 2 MB as fp32 ONNX


def test_the_parts_are_named_and_the_head_reads_the_body_map():
    model = DigitNet(width=8).eval()
    x = torch.rand(2, 1, FIELD, FIELD)
    features = model.feature_map(x)
    assert features.shape == (2, 4 * 8, MAP_SIDE, MAP_SIDE)
    assert torch.allclose(model(x), model.head(features.mean((2, 3))))


def test_weights_named_before_the_parts_were_named_still_load():
    model = DigitNet(width=8).eval()
    before = {key.replace("body.", "features.").replace("head.", "classifier.1."): value
              for key, value in model.state_dict().items()}
    assert "classifier.1.weight" in before and "features.6.0.weight" in before
    rebuilt = DigitNet(width=8).eval()
    rebuilt.load_state_dict(current_names(before))
    x = torch.rand(2, 1, FIELD, FIELD)
    assert torch.equal(rebuilt(x), model(x))
    ensemble = {"members.1.features.0.1.bias": 1, "members.0.classifier.1.weight": 2, "body.0.0.weight": 3}
    assert current_names(ensemble) == {"members.1.body.0.1.bias": 1, "members.0.head.weight": 2,
                                       "body.0.0.weight": 3}


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


def test_extra_images_are_learnt_as_they_are_only_when_asked():
    """--extra-as-is: the images --extra appended (page digits, already what serving makes of a
    photo) skip augmentation and conventions; MNIST's in the same batch are still varied."""
    x = torch.zeros(8, 1, FIELD, FIELD)
    x[:, :, 6:22, 12:16] = 1.0  # a "1" in each
    y = torch.ones(8, dtype=torch.long)
    idx = torch.arange(8)
    for flags, kept in (([], 0), (["--extra-as-is"], 4)):
        args = parse_args(flags)
        args.first_extra = 4  # images 4–7 are --extra's
        out = train_module.varied(x, y, idx, args, torch.Generator().manual_seed(0))
        same = [bool(torch.equal(out[i], x[i])) for i in range(8)]
        assert same == [False] * (8 - kept) + [True] * kept
