"""Why this answer: the heatmap of where the model found its evidence, in serving and every interface."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from bench.common import from_onnx
from serving import ModelError, Predictor
from serving.explain import heatmap, seen_pixels
from serving.records import digit_fields
from training.model import FIRST_SURE

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def digits(mnist) -> tuple[np.ndarray, np.ndarray]:
    """The first 200 MNIST test digits as the model takes them (28×28 floats in 0–1)."""
    images = mnist.test_images[:200].astype(np.float32)
    return (images / 255 if images.max() > 1 else images), mnist.test_labels[:200]


def dilated(mask: np.ndarray, radius: int) -> np.ndarray:
    grown = np.pad(mask, radius)
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= grown[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
    return out


def ink_share(heat: np.ndarray, model_input: np.ndarray) -> float:
    """The share of the heatmap's mass within 2 pixels of the ink."""
    return float(heat[dilated(model_input > 0.3, 2)].sum() / heat.sum())


def test_heatmap_mass_lies_on_the_ink(predictor: Predictor, digits) -> None:
    images, _ = digits
    probs, maps = predictor.explained(images)
    heats = [heatmap(m[p.argmax()]) for m, p in zip(maps, probs, strict=True)]
    shares = [ink_share(h, x) for h, x in zip(heats, images, strict=True)]
    # The ink and 2 pixels around it cover about a third of the image.
    assert np.median(shares) > 0.75 and np.percentile(shares, 10) > 0.6, np.percentile(shares, [10, 50])
    on_ink = np.mean([h[x > 0.3].mean() for h, x in zip(heats, images, strict=True)])
    off_ink = np.mean([h[~dilated(x > 0.3, 2)].mean() for h, x in zip(heats, images, strict=True)])
    assert on_ink > 5 * off_ink, (on_ink, off_ink)
    assert all(h.shape == (28, 28) and h.dtype == np.float32 and h.min() >= 0 and h.max() == 1 for h in heats)


def test_heatmaps_differ_between_classes(predictor: Predictor, digits) -> None:
    images, labels = digits
    for x in images[:20]:
        result = predictor.predict_batch([x], explain=True)[0]
        top, runner_up = result.heatmap(), result.heatmap(result.runner_up)
        assert result.runner_up != result.digit
        assert np.abs(top - runner_up).mean() > 0.04
    # A 1's evidence for "1" lies along its stroke; its evidence for "0" does not.
    one = images[list(labels).index(1)]
    result = predictor.predict_batch([one], explain=True)[0]
    assert ink_share(result.heatmap(1), one) > ink_share(result.heatmap(0), one) + 0.1


def reference_maps(model_path: Path, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 10, 7, 7) class maps computed here from the model file's weights (rebuilt as PyTorch
    members): each member's last feature map weighted by its linear layer; the first member's
    alone for an image it is sure of (training.model.FIRST_SURE), the members' mean for the
    others. Also which images the first member was sure of."""
    members = from_onnx(model_path).members
    x = torch.from_numpy(batch.reshape(-1, 1, 28, 28))
    with torch.no_grad():
        per_member = np.array([np.einsum("kc,nchw->nkhw", m.head.weight.numpy(),
                                         m.feature_map(x).numpy()) for m in members])
        alone = torch.softmax(members[0](x), 1).numpy().max(1) >= FIRST_SURE
    return np.where(alone[:, None, None, None], per_member[0], per_member.mean(0)), alone


def test_heatmap_equals_a_reference_from_the_weights(predictor: Predictor, model_path: Path,
                                                      digits) -> None:
    images, _ = digits
    # Clear digits, and two digits laid over each other (the first member is unsure of those).
    batch = list(images[:6]) + [np.maximum(images[i], images[i + 1]) for i in (10, 20, 30)]
    results = predictor.predict_batch(batch, explain=True)
    reference, alone = reference_maps(model_path, np.stack([r.model_input for r in results]))
    assert alone.any() and not alone.all()  # both kinds of image in one batch
    for ref, result in zip(reference, results, strict=True):
        for digit in (result.digit, result.runner_up):
            cam = torch.from_numpy(np.maximum(ref[digit], 0))[None, None]
            expected = F.interpolate(cam, size=(28, 28), mode="bilinear", align_corners=False)[0, 0].numpy()
            np.testing.assert_allclose(result.heatmap(digit), expected / expected.max(), atol=2e-3)


def test_explain_off_changes_nothing(predictor: Predictor, digits) -> None:
    images, _ = digits
    plain = predictor.predict_batch([images[0]])
    explained = predictor.predict_batch([images[0]], explain=True)
    assert plain[0].class_maps is None and explained[0].class_maps.shape == (10, 7, 7)
    np.testing.assert_allclose(plain[0].probabilities, explained[0].probabilities, rtol=1e-6)
    assert set(digit_fields(plain[0])) == {"digit", "confidence", "probabilities", "unsure"}
    assert predictor.session.get_outputs()[0].name == "logits"  # the served output stays first
    with pytest.raises(ValueError, match="explain=True"):
        plain[0].heatmap()


def test_a_model_without_class_maps_is_refused(model_path: Path, tmp_path: Path) -> None:
    model = onnx.load(str(model_path))
    kept = [o for o in model.graph.output if o.name != "class_maps"]
    del model.graph.output[:]
    model.graph.output.extend(kept)
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(ModelError, match="class_maps"):
        Predictor(bare, verify=False)


def test_cli_explain(run_cli, tmp_path: Path) -> None:
    files = sorted(EXAMPLES.glob("[0-9]_*.*"))[:2]
    status, plain = run_cli(*files)
    status_explained, explained = run_cli("--explain", *files)
    assert status == status_explained == 0
    for a, b in zip(plain, explained, strict=True):
        assert "heatmap" not in a and {k: b[k] for k in a} == a
        heat, seen = np.array(b["heatmap"]), np.array(b["seen"])
        assert heat.shape == seen.shape == (28, 28)
        assert 0 <= heat.min() and heat.max() == 1
        assert seen.dtype.kind == "i" and 0 <= seen.min() <= seen.max() <= 255
        assert ink_share(heat, seen / 255) > 0.6


def post(url: str, body: bytes) -> tuple[int, object]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_rest_and_gradio_api_explain_as_the_cli(demo_server, client, run_cli) -> None:
    from gradio_client import handle_file

    image = sorted(EXAMPLES.glob("[0-9]_*.*"))[0]
    _, (cli,) = run_cli("--explain", image)
    cli.pop("file")
    body = json.dumps({"images": [base64.b64encode(image.read_bytes()).decode()]}).encode()
    status, (rest,) = post(demo_server.url + "api/predict?explain=true", body)
    assert status == 200 and {k: v for k, v in rest.items() if k != "file"} == cli
    status, (plain,) = post(demo_server.url + "api/predict", body)
    assert status == 200 and "heatmap" not in plain and "seen" not in plain
    status, error = post(demo_server.url + "api/predict?explain=banana", body)
    assert status == 400 and "explain" in error["error"]
    assert client.predict(handle_file(str(image)), api_name="/explain") == cli
    assert "heatmap" not in client.predict(handle_file(str(image)), api_name="/predict")
    label = client.predict(handle_file(str(image)), api_name="/predict_upload")[0]  # the UI's view: off
    assert label["label"] == str(cli["digit"])


def test_the_apps_toggle_shows_the_top_answer_and_the_runner_up(model_path: Path) -> None:
    from app.ui.answers import VIEW_RUNNER_UP, VIEW_TOP, digit_outputs
    from serving import Reader

    reader = Reader(model_path)
    image = str(sorted(EXAMPLES.glob("[0-9]_*.*"))[0])
    label, plain, note = digit_outputs(reader, "upload", image)
    _, top, top_note = digit_outputs(reader, "upload", image, VIEW_TOP)
    _, runner, runner_note = digit_outputs(reader, "upload", image, VIEW_RUNNER_UP)
    result = reader.read_digit(image, explain=True)
    assert top.size == plain.size == runner.size == (224, 224)
    pixels = [np.asarray(p.convert("RGB"), np.float32) for p in (plain, top, runner)]
    assert np.abs(pixels[0] - pixels[1]).mean() > 5 and np.abs(pixels[1] - pixels[2]).mean() > 2
    assert f"evidence for **{result.digit}**" in top_note
    assert f"evidence for **{result.runner_up}**" in runner_note
    assert "evidence" not in note and top_note.startswith(note)
    # The warm colours sit where the heatmap is: the reddest pixels lie on its hot part.
    redness = pixels[1][..., 0] - pixels[1][..., 2]
    heat = np.kron(result.heatmap(), np.ones((8, 8)))
    assert heat[redness > np.percentile(redness, 90)].mean() > 3 * heat.mean()
    assert np.array_equal(seen_pixels(result.model_input), np.rint(result.model_input * 255))

