"""A burst of event streams against the demo: what they cost while held, and whether the memory
comes back once they are gone.

Each round opens --streams streams to /gradio_api/mcp/sse at once over raw sockets, each from a client
of its own (X-Forwarded-For, the demo trusting 127.0.0.1 as a proxy) so that only the server's total
cap stops them; times /api/health while they are held, then waits for the server's --stream-idle-timeout
to end them. Exits 1 when the server's memory ends more than --tolerance-mb above its start, when a
stream outlives the idle timeout by more than a few seconds, or when a held stream slows /api/health
past a second.
"""

from __future__ import annotations

import argparse
import base64
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import server
from bench.common import machine_line, md_table, rss_mb

USER = ("bench", "streams")
AUTHORIZATION = "Basic " + base64.b64encode(":".join(USER).encode()).decode()
SLOW_HEALTH_S = 1.0  # /api/health takes milliseconds; a second means the streams starve the server
SETTLE_S = 5.0  # after the last stream ends, for the server to free what it held
ENDED_GRACE_S = 10.0  # a stream may outlive the idle timeout by a heartbeat or so


@dataclass
class Phase:
    name: str
    open: int
    refused: int
    health_ms: float
    rss_mb: float | None


def request(path: str, client: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTHORIZATION}\r\n"
            f"X-Forwarded-For: {client}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n").encode()


def open_streams(port: int, count: int, round_no: int) -> tuple[list[socket.socket], int]:
    """(the streams the server accepted, how many it refused)."""
    sockets = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request("/gradio_api/mcp/sse", f"10.{round_no}.{n // 250}.{n % 250 + 1}"))
        sockets.append(sock)
    accepted, refused = [], 0
    for sock in sockets:
        sock.settimeout(60)
        status = sock.recv(64).split(b" ")[1]
        if status == b"200":
            accepted.append(sock)
        else:
            refused += 1
            sock.close()
    return accepted, refused


def health_ms(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start = time.perf_counter()
        sock.sendall(request("/api/health", "10.255.0.1"))
        sock.settimeout(60)
        while sock.recv(65536):
            pass
        return (time.perf_counter() - start) * 1e3


def wait_ended(streams: list[socket.socket], deadline_s: float) -> int:
    """Reads the streams until the server has closed each or the deadline passes; how many are left."""
    deadline = time.monotonic() + deadline_s
    left = list(streams)
    while left and time.monotonic() < deadline:
        for sock in list(left):
            sock.settimeout(0.05)
            try:
                if not sock.recv(65536):
                    left.remove(sock)
                    sock.close()
            except TimeoutError:
                continue
    for sock in left:
        sock.close()
    return len(left)


def run(streams: int, rounds: int, idle_s: float, log: Path) -> tuple[list[Phase], int]:
    """The phases measured, and how many streams outlived the idle timeout."""
    flags = ["--trusted-proxy", "127.0.0.1", "--stream-idle-timeout", str(idle_s)]
    with server.start_demo(None, log, env={"DIGIT_AUTH": ":".join(USER)}, auth=USER, args=flags) as demo:
        def phase(name: str, held: int = 0, refused: int = 0) -> Phase:
            return Phase(name, held, refused, health_ms(demo.port), rss_mb(demo.pid))

        time.sleep(SETTLE_S)
        phases, outlived = [phase("start")], 0
        for round_no in range(1, rounds + 1):
            held, refused = open_streams(demo.port, streams, round_no)
            phases.append(phase(f"round {round_no}: held", len(held), refused))
            outlived += wait_ended(held, idle_s + ENDED_GRACE_S)
            time.sleep(SETTLE_S)
            phases.append(phase(f"round {round_no}: after"))
        return phases, outlived


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000, help="streams opened at once, each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0, help="the server's --stream-idle-timeout")
    parser.add_argument("--tolerance-mb", type=float, default=40.0,
                        help="how far above its start the server's memory may end (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as folder:
        phases, outlived = run(args.streams, args.rounds, args.idle, Path(folder) / "demo.log")
    print(machine_line())
    print(md_table(["phase", "open streams", "refused", "/api/health ms", "server RSS MiB"],
                   [[p.name, p.open, p.refused, f"{p.health_ms:.1f}",
                     "gone" if p.rss_mb is None else f"{p.rss_mb:.0f}"] for p in phases]))
    start, end = phases[0].rss_mb, phases[-1].rss_mb
    grown = None if start is None or end is None else end - start
    slowest = max(p.health_ms for p in phases)
    print(f"\nmemory: {'unknown' if grown is None else f'{grown:+.0f} MiB'} from start to end "
          f"(tolerance {args.tolerance_mb:g}); streams that outlived the idle timeout: {outlived}; "
          f"slowest /api/health: {slowest:.0f} ms")
    ok = grown is not None and grown <= args.tolerance_mb and outlived == 0 and slowest < SLOW_HEALTH_S * 1e3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
