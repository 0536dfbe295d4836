"""Gradio components that hand the handler what the client sent, so serving says what is wrong.

Gradio's own image components open uploads with PIL before the handler runs: a bad file then ends
in Gradio's generic error instead of serving's clear message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import ListFiles

EXAMPLE_FILE = "examples/3_marker.png"  # relative: what a client with the project would send


class SafeSketchpad(gr.Sketchpad):
    """gr.Sketchpad that passes a part of the sketch it can't decode on to the handler as it came."""

    def get_block_name(self) -> str:
        return "imageeditor"  # rendered by the editor's own frontend

    def convert_and_format_image(self, file, flatten_on_white: bool = False):
        try:
            return super().convert_and_format_image(file, flatten_on_white)
        except Exception:
            return str(file.path) if hasattr(file, "path") else bytes(file)


class UploadedImage(gr.Image):
    """gr.Image that hands the handler the uploaded file's path, undecoded."""

    is_template = True  # rendered by gr.Image's frontend

    def preprocess(self, payload):
        if payload is not None and payload.path is not None:
            return str(payload.path)
        return super().preprocess(payload)


class UploadedFile(gr.File):
    """gr.File(type="filepath") that hands the handler the uploaded file's path, and nothing more
    (Gradio 6.31's gr.File makes an empty temp file in its cache for every call, never deleted)."""

    is_template = True  # rendered by gr.File's frontend

    def example_payload(self) -> Any:
        """The API page's example: one of the project's own images. With a "url", the page's Python
        snippet writes it as handle_file('examples/3_marker.png'), as the README does, rather than
        as a raw FileData dict."""
        from gradio_client import handle_file

        if not Path(EXAMPLE_FILE).is_file():  # an installed app started outside a checkout
            return super().example_payload()
        return {**handle_file(EXAMPLE_FILE), "url": EXAMPLE_FILE}

    def example_value(self) -> Any:
        return EXAMPLE_FILE

    def preprocess(self, payload):
        if isinstance(payload, ListFiles):
            payload = payload[0] if len(payload.root) else None
        return None if payload is None else str(payload.path)
