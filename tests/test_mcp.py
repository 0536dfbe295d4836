"""The demo's MCP server as an agent uses it: the `mcp` Python client over streamable HTTP.

The tools must answer what the CLI (`python -m serving`) prints for the same image, as JSON text
a client can parse, and a bad image must come back as the error JSON, not as a crashed call.
Images go as data: URLs, the one way an agent can send a local file: the server refuses URLs on
loopback or private addresses (Gradio's guard against requests to internal hosts).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.ui.api import TOOL_API_NAMES
from examples.make import draw_digits

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DIGITS = sorted(p for p in EXAMPLES.glob("[0-9]_*.*") if p.suffix in (".png", ".jpg"))
NUMBERS = sorted(p for p in EXAMPLES.glob("number_*.*") if p.suffix in (".png", ".jpg"))
TOL = 1e-6 + 1e-9  # both sides round to 6 decimals
MIME = {".png": "image/png", ".jpg": "image/jpeg"}
# mcp 1.30 deprecates streamablehttp_client for streamable_http_client; the old name is kept
# because it is the one every mcp 1.x that gradio[mcp] accepts (>=1.21) has.
pytestmark = pytest.mark.filterwarnings("ignore:Use `streamable_http_client` instead:DeprecationWarning")


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def file_url(path: Path) -> str:
    return data_url(path.read_bytes(), MIME[path.suffix])


def mcp_url(server_url: str) -> str:
    return server_url + "gradio_api/mcp/"


def in_session(url: str, work: Callable[[Any], Awaitable[Any]], auth: Any = None) -> Any:
    """work(session) in one MCP session over streamable HTTP; its result."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run() -> Any:
        async with streamablehttp_client(url, auth=auth, timeout=60) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    # Its own thread and loop: the session's browser (playwright's sync API) keeps a loop running
    # in this one once a browser test has run.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


async def call(session: Any, tool: str, image: str) -> tuple[bool, str]:
    """(is it a tool error, its one text)."""
    result = await session.call_tool(tool, {"image": image})
    assert len(result.content) == 1 and result.content[0].type == "text", result.content
    return result.isError, result.content[0].text


def answers(server_url: str, calls: list[tuple[str, str]]) -> list[tuple[bool, str]]:
    async def work(session: Any) -> list[tuple[bool, str]]:
        return [await call(session, tool, image) for tool, image in calls]

    return in_session(mcp_url(server_url), work)


@pytest.fixture(scope="module")
def tools(demo_server) -> dict[str, Any]:
    async def work(session: Any) -> dict[str, Any]:
        return {tool.name: tool for tool in (await session.list_tools()).tools}

    return in_session(mcp_url(demo_server.url), work)


def test_only_the_two_tools_are_listed(tools: dict[str, Any]) -> None:
    """The UI's events (sketch, upload) and the dict endpoints stay off the MCP server."""
    assert set(tools) == set(TOOL_API_NAMES)


@pytest.mark.parametrize("name", ["recognize_digit", "read_number", "read_numbers"])
def test_descriptions_say_what_comes_back(tools: dict[str, Any], name: str) -> None:
    tool = tools[name]
    key = {"recognize_digit": "digit", "read_number": "number", "read_numbers": "numbers"}[name]
    assert f'{{"{key}": null, "error"' in tool.description  # what an error looks like
    assert "JSON" in tool.description and "handwritten" in tool.description
    assert list(tool.inputSchema["properties"]) == ["image"]
    assert "data: URL" in tool.inputSchema["properties"]["image"]["description"]
    # One story, the README's: an http(s) or data: URL, not Gradio's upload_file_to_gradio tool.
    assert "http(s) URL or a data: URL" in tool.description and "upload" not in tool.description


def test_the_api_page_tells_the_same_story(demo_server) -> None:
    """The API page's MCP tab lists the tools from /gradio_api/mcp/schema: the same descriptions."""
    import httpx

    schema = httpx.get(mcp_url(demo_server.url) + "schema", timeout=60).json()
    assert {tool["name"] for tool in schema} == set(TOOL_API_NAMES)
    for tool in schema:
        assert "data: URL" in tool["description"] and "upload_file_to_gradio" not in tool["description"]
        # Gradio's page offers an upload server (`uvx gradio upload-mcp`) only for this flag.
        assert tool["meta"]["file_data_present"] is False


def test_recognize_digit_on_files_equals_cli(demo_server, run_cli) -> None:
    status, expected = run_cli(*DIGITS)
    assert status == 0, expected
    got = answers(demo_server.url, [("recognize_digit", file_url(path)) for path in DIGITS])
    for path, want, (is_error, text) in zip(DIGITS, expected, got, strict=True):
        assert not is_error, (path.name, text)
        answer = json.loads(text)  # JSON text, not Python's repr of a dict
        assert answer["digit"] == want["digit"] == int(path.name[0]), path.name
        assert answer["confidence"] == pytest.approx(want["confidence"], abs=TOL), path.name
        assert answer["probabilities"] == pytest.approx(want["probabilities"], abs=TOL), path.name


def test_read_number_on_files_equals_cli(demo_server, run_cli) -> None:
    status, expected = run_cli("--number", *NUMBERS)
    assert status == 0, expected
    got = answers(demo_server.url, [("read_number", file_url(path)) for path in NUMBERS])
    for path, want, (is_error, text) in zip(NUMBERS, expected, got, strict=True):
        assert not is_error, (path.name, text)
        answer = json.loads(text)
        want.pop("file")
        assert answer["number"] == want["number"], path.name
        assert [d["box"] for d in answer["digits"]] == [d["box"] for d in want["digits"]], path.name
        assert answer["confidence"] == pytest.approx(want["confidence"], abs=TOL), path.name


def test_a_drawing_sent_as_a_data_url(demo_server) -> None:
    """What an agent makes in memory: a canvas PNG, never written to a file."""
    def png(digits: str, size: tuple[int, int]) -> str:
        buffer = io.BytesIO()
        draw_digits(size, digits, "black", "white", 14).save(buffer, format="PNG")
        return data_url(buffer.getvalue())

    (e1, digit), (e2, number) = answers(demo_server.url, [
        ("recognize_digit", png("4", (280, 280))), ("read_number", png("385", (720, 260)))])
    assert not e1 and json.loads(digit)["digit"] == 4, digit
    assert not e2 and json.loads(number)["number"] == "385", number


def test_bad_images_answer_the_error_json(demo_server) -> None:
    blank = io.BytesIO()
    draw_digits((200, 200), "", "black", "white", 14).save(blank, format="PNG")
    got = answers(demo_server.url, [
        ("recognize_digit", data_url(b"not an image at all")),
        ("read_number", data_url(b"\x89PNG\r\n\x1a\n truncated")),
        ("recognize_digit", data_url(blank.getvalue())),
    ])
    for (is_error, text), key in zip(got, ["digit", "number", "digit"], strict=True):
        assert not is_error, text
        answer = json.loads(text)
        assert answer[key] is None and answer["error"], answer
    assert "no digit" in json.loads(got[2][1])["error"]


def test_what_is_not_an_image_url_is_a_clear_tool_error(demo_server) -> None:
    """A local path (meaningless to a remote server) and a loopback URL: refused, in words."""
    (e1, path), (e2, loopback) = answers(demo_server.url, [
        ("recognize_digit", str(DIGITS[0])),
        ("recognize_digit", demo_server.url + "gradio_api/file=" + str(DIGITS[0]))])
    assert e1 and "provide a url" in path, path
    assert e2 and "failed validation" in loopback, loopback
