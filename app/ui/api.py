"""The Gradio API's own endpoints and the MCP tools, made from serving.operations: /predict, /explain,
/read_number and /read_page take one image file and give the CLI's JSON (a dict, for gradio_client);
the MCP tools take an image URL and give the same JSON as text (a dict would reach an MCP client as
Python's repr). Only the tools are on the API page; the rest stay callable but "undocumented".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import gradio as gr

from app.inputs import read_upload
from app.settings import CONCURRENCY
from app.ui.components import UploadedFile
from serving import InputError, Reader
from serving.operations import EXPLAIN, PREDICT, READ_NUMBER, READ_PAGE, Operation
from serving.records import Record

NO_FILE = "no file was sent: send an image file"
PREDICT_BATCH = 8  # one queue slot answers up to this many waiting /predict calls (docs/results.md)


def api_answer(reader: Reader, op: Operation, path: str | None) -> Record:
    """The CLI's JSON for one file Gradio stored (without "file"), or its error."""

    def read(data: bytes) -> Any:
        result = op.read(reader, [data], None)[0]
        if isinstance(result, InputError):
            raise result  # read_upload tries a file again on one
        return result

    try:
        result = InputError(NO_FILE) if path is None else read_upload(read, path)
    except InputError as err:
        result = err
    return op.fields(result)


# The MCP tools: name → (its operation, its api_name, what it does, what the image shows, what it returns).
TOOLS = {
    "recognize_digit": (
        PREDICT, "recognize_digit",
        "Reads the one handwritten digit (0-9) in an image: a photo, scan or drawing, any colours.",
        "of one digit",
        """JSON text, what the project's CLI prints: {"digit": 7, "confidence": 0.998, "probabilities": """
        """[...]} with "probabilities" the 10 chances of 0 to 9 or, for an image that can't be read or """
        """holds no digit: {"digit": null, "error": "why, in words"}"""),
    "read_number": (
        READ_NUMBER, "read_number_json",
        "Reads a whole number handwritten on one line (several digits, read left to right) in an image.",
        "of the number",
        """JSON text, what the CLI's --number prints: {"number": "2026", "confidence": 0.97, "digits": """
        """[...]} with one {"digit", "confidence", "box": [x0, y0, x1, y1]} per digit, left to right or, """
        """for an image that can't be read or holds no digit: {"number": null, "error": "why, in words"}"""),
    "read_numbers": (
        READ_PAGE, "read_numbers",
        "Reads every handwritten number on a page (several lines, signs and decimal points), in reading "
        "order.", "of the page",
        """JSON text, what the CLI's --page prints: {"numbers": [{"number": "-3.5", "confidence": 0.97, """
        """...}]} with each number's "box" and its "characters" (each with its "char", "confidence" and """
        """"box") in reading order (top to bottom, then left to right) or, for an image that can't be """
        """read: {"numbers": null, "error": "why, in words"}"""),
}
TOOL_API_NAMES = {name: api_name for name, (_, api_name, *_) in TOOLS.items()}
URL = "an http(s) URL or a data: URL (data:image/png;base64,...)"


def tools(reader: Reader) -> list[Callable[[str | None], str]]:
    """The MCP tools. Gradio names a tool after its function and takes its argument's description
    from the docstring; the tool's own description is add_endpoints' api_description."""

    def tool(name: str, op: Operation, does: str, shows: str, returns: str) -> Callable[[str | None], str]:
        def run(image: str | None) -> str:
            return json.dumps(api_answer(reader, op, image))

        run.__name__ = run.__qualname__ = name
        run.__doc__ = f"{does}\n\nArgs:\n    image: The image {shows}, as {URL}\n\nReturns:\n    {returns}\n"
        return run

    return [tool(name, op, does, shows, returns) for name, (op, _, does, shows, returns) in TOOLS.items()]


class ToolDescription(str):
    """A tool's description that Gradio can't add to: for a file argument it appends that agents should
    upload local files with an `upload_file_to_gradio` tool, but these tools take an http(s) or a data:
    URL, the one story the README and the API page tell."""

    def __add__(self, other: str) -> ToolDescription:
        return self


def add_endpoints(reader: Reader) -> None:
    """The API endpoints, built where it is called (inside the app's gr.Blocks)."""
    api_image = UploadedFile(type="filepath", visible=False, label="image")
    api_result = gr.JSON(visible=False, label="result")
    undocumented = {"api_visibility": "undocumented"}
    # Batched: one queue slot answers up to PREDICT_BATCH waiting calls, which lowers the server's
    # CPU per call (gradio_client callers are bound by their own client either way).
    gr.Button(visible=False).click(lambda paths: [[api_answer(reader, PREDICT, p) for p in paths]],
                                   api_image, api_result, api_name=PREDICT.name, batch=True,
                                   max_batch_size=PREDICT_BATCH, concurrency_limit=1, **undocumented)
    for op in (EXPLAIN, READ_NUMBER, READ_PAGE):
        gr.Button(visible=False).click(partial(api_answer, reader, op), api_image, api_result,
                                       api_name=op.name, concurrency_limit=CONCURRENCY, **undocumented)
    # queue=False: Gradio's MCP server then calls the tools in-process. A queued tool goes through a
    # loopback gradio_client, which is slower and can't log in: with --auth every call failed.
    tool_result = gr.Textbox(visible=False, label="result_json")
    for tool, (_, api_name, does, _, returns) in zip(tools(reader), TOOLS.values(), strict=True):
        description = ToolDescription(f"{does} The image is {URL}. Returns: {returns}")
        gr.Button(visible=False).click(tool, api_image, tool_result, api_name=api_name,
                                       api_description=description, queue=False)
