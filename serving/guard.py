"""What a batch does with an image that can't be read, and with a client that has gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serving.decode import ImageSource, InputError


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
