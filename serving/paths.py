"""Where the shipped models are: models/ at a checkout's root (where `make export` writes them), or
serving/models/ in an installed copy (pyproject.toml maps models/ there), which wins when present."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
MODELS_DIR = _PACKAGE / "models" if (_PACKAGE / "models").is_dir() else _PACKAGE.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "digitnet.onnx"
DEFAULT_NUMBER_MODEL = MODELS_DIR / "numbernet.onnx"
DEFAULT_MARK_MODEL = MODELS_DIR / "marknet.onnx"
