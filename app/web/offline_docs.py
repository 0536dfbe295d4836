"""/docs without the internet: FastAPI's Swagger UI page, its script and stylesheet served from the
fastapi-offline package (requirements.txt) instead of a CDN.

FastAPI's own /docs page loads swagger-ui-bundle.js and swagger-ui.css from jsdelivr, so without
the internet it is blank. The same page is made here with get_swagger_ui_html, pointing at copies
under /docs-assets/.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

ASSETS_URL = "/docs-assets"
ASSET_TYPES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
               "favicon.png": "image/png"}


def assets_dir() -> Path | None:
    """The installed Swagger UI files, or None when fastapi-offline is missing."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    return Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI, title: str = "Handwritten digit recognizer API") -> None:
    """Adds GET /docs and its assets to `app` (rest.install puts them first among its routes)."""
    directory = assets_dir()

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        if directory is None:
            return HTMLResponse("<p>The API page needs the fastapi-offline package: "
                                "<code>pip install -r requirements.txt</code>. The schema is at "
                                '<a href="/openapi.json">/openapi.json</a>.</p>', status_code=503)
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=title, swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css", swagger_favicon_url=f"{ASSETS_URL}/favicon.png")

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if directory is None or name not in ASSET_TYPES:  # only these names: no path from the client
            return Response(status_code=404)
        return FileResponse(directory / name, media_type=ASSET_TYPES[name],
                            headers={"Cache-Control": "public, max-age=86400"})
