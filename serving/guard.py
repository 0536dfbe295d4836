"""What a batch does with an image that can't be read, and with a client that has gone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from serving.decode import ImageSource, InputError

StopCheck = Callable[[], bool]
T = TypeVar("T")


class Stopped(Exception):
    """A batch was told to stop (the client that asked has gone)."""


def guarded(read: Callable[[ImageSource], Any], source: ImageSource) -> Any:
    """read(source), or the InputError saying why the image can't be read (anything else is not
    the image's fault and propagates). The error handed back is a fresh one, without traceback:
    a caught exception's traceback holds the frames that hold the decoded image (hundreds of MB
    for a big one), which nothing would free until Python's cycle collector happened to run."""
    try:
        return read(source)
    except InputError as err:
        message, kind = str(err), type(err)
    return kind(message)


def each(read: Callable[[ImageSource], T], sources: Sequence[ImageSource],
         stop: StopCheck | None) -> list[T | InputError]:
    """read(source) for each source in turn, its InputError in its place; Stopped, and the rest not
    read, as soon as `stop` says so."""
    results: list[T | InputError] = []
    for source in sources:
        if stop is not None and stop():
            raise Stopped
        results.append(guarded(read, source))
    return results
