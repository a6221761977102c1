"""The web chat on other sites: ``/widget.js`` and who may frame the chat page.

A site adds ``<script src="<PUBLIC_WEB_URL>/widget.js" defer></script>``; the script
puts a launcher button on the page and opens our chat page in an iframe. The page
itself refuses to be framed (``frame-ancestors``) except by our own origin and those
listed in ``CHAT_ALLOWED_ORIGINS`` (``Settings.embed_origins``), so another site
cannot dress our chat in its own clothes without the operator's consent.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.settings import Settings
from handoff_service.web_errors import CSP

WIDGET = Path(__file__).parent / "static" / "widget.js"


def allow_framing(response: web.StreamResponse, settings: Settings) -> None:
    """The chat page's CSP with the embedding sites as frame ancestors. Browsers that know
    ``frame-ancestors`` ignore X-Frame-Options (which cannot name other sites); older
    ones get SAMEORIGIN."""
    rasa = settings.public_rasa_url
    rasa_ws = rasa.replace("http://", "ws://").replace("https://", "wss://")
    ancestors = " ".join(("'self'", *settings.embed_origins))
    response.headers["Content-Security-Policy"] = CSP.format(rasa=rasa, rasa_ws=rasa_ws).replace(
        "frame-ancestors 'none'", f"frame-ancestors {ancestors}"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"


async def widget_script(request: web.Request) -> web.Response:
    # Loaded by <script src> from any site; a short cache so a new version arrives within the hour.
    return web.FileResponse(WIDGET, headers={"Content-Type": "text/javascript; charset=utf-8",
                                            "Cache-Control": "public, max-age=3600"})
