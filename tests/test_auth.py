"""A password for what is exposed: every route of a demo started with a login, with and without it.

The server here is this module's own: one user from $DIGIT_AUTH (a password with a colon in it),
two more from --auth-file. Strangers, wrong passwords and forged cookies get 401 everywhere but
the login page; HTTP Basic opens the REST API, /docs and MCP; Gradio's own routes take Gradio's
login (its cookie, as gradio_client's auth= and the page's form get it). The hundreds of wrong
passwords each come from a client of their own (X-Forwarded-For, believed from 127.0.0.1 by
--trusted-proxy): from one client, the login brake would answer 429 after ten
(tests/app/test_brake.py, tests/test_security.py).
"""

from __future__ import annotations

import base64
import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import AUTH_ENV
from app.web import access
from tests.conftest import DemoServer, opener, start_demo, stop_demo
from tests.test_mcp import data_url, in_session, mcp_url

ROOT = Path(__file__).resolve().parent.parent
SEVEN = ROOT / "examples" / "7_ballpoint_photo.jpg"
ALICE = ("alice", "correct horse:battery")  # from $DIGIT_AUTH
BOB = ("bob", "b0b-Pa55")  # from --auth-file
WRONG = [("alice", "correct horse"), ("mallory", ALICE[1]), ("", "")]
# for every route: a user's wrong password (carol's, so that alice's below stays unbraked), an
# unknown user with a right password, empty credentials
ROUTE_WRONG = [("carol", "c4rol-not"), ("mallory", ALICE[1]), ("", "")]
CLIENTS = (f"10.{n // 250}.{n % 250}.1" for n in itertools.count())  # a new client for each guess
MCP_INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-03-26", "capabilities": {},
    "clientInfo": {"name": "test", "version": "1"}}}).encode()
# (method, path, body): every kind of route the app serves. Gradio's own (checked by Gradio), the
# REST API, its docs and the MCP server (checked by access.LoginRequired), and Gradio's routes
# that check nothing themselves, and a path that doesn't exist (no hint of what does).
ROUTES = [
    ("GET", "/config", None), ("GET", "/gradio_api/info", None), ("GET", "/gradio_api/openapi.json", None),
    ("POST", "/gradio_api/upload", b""), ("POST", "/gradio_api/call/predict", b'{"data": [null]}'),
    ("POST", "/gradio_api/run/recognize_digit", b'{"data": [null]}'),
    ("GET", "/gradio_api/queue/status", None),
    ("GET", f"/gradio_api/file={SEVEN}", None), ("GET", "/gradio_api/runs", None),
    ("POST", "/gradio_api/reset", b"{}"), ("GET", "/gradio_api/vibe-code", None),
    ("GET", "/gradio_api/user", None), ("GET", "/gradio_api/token", None), ("GET", "/monitoring/x", None),
    ("GET", "/docs", None), ("GET", "/openapi.json", None), ("GET", "/api/health", None),
    ("POST", "/api/predict", b'{"images": []}'), ("GET", "/gradio_api/mcp/schema", None),
    ("POST", "/gradio_api/mcp/", MCP_INIT), ("GET", "/no/such/page", None),
]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def fetch(server: DemoServer, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None, via: urllib.request.OpenerDirector | None = None,
          ) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               **(headers or {})}
    request = urllib.request.Request(server.url + path.lstrip("/"), data=body, method=method,
                                     headers=headers)
    try:
        with (via or urllib.request.build_opener()).open(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    folder = tmp_path_factory.mktemp("auth")
    users = folder / "users.txt"
    users.write_text(f"# the class\n\n{BOB[0]}:{BOB[1]}\ncarol:c4rol\n")
    demo = start_demo(model_path, folder / "demo.log",
                      args=["--auth-file", str(users), "--trusted-proxy", "127.0.0.1"],
                      env={AUTH_ENV: f"{ALICE[0]}:{ALICE[1]}"}, auth=BOB)
    try:
        yield demo
    finally:
        stop_demo(demo)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p[:40]}" for m, p, _ in ROUTES])
def test_no_route_answers_without_credentials(server: DemoServer, method: str, path: str,
                                              body: bytes | None) -> None:
    forged = {"Cookie": "access-token-x=abc; access-token-unsecure-x=abc"}
    for headers in [{}, *(basic(*pair) for pair in ROUTE_WRONG), {"Authorization": "Basic !!!"},
                    {"Authorization": f"Bearer {ALICE[1]}"}, forged]:
        status, reply = fetch(server, method, path, body, {**headers, "X-Forwarded-For": next(CLIENTS)})
        assert status == 401, (headers, status, reply[:200])


@pytest.mark.parametrize("user", [ALICE, BOB], ids=["env", "file"])
def test_basic_auth_opens_rest_docs_and_mcp(server: DemoServer, user: tuple[str, str]) -> None:
    for path in ["/docs", "/openapi.json", "/api/health", "/gradio_api/mcp/schema"]:
        status, reply = fetch(server, "GET", path, headers=basic(*user))
        assert status == 200, (path, reply[:200])
    body = json.dumps({"images": [base64.b64encode(SEVEN.read_bytes()).decode()]}).encode()
    status, reply = fetch(server, "POST", "/api/predict", body, basic(*user))
    assert status == 200 and json.loads(reply)[0]["digit"] == 7, reply[:300]


def test_gradio_routes_take_gradio_login(server: DemoServer) -> None:
    """HTTP Basic is not Gradio's login: its routes want the cookie its /login sets."""
    assert fetch(server, "GET", "/config", headers=basic(*BOB))[0] == 401
    logged_in = opener(server.url, BOB)
    status, reply = fetch(server, "GET", "/config", via=logged_in)
    assert status == 200 and json.loads(reply)["components"]
    status, reply = fetch(server, "GET", "/docs", via=logged_in)  # the cookie opens ours too
    assert status == 200, reply[:200]
    with pytest.raises(urllib.error.HTTPError, match="400"):
        opener(server.url, WRONG[0])


def test_the_page_asks_for_a_login(server: DemoServer) -> None:
    status, page = fetch(server, "GET", "/")
    assert status == 200 and b'"auth_required":true' in page.replace(b" ", b"")
    assert b"sketch-label" not in page  # none of the app
    status, page = fetch(server, "GET", "/", via=opener(server.url, ALICE))
    assert status == 200 and b"sketch-label" in page


def test_gradio_client_needs_auth(server: DemoServer) -> None:
    from gradio_client import Client, handle_file

    with pytest.raises(Exception, match="credentials were not provided"):
        Client(server.url, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(server.url, verbose=False, auth=WRONG[0])
    client = Client(server.url, verbose=False, auth=ALICE)
    assert client.predict(handle_file(str(SEVEN)), api_name="/predict")["digit"] == 7


@pytest.mark.filterwarnings("ignore:Use `streamable_http_client` instead:DeprecationWarning")
def test_mcp_client_with_basic_auth(server: DemoServer) -> None:
    import httpx

    image = data_url(SEVEN.read_bytes(), "image/jpeg")

    async def work(session) -> str:
        return (await session.call_tool("recognize_digit", {"image": image})).content[0].text

    assert json.loads(in_session(mcp_url(server.url), work, httpx.BasicAuth(*BOB)))["digit"] == 7
    for auth in [None, httpx.BasicAuth(*WRONG[0])]:
        with pytest.raises(BaseExceptionGroup) as caught:  # from the client's task group
            in_session(mcp_url(server.url), work, auth)
        assert caught.group_contains(httpx.HTTPStatusError, match="401 Unauthorized"), caught.value


def test_password_stays_out_of_the_process_list(server: DemoServer) -> None:
    command = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
    assert b"demo.py" in command and ALICE[1].encode() not in command


def test_no_open_link_warning_with_a_login(server: DemoServer) -> None:
    assert "no password is set" not in server.log_tail(20_000), server.log_tail()  # failed logins are logged


@pytest.mark.browser
@pytest.mark.slow
def test_log_in_on_the_page_and_read_a_digit(server: DemoServer, chromium) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        statuses: list[int] = []
        page.on("response", lambda response: statuses.append(response.status))
        page.goto(server.url)
        page.fill("input[type=password]", "not it")
        page.fill("input[type=text]", BOB[0])
        page.click("button:has-text('Login')")
        page.wait_for_selector("text=Incorrect Credentials", timeout=30_000)
        assert 401 not in statuses  # the login page loads nothing that needs a login (no Basic prompt)
        page.fill("input[type=text]", BOB[0])  # the form was emptied
        page.fill("input[type=password]", BOB[1])
        page.click("button:has-text('Login')")
        page.wait_for_selector("#sketch canvas", timeout=120_000)  # the app, in place of the form
        page.get_by_role("tab", name="Upload", exact=True).first.click()
        page.locator("#upload input[type=file]").first.set_input_files(str(SEVEN))
        page.wait_for_selector("#upload-note:has-text(\"It's a 7\")", timeout=60_000)
    finally:
        context.close()


# ---------------------------------------------------------------- the credentials themselves (no server)


def test_users_from_a_file(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("# comment\n\n  amy:pa:ss word  \nbob:x\namy:pa:ss word\n")
    assert access.load_users(None, users) == {"amy": "pa:ss word", "bob": "x"}


@pytest.mark.parametrize(("flag", "text", "where", "message"), [
    (None, "amy:1\namy:2\n", "--auth", "given twice"),
    (None, "# nobody\n", "--auth", "no USER:PASSWORD line"),
    (None, "amy:1\nbob\n", "--auth", "line 2: expected USER:PASSWORD"),
    ("a b:c", None, "--auth", "contains a space"),
    (":secret", None, AUTH_ENV, f"{AUTH_ENV}: expected USER:PASSWORD"),
])
def test_unusable_credentials_say_why_without_the_password(tmp_path: Path, flag, text, where,
                                                           message) -> None:
    file = None
    if text is not None:
        file = tmp_path / "users"
        file.write_text(text)
    with pytest.raises(access.AuthError, match=message) as caught:
        access.load_users(flag, file, where)
    assert "secret" not in str(caught.value)


def test_no_credentials_no_login() -> None:
    assert access.load_users(None, None) == {}


@pytest.mark.parametrize(("header", "user"), [
    (basic("amy", "pw:1")["Authorization"], "amy"), (basic("amy", "pw:2")["Authorization"], None),
    (basic("bob", "pw:1")["Authorization"], None), ("basic " + base64.b64encode(b"amy:pw:1").decode(), "amy"),
    ("Basic ***", None), ("Basic " + base64.b64encode(b"\xff\xfe").decode(), None), ("Bearer pw:1", None),
    (None, None),
])
def test_basic_credentials(header: str | None, user: str | None) -> None:
    assert access.basic_user(header, {"amy": "pw:1"}) == user


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("my-laptop.local", False), ("::", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert access.is_loopback(host) is loopback
