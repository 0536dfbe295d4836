"""Every setting of the app, read once from flags and the environment (`Settings.parse`) and passed
down: each default is written here once; nothing changes a setting after start-up.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from serving.paths import DEFAULT_MODEL

CONCURRENCY = 4  # model calls a Gradio event runs at once (the server's threads, not the cores)
MAX_FILE_SIZE = "5mb"  # largest upload, as launch(max_file_size=...) takes it
CLIENT_TIMEOUT_S = 10.0  # to send a request's headers, and between parts of its body
CACHE_MAX_AGE_S = 60.0  # as Gradio's delete_cache=(60, 60): long enough for a queued request
CORRECTIONS_PER_MINUTE = 10
CORRECTIONS_MAX_MB = 100.0  # about 100,000 corrections: far more than a fine-tune needs
MODEL_ENV = "DIGIT_MODEL"  # another model for `gradio demo.py`, which takes no flags
AUTH_ENV = "DIGIT_AUTH"  # USER:PASSWORD; keeps the password out of `ps` (a flag's value is visible)
SPACE_HOST_ENV = "SPACE_HOST"  # a Hugging Face Space's public name, which it sets for the app
STREAM_IDLE_S = 60.0  # an event stream that sends nothing but heartbeats this long is ended
SIZE = re.compile(r"\s*(\d+)\s*(b|kb|mb|gb)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int | None = None  # None: Gradio takes the first free port from 7860
    share: bool = False
    model: Path = DEFAULT_MODEL
    verify: bool = True
    max_file_size: str = MAX_FILE_SIZE
    auth: str | None = None
    auth_source: str = "--auth"  # where `auth` came from, for messages: --auth or $DIGIT_AUTH
    auth_file: Path | None = None
    mcp: bool = True
    corrections: Path | None = None
    corrections_per_minute: int = CORRECTIONS_PER_MINUTE
    corrections_max_mb: float = CORRECTIONS_MAX_MB
    client_timeout: float = CLIENT_TIMEOUT_S
    cache_max_age: float = CACHE_MAX_AGE_S
    allow_origins: tuple[str, ...] = ()  # other sites that may use the login (a page embedding the app)
    trusted_proxies: tuple[str, ...] = ()  # whose X-Forwarded-For/-Proto are believed; none by default
    public_url: str | None = None  # the app's address as browsers reach it (the page's root)
    fetch: bool = True  # whether MCP tools fetch http(s) image URLs
    stream_idle: float = STREAM_IDLE_S

    @classmethod
    def parse(cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
        """The flags, then the environment (GRADIO_SERVER_NAME/PORT, as a Space sets them, DIGIT_MODEL,
        DIGIT_AUTH), then the defaults. argparse exits with a message for a bad flag or variable."""
        parser = argument_parser()
        args = parser.parse_args(argv)  # each flag named as its field; None: not given
        if args.corrections is None and {args.corrections_per_minute, args.corrections_max_mb} != {None}:
            parser.error("--corrections-per-minute and --corrections-max-mb need --corrections PATH")
        if args.port is None and (port := environ.get("GRADIO_SERVER_PORT", "").strip()):
            try:
                args.port = port_number(port)
            except argparse.ArgumentTypeError as err:
                parser.error(f"GRADIO_SERVER_PORT={err}")
        args.auth_source = "--auth" if args.auth else AUTH_ENV
        args.auth = args.auth or environ.get(AUTH_ENV) or None
        args.host = args.host or environ.get("GRADIO_SERVER_NAME") or None
        args.model = args.model or Path(environ.get(MODEL_ENV) or DEFAULT_MODEL)
        space_host = environ.get(SPACE_HOST_ENV, "").strip()
        args.public_url = args.public_url or (f"https://{space_host}" if space_host else None)
        args.allow_origins, args.trusted_proxies = tuple(args.allow_origins), tuple(args.trusted_proxies)
        return cls(**{name: value for name, value in vars(args).items() if value is not None})


def argument_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python demo.py", description="Start the handwritten digit reader app.")
    p.add_argument("--host", help="0.0.0.0 to serve your network (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=port_number,
                   help="default: $GRADIO_SERVER_PORT or the first free from 7860")
    p.add_argument("--share", action="store_true", help="also open a public *.gradio.live link")
    p.add_argument("--model", type=Path, help=f"the digit model to serve (default: ${MODEL_ENV} or "
                                              f"{DEFAULT_MODEL.name}, the shipped one)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip the sha256 check against the model card")
    p.add_argument("--max-file-size", type=file_size, default=MAX_FILE_SIZE,
                   help="largest upload accepted: a number and a unit, e.g. 500kb, 5mb, 1gb (default: 5mb)")
    p.add_argument("--auth", metavar="USER:PASSWORD",
                   help=f"require this login for the page and every API (${AUTH_ENV} does the same and "
                        "stays out of the process list)")
    p.add_argument("--auth-file", type=Path, metavar="FILE", help="more users: one USER:PASSWORD a line")
    p.add_argument("--no-mcp", dest="mcp", action="store_false",
                   help="don't serve the MCP tools at /gradio_api/mcp/")
    p.add_argument("--corrections", type=Path, metavar="PATH",
                   help="let people correct wrong answers and keep the corrections in this SQLite file "
                        "(created if missing); off by default")
    p.add_argument("--corrections-per-minute", type=non_negative_int, metavar="N",
                   help=f"corrections one client may send a minute, 0 for no limit "
                        f"(default {CORRECTIONS_PER_MINUTE})")
    p.add_argument("--corrections-max-mb", type=positive_float, metavar="MB",
                   help=f"stop keeping corrections when the database reaches this size "
                        f"(default {CORRECTIONS_MAX_MB:g})")
    p.add_argument("--client-timeout", type=positive_float, default=CLIENT_TIMEOUT_S, metavar="SECONDS",
                   help="time a client gets to send a request's headers, and between parts of its body, "
                        "before 408 (default: %(default)s)")
    p.add_argument("--cache-max-age", type=positive_float, default=CACHE_MAX_AGE_S, metavar="SECONDS",
                   help="uploads are deleted from the cache this long after they came (default: %(default)s)")
    p.add_argument("--allow-origin", dest="allow_origins", type=origin_url, action="append", default=[],
                   metavar="URL",
                   help="another site whose pages may use this app with the visitor's login, e.g. a page "
                        "that embeds it (repeat for more); other sites are refused")
    p.add_argument("--trusted-proxy", dest="trusted_proxies", type=ip_address, action="append", default=[],
                   metavar="IP",
                   help="a reverse proxy in front of the app: its X-Forwarded-For and X-Forwarded-Proto "
                        "are believed (repeat for more); by default nobody's are")
    p.add_argument("--public-url", type=public_url, metavar="URL",
                   help="the app's address as browsers reach it, e.g. https://digits.example.org (default: "
                        f"https://${SPACE_HOST_ENV} on a Space, else the address a request came in on)")
    p.add_argument("--no-fetch", dest="fetch", action="store_false",
                   help="MCP tools don't fetch image URLs (data: URLs still work)")
    p.add_argument("--stream-idle-timeout", dest="stream_idle", type=positive_float, default=STREAM_IDLE_S,
                   metavar="SECONDS",
                   help="an event stream (MCP, the page's queue) that carries nothing but heartbeats this "
                        "long is ended (default: %(default)s)")
    return p


def origin_url(text: str) -> str:
    """--allow-origin: scheme://host[:port], as browsers send it in the Origin header."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a site: give scheme://host[:port], "
                                         "e.g. https://huggingface.co")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def public_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not an address: give scheme://host[:port][/path], "
                                         "e.g. https://digits.example.org")
    return text.strip().rstrip("/")


def ip_address(text: str) -> str:
    """--trusted-proxy: an IP address or a network (10.0.0.0/8), as uvicorn takes them."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False) if "/" in text
                   else ipaddress.ip_address(text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address or network") from None


def file_size(text: str) -> str:
    """--max-file-size: a positive whole number and a unit (b, kb, mb, gb), as launch() takes it."""
    match = SIZE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: give a whole number and a unit, "
                                         "e.g. 500kb, 5mb or 1gb")
    if int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return f"{match.group(1)}{match.group(2).lower()}"


def size_bytes(size: str) -> int:
    """A file_size() text in bytes."""
    number, unit = SIZE.fullmatch(size).groups()  # type: ignore[union-attr]
    return int(number) * 1024 ** ("b", "kb", "mb", "gb").index(unit.lower())


def port_number(text: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def non_negative_int(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return int(text)
