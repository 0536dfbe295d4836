"""The command line: `python -m serving FILE...` and the console command `digits` (`digits read` is
python -m serving, `digits serve` the web app): one JSON line per file, as every surface answers."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

from serving import InputError, ModelError, Reader
from serving.decode import identify, read_source
from serving.operations import EXPLAIN, PREDICT, READ_NUMBER, READ_PAGE
from serving.paths import DEFAULT_MODEL

APP_EXTRA = ("gradio", "fastapi_offline")  # what `digits serve` needs beyond serving
WIDE = 1.4  # width over height from which a picture may hold several digits side by side


def positive_int(text: str) -> int:
    """argparse type: a whole number ≥ 1 (a batch of 0 or -1 images would answer nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_read_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--number", action="store_true",
                      help="read each image as a whole number (several digits on one line)")
    mode.add_argument("--page", action="store_true",
                      help="read every number on each image: several lines, signs and decimal points")
    p.add_argument("--explain", action="store_true",
                   help='add "heatmap" (where the model looked) and "seen" (its 28×28 input) to each line')
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="ONNX model (e.g. the INT8 one)")
    p.add_argument("--threads", type=positive_int, default=1, help="onnxruntime intra-op threads")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the sha256 check against the model card")
    p.add_argument("--batch-size", type=positive_int, default=64, help="images per model call (≥ 1)")


READ_HELP = "one JSON line per image file: its digit, or with --number its number (a stable contract)"


def several_digits(reader: Reader, name: str) -> int:
    """How many digits the number reader finds in a picture wider than tall (0 for other pictures,
    which are not read again, and where it finds no number)."""
    try:
        with identify(read_source(name)) as image:  # the header only, past decoding's own checks
            width, height = image.size
        return len(reader.read_number(name).digits) if width >= WIDE * height else 0
    except InputError:
        return 0


def read_files(args: argparse.Namespace, prog: str) -> int:
    """Prints each file's JSON line, read by the operation the flags ask for (--batch-size files a
    model call); the exit status."""
    try:
        reader = Reader(args.model, threads=args.threads, verify=not args.no_verify)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    op = READ_PAGE if args.page else READ_NUMBER if args.number else EXPLAIN if args.explain else PREDICT
    all_read = True
    for start in range(0, len(args.files), args.batch_size):
        names = args.files[start : start + args.batch_size]
        for name, result in zip(names, op.read(reader, names, None), strict=True):
            read = not isinstance(result, Exception)
            all_read &= read
            if read and op in (PREDICT, EXPLAIN) and (count := several_digits(reader, name)) > 1:
                print(f"hint: {name} looks like {count} digits side by side; this reads one digit. "
                      f"To read them as a number: {prog} --number FILE", file=sys.stderr)
            print(json.dumps({"file": name, **op.fields(result)}), flush=True)
    return 0 if all_read else 1


def serve(argv: list[str]) -> int:
    """The web app (app.main, as `python demo.py` starts it); imported here so reading needs no gradio."""
    missing = [name for name in APP_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        print(f"error: `digits serve` needs the app extra ({', '.join(missing)} not installed): "
              "pip install 'digit-reader[app]'", file=sys.stderr)
        return 2
    from app import main as start_app

    start_app(argv)
    return 0


def python_m_serving(argv: list[str] | None = None) -> int:
    """`python -m serving`: reading only, with the flags of `digits read`."""
    prog = "python -m serving"
    parser = argparse.ArgumentParser(prog=prog, description=READ_HELP)
    add_read_arguments(parser)
    return read_files(parser.parse_args(argv), prog)


def main(argv: list[str] | None = None) -> int:
    """The `digits` console command."""
    parser = argparse.ArgumentParser(prog="digits", description="Reads handwritten digits and numbers.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_read_arguments(commands.add_parser("read", help=READ_HELP, description=READ_HELP))
    # The app's flags are its own (`digits serve --help` shows them), so they pass through.
    commands.add_parser("serve", add_help=False, help="start the web app (needs the app extra)")
    args, rest = parser.parse_known_args(argv)
    if args.command == "serve":
        return serve(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return read_files(args, "digits read")
