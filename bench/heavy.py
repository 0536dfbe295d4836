"""Heavy images: peak memory and CPU per accepted big image, and what the process keeps after.

    python -m bench.heavy [--code DIR] [--out FILE]

Each image is read in a fresh child process (`python -m bench.heavy --child ...`), so its peak
is its own: the child warms up on a small digit, records its resident memory, clears the peak
counter (/proc/self/clear_refs), reads the image with Predictor.predict (or read_number), and
reports the peak above where it started (VmHWM), the CPU seconds it took, and the memory still
held afterwards. `--code DIR` measures another checkout (e.g. the code before a change) with the
same images. Linux only (/proc). The issue's targets (#19): ≤ 300 MB extra peak and ≤ 2 s of CPU
for any accepted image.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
SIDE = 7000  # 49 megapixels: just under the 50-megapixel cap


def big_digit(mode: str, side: int = SIDE, blank: bool = False) -> Image.Image:
    """A big, mostly blank page with one thick digit 7 on it (or nothing), in `mode`."""
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    k = side // 10
    if not blank:
        draw.line([(3 * k, 3 * k), (7 * k, 3 * k), (4 * k, 8 * k)], fill=0, width=k // 2)
    if mode == "I;16":
        return Image.fromarray(np.asarray(image, np.uint16) * 257)
    return image.convert(mode)


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {"compress_level": 6}))
    return buffer.getvalue()


BATCH = "one request of 5 RGBA PNGs 7000² (4 blank, one 7)"
CASES = {  # name → (mode, format, read as a number)
    "RGBA PNG 7000² (opaque)": ("RGBA", "PNG", False),
    BATCH: ("RGBA", "PNG", False),
    "RGB JPEG 7000²": ("RGB", "JPEG", False),
    "palette PNG 7000²": ("P", "PNG", False),
    "16-bit grey PNG 7000²": ("I;16", "PNG", False),
    "grey PNG 7000², read as a number": ("L", "PNG", True),
}


def write_cases(directory: Path) -> dict[str, Path]:
    paths: dict[str, list[Path]] = {}
    for i, (name, (mode, fmt, _)) in enumerate(CASES.items()):
        paths[name] = [directory / f"case{i}-{k}.{fmt.lower()}" for k in range(5 if name == BATCH else 1)]
        for k, path in enumerate(paths[name]):
            path.write_bytes(encoded(big_digit(mode, blank=name == BATCH and k < 4), fmt))
    return paths


# ---------------------------------------------------------------- the child


def vm_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(paths: list[str], number: bool, model: str) -> dict:
    from serving.reader import Reader

    reader = Reader(model)
    predictor = reader.digits
    predictor.predict(encoded(big_digit("L", 280), "PNG"))  # warm up: the session's first run allocates
    gc.collect()
    before = vm_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    cpu = time.process_time()
    try:
        if number:
            answer = reader.read_number(paths[0]).number
        else:
            answer = " ".join(str(getattr(r, "digit", "-")) for r in predictor.predict_batch(paths))
    except Exception as err:  # noqa: BLE001 - reported, not raised: the table shows it
        answer = f"{type(err).__name__}: {err}"[:80]
    cpu = time.process_time() - cpu
    peak = vm_kb("VmHWM")
    gc.collect()
    return {"answer": answer, "peak_mb": (peak - before) / 1024, "cpu_s": cpu,
            "kept_mb": (vm_kb("VmRSS") - before) / 1024}


# ---------------------------------------------------------------- the parent


def measure(code: Path, paths: list[Path], number: bool, model: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{ROOT}"}
    # run_path, not the script itself: that would put bench/ first on sys.path, where numbers.py
    # hides the standard library's numbers module
    runner = f"import runpy; runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"
    command = [sys.executable, "-c", runner, "--child", os.pathsep.join(map(str, paths)),
               "--model", str(model)]
    proc = subprocess.run([*command, *(["--number"] if number else [])],
                          cwd=code, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return {"answer": f"child failed: {proc.stderr.strip().splitlines()[-1:]}", "peak_mb": float("nan"),
                "cpu_s": float("nan"), "kept_mb": float("nan")}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict], sizes: dict[str, int]) -> str:
    lines = ["| image | file | answer | extra peak MB | CPU s | kept after MB |",
             "|---|---:|---|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {sizes[name] / 1024:.0f} KB | {r['answer']} | {r['peak_mb']:.0f} "
                     f"| {r['cpu_s']:.2f} | {r['kept_mb']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", type=Path, default=ROOT, help="the checkout whose serving/ is measured")
    p.add_argument("--model", type=Path, default=ROOT / "models" / "digitnet.onnx")
    p.add_argument("--out", type=Path, help="also write the table to this markdown file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--number", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child.split(os.pathsep), args.number, str(args.model))))
        return
    with tempfile.TemporaryDirectory(prefix="heavy-") as tmp:
        paths = write_cases(Path(tmp))
        sizes = {name: sum(path.stat().st_size for path in group) for name, group in paths.items()}
        results = {name: measure(args.code.resolve(), path, CASES[name][2], args.model.resolve())
                   for name, path in paths.items()}
    text = (f"Code: {args.code.resolve()}\n\n" + table(results, sizes)
            + "\n\nPeak: VmHWM above the warmed-up process's RSS; CPU: process time of the read.")
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
