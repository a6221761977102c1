"""The web chat on other sites: the setting, who may frame the chat page, /widget.js."""
import pytest

from bot.settings import ConfigurationError, Settings
from tests.test_web import browser_client, settings  # noqa: F401  (fixture)
from handoff_service.app import create_app


def test_embedding_sites_are_a_setting_and_may_open_the_chat_socket():
    settings = Settings.from_env({"PUBLIC_WEB_URL": "https://chat.example.com",
                                  "CHAT_ALLOWED_ORIGINS": "https://Shop.Example.com, http://localhost:9000"})
    assert settings.embed_origins == ("https://shop.example.com", "http://localhost:9000")
    assert {"https://chat.example.com", "https://shop.example.com", "http://localhost:9000"} <= set(settings.chat_origins)
    with pytest.raises(ConfigurationError, match="CHAT_ALLOWED_ORIGINS"):
        Settings.from_env({"CHAT_ALLOWED_ORIGINS": "shop.example.com/page"})


async def _get(settings, engine, path):  # noqa: F811
    async with browser_client(create_app(settings), settings) as client:
        r = await client.get(path)
        return r.status, dict(r.headers), await r.text()


async def test_only_listed_sites_may_frame_the_chat_page(settings, engine):  # noqa: F811
    _, headers, _ = await _get(settings, engine, "/")
    assert "frame-ancestors 'self';" in headers["Content-Security-Policy"]
    listed = settings.with_overrides(embed_origins=("https://shop.example.com",))
    _, headers, page = await _get(listed, engine, "/")
    assert "frame-ancestors 'self' https://shop.example.com;" in headers["Content-Security-Policy"]
    # ...and only their pages may hand the chat a signed-in customer's token (chat.js checks).
    assert 'data-embed-origins="https://shop.example.com"' in page
    # Staff pages are never framed, by anyone.
    _, headers, _ = await _get(listed, engine, "/login")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


async def test_the_widget_script_is_served_to_any_site(settings, engine):  # noqa: F811
    status, headers, body = await _get(settings, engine, "/widget.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert "supportbot-launcher" in body and "innerHTML" not in body
