"""The XML of WeChat / WeCom callbacks and passive replies.

Callback bodies come from the internet: a size cap, and no DTD (no entities to expand,
no external references) before the standard parser sees them.
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Dict

MAX_BODY = 64 * 1024


class XmlRefused(ValueError):
    pass


def parse(body: bytes) -> Dict[str, str]:
    """The child elements of a flat ``<xml>…</xml>`` message, as text."""
    if not body or len(body) > MAX_BODY:
        raise XmlRefused("empty or too large")
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise XmlRefused("DTD not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise XmlRefused("not XML") from e
    return {child.tag: (child.text or "") for child in root}


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str) -> str:
    return (f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata('text')}</MsgType>"
            f"<Content>{cdata(content)}</Content></xml>")


def encrypted_reply(encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
    return (f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>")
