"""Serving and the demo run without PyTorch: importing them must not import torch."""

from __future__ import annotations

import subprocess
import sys


def test_serving_and_demo_do_not_import_torch():
    code = ("import sys, serving, serving.__main__, serving.cli, demo; "
            "from serving import Reader; Reader().read_number('examples/number_2026.png'); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'scipy')); "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_requirements_for_serving_leave_torch_out():
    import re
    from pathlib import Path

    lines = Path("requirements.txt").read_text().lower().splitlines()
    # the name before any extras ([mcp]), version specifier or comment
    packages = [re.split(r"[\[=<>~;# ]", line, maxsplit=1)[0] for line in lines if line and line[0] != "#"]
    assert "torch" not in packages and "onnxruntime" in packages and "gradio" in packages
