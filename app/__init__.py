"""The app, one layer over serving: the Gradio page, its API and MCP tools (app/ui/), and the REST API,
login, timeouts and upload cache (app/web/); docs/architecture.md says which module does what.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Starts the app with these flags (`python demo.py --help` lists them)."""
    from app.settings import Settings
    from app.web import cache

    settings = Settings.parse(argv)
    cache_dir = cache.private_dir_or_exit()  # before gradio is imported: it reads GRADIO_TEMP_DIR then
    from app.server import create_or_exit, serve

    serve(create_or_exit(settings), cache_dir)
