"""Where a request's model work runs, and stopping it when the client has left.

Handing work to a thread costs about what reading a small digit takes, so small requests are
answered on the event loop; larger ones go to a worker lane, so that a big photo never holds up the
page's own events. An image over HEAVY_PIXELS takes its own lane, one at a time, which bounds the
memory a burst of big photos can take (docs/results.md, "Big images").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import threading
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from fastapi import Request
from PIL import Image

INLINE_MAX_IMAGES = 4
INLINE_MAX_PIXELS = 512 * 512  # per image, read from the header
HEAVY_PIXELS = 4_000_000
HEAVY_THREADS = 1
LIGHT_THREADS = 1


def largest_pixels(images: Sequence[bytes]) -> int:
    """The pixel count of the largest image, read from the headers only (0 when none is an image)."""
    largest = 0
    for image in images:
        try:
            width, height = Image.open(io.BytesIO(image)).size
        except Exception:  # not an image: refused as soon as decoding starts
            continue
        largest = max(largest, width * height)
    return largest


def is_small(images: Sequence[bytes]) -> bool:
    """Whether reading these images takes at most a few ms (see INLINE_MAX_PIXELS)."""
    return len(images) <= INLINE_MAX_IMAGES and largest_pixels(images) <= INLINE_MAX_PIXELS


async def wait_for_disconnect(request: Request, gone: threading.Event) -> None:
    """Sets `gone` when the client closes the connection (the body has been read by then, so the
    server's next message for this request is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    gone.set()


class Lanes:
    """Where a request's model work runs: on the event loop (small), or in one of two worker lanes.
    While the work runs, the connection is watched; when the client leaves, the work stops before
    its next image."""

    def __init__(self) -> None:
        self.heavy = anyio.CapacityLimiter(HEAVY_THREADS)
        self.light = anyio.CapacityLimiter(LIGHT_THREADS)

    async def run(self, request: Request, work: Callable[[list[bytes], Callable[[], bool]], list],
                  blobs: list[bytes], inline_ok: bool) -> list:
        if inline_ok and is_small(blobs):
            return work(blobs, lambda: False)
        heavy = largest_pixels(blobs) > HEAVY_PIXELS
        gone = threading.Event()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(wait_for_disconnect, request, gone)
                try:
                    return await anyio.to_thread.run_sync(work, blobs, gone.is_set,
                                                          limiter=self.heavy if heavy else self.light)
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            if heavy and LIBC is not None:
                # Freed heap memory back to the system: glibc keeps it in its arenas otherwise, and
                # the server would stay at its peak after a burst of big images.
                LIBC.malloc_trim(0)


try:
    LIBC: Any = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    LIBC.malloc_trim  # noqa: B018 - glibc only (not musl, macOS): checked once here
except (OSError, AttributeError):
    LIBC = None
