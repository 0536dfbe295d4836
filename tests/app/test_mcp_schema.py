"""app/web/fetch.py: the MCP schema tells the API page the tools take URLs, not uploads."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.web.fetch import UrlTools, without_uploads

TOOLS = [
    {"name": "recognize_digit", "meta": {"file_data_present": True, "mcp_type": "tool"}},
    {"name": "read_number", "meta": {"file_data_present": False}},
]


def test_the_flag_is_cleared_and_nothing_else_changes():
    changed = orjson.loads(without_uploads(orjson.dumps(TOOLS)))
    assert [t["meta"]["file_data_present"] for t in changed] == [False, False]
    assert changed[0]["meta"]["mcp_type"] == "tool" and [t["name"] for t in changed] == [
        "recognize_digit",
        "read_number",
    ]
    assert without_uploads(b"not json") == b"not json" and without_uploads(b'{"a": 1}') == b'{"a": 1}'


def test_only_the_schema_route_is_rewritten():
    app = Starlette(
        routes=[
            Route("/gradio_api/mcp/schema", lambda r: JSONResponse(TOOLS)),
            Route("/other", lambda r: PlainTextResponse('[{"meta": {"file_data_present": true}}]')),
        ]
    )
    client = TestClient(UrlTools(app))
    schema = client.get("/gradio_api/mcp/schema")
    assert schema.status_code == 200 and int(schema.headers["content-length"]) == len(schema.content)
    assert all(t["meta"]["file_data_present"] is False for t in schema.json())
    assert "true" in client.get("/other").text
