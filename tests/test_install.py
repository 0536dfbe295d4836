"""`pip install .`: the torch-free reader with its models and the `digits` command, and pyproject.toml's
lists kept equal to the tree and to requirements*.txt (which a Space and `make` install)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SELF = PYPROJECT["project"]["name"]
INSTALL_TIMEOUT_S = 600  # a few seconds from a warm pip cache; a cold one downloads onnxruntime


def pins(requirements: str) -> list[str]:
    """The file's own requirement lines, without comments and without what it includes (-r)."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / requirements).read_text().splitlines())
    return sorted(line.replace(" ", "") for line in lines if line and not line.startswith("-r"))


def extra(name: str) -> list[str]:
    """An extra's requirements, without the other extras it names (digit-reader[app])."""
    return sorted(r for r in PYPROJECT["project"]["optional-dependencies"][name] if not r.startswith(SELF))


def test_dependencies_are_the_requirements_files_pins():
    project = PYPROJECT["project"]
    assert sorted(project["dependencies"] + extra("app")) == pins("requirements.txt")
    assert extra("train") == pins("requirements-train.txt")
    assert extra("scale") == pins("requirements-scale.txt")
    assert extra("test") == pins("requirements-test.txt")
    assert not any(r.startswith("torch") for r in project["dependencies"] + extra("app"))
    assert "torch==2.13.0" in extra("train")  # exact: a range pulls a multi-GB CUDA build


def python_packages(top: str) -> set[str]:
    return {".".join(folder.relative_to(ROOT).parts) for folder in [ROOT / top, *(ROOT / top).rglob("*")]
            if folder.is_dir() and any(folder.glob("*.py"))}


def test_the_wheel_holds_every_package_of_serving_and_the_app():
    tree = python_packages("serving") | python_packages("app") | {"serving.models"}
    assert set(PYPROJECT["tool"]["setuptools"]["packages"]) == tree


def test_the_wheel_carries_the_served_models_and_their_cards():
    from serving.paths import DEFAULT_MODEL, DEFAULT_NUMBER_MODEL, MODELS_DIR

    assert MODELS_DIR == ROOT / "models"  # in a checkout; for an installed copy see below
    shipped = PYPROJECT["tool"]["setuptools"]["package-data"]["serving.models"]
    for model in (DEFAULT_MODEL, DEFAULT_NUMBER_MODEL):
        assert {model.name, model.with_suffix(".json").name} <= set(shipped)
    assert all((MODELS_DIR / name).is_file() for name in shipped)
    assert not any(name.endswith(".png") for name in shipped)


def test_the_python_api_reads_with_the_shipped_models():
    from serving import Reader, read_digit, read_number

    digit = read_digit(ROOT / "examples" / "3_marker.png")
    number = read_number((ROOT / "examples" / "number_2026.png").read_bytes())
    assert (digit.digit, number.number) == (3, "2026")
    reader = Reader()
    assert reader.read_digit(ROOT / "examples" / "3_marker.png").probabilities == digit.probabilities
    assert reader.read_numbers([ROOT / "examples" / "number_2026.png"])[0].number == "2026"


# ---------------------------------------------------------------- a real install (slow)


def build_inputs(into: Path) -> Path:
    """What `pip install` reads, copied, so that building writes nothing into the checkout."""
    source = into / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.png", "*.history.json")
    for folder in ("serving", "app", "models"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    return source


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with `pip install .` (no extras); its bin folder."""
    folder = tmp_path_factory.mktemp("install")
    env = folder / "venv"
    venv.create(env, with_pip=True)
    pip = [env / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    install = subprocess.run([*pip, build_inputs(folder)], capture_output=True, text=True,
                             timeout=INSTALL_TIMEOUT_S)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    yield env / "bin"


def run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_installed_digits_reads_as_the_cli(installed: Path):
    for flags in ([], ["--number"]):
        ours = run(installed / "digits", "read", *flags, "examples/3_marker.png")
        checkout = run(sys.executable, "-m", "serving", *flags, "examples/3_marker.png")
        assert ours.returncode == checkout.returncode == 0, ours.stderr
        assert ours.stdout == checkout.stdout
    where = run(installed / "python", "-c", "import serving.paths as p; print(p.MODELS_DIR)", cwd=installed)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout + where.stderr


@pytest.mark.slow
def test_installed_python_api(installed: Path):
    examples = ROOT / "examples"
    code = ("import sys; from serving import read_digit, read_number; "
            "print(read_digit(sys.argv[1]).digit, read_number(sys.argv[2]).number)")
    # run outside the checkout, where `python -c` would import its serving/ instead
    result = run(installed / "python", "-c", code, examples / "3_marker.png", examples / "number_2026.png",
                 cwd=installed)
    assert result.stdout.split() == ["3", "2026"], result.stderr


@pytest.mark.slow
def test_installed_help_and_serve_without_the_app_extra(installed: Path):
    shown = run(installed / "digits", "--help")
    assert shown.returncode == 0 and "read" in shown.stdout and "serve" in shown.stdout
    serve = run(installed / "digits", "serve")
    assert serve.returncode == 2 and f"pip install '{SELF}[app]'" in serve.stderr, serve.stderr


@pytest.mark.slow
def test_installing_brings_no_torch(installed: Path):
    found = run(installed / "python", "-c", "import importlib.util as u; print(u.find_spec('torch'))")
    assert found.stdout.strip() == "None", found.stdout + found.stderr
