"""Markdown answers rendered safely for staff pages (editor preview, try-it box, history).

markdown-it-py (CommonMark) with raw HTML off: a tag typed into an answer is shown as the
text it is, never run; link targets are checked by markdown-it (javascript:, vbscript:,
file: and data: are refused, the link then shows as text) and images are off (an answer
must not make a customer's browser fetch a stranger's URL). Markdown cannot be invalid:
what does not parse as Markdown is shown as typed. The customer's chat page renders the
same subset in the browser without any HTML (handoff_service/static/chat.js).
"""
from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup


@lru_cache(maxsize=1)
def _renderer():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True})
    md.disable(["image", "html_block", "html_inline"])

    def link_open(renderer, tokens, idx, options, env):
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        tokens[idx].attrSet("target", "_blank")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def render(text: str) -> Markup:
    """HTML for an answer's Markdown, safe to put into a page as it is."""
    return Markup(_renderer().render(text or ""))
