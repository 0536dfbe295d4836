"""Where the shipped models are, in a checkout and in an installed copy: one rule for both.

A checkout keeps them in models/ at the repository root (where `make export` writes them);
`pip install .` carries the same files inside the package as serving/models/ (pyproject.toml maps
models/ there as package data). The package's own folder wins when it has them.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
MODELS_DIR = _PACKAGE / "models" if (_PACKAGE / "models").is_dir() else _PACKAGE.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "digitnet.onnx"
DEFAULT_NUMBER_MODEL = MODELS_DIR / "numbernet.onnx"
DEFAULT_MARK_MODEL = MODELS_DIR / "marknet.onnx"
