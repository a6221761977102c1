"""Uniform JSON errors and the middlewares every page and API of the web service gets."""
from __future__ import annotations

import json
import logging
import uuid

from aiohttp import web

logger = logging.getLogger(__name__)


def json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def read_json_object(request: web.Request, max_bytes: int = 64 * 1024) -> dict:
    """The request body as a JSON object, or a 4xx error response raised as exception."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=max_bytes, actual_size=request.content_length)
    if request.content_type != "application/json":
        raise _http_error(web.HTTPUnsupportedMediaType, "json_required", "Send the body as application/json.")
    raw = await request.read()
    if len(raw) > max_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=max_bytes, actual_size=len(raw))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise _http_error(web.HTTPBadRequest, "malformed_json", "The body is not valid UTF-8 JSON.")
    if not isinstance(data, dict):
        raise _http_error(web.HTTPBadRequest, "malformed_json", "The body must be a JSON object.")
    return data


def _http_error(cls, code: str, message: str):
    return cls(text=json.dumps({"error": {"code": code, "message": message}}), content_type="application/json")


def bad_request(code: str, message: str) -> web.HTTPBadRequest:
    return _http_error(web.HTTPBadRequest, code, message)


def not_found(message: str = "Not found.") -> web.HTTPNotFound:
    return _http_error(web.HTTPNotFound, "not_found", message)


def conflict(message: str, code: str = "conflict") -> web.HTTPConflict:
    return _http_error(web.HTTPConflict, code, message)


def forbidden(code: str, message: str) -> web.HTTPForbidden:
    return _http_error(web.HTTPForbidden, code, message)


def unavailable(code: str, message: str) -> web.HTTPServiceUnavailable:
    return _http_error(web.HTTPServiceUnavailable, code, message)


@web.middleware
async def errors_middleware(request: web.Request, handler):
    """No stack trace ever reaches a user: unexpected errors become a short reference."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        ref = uuid.uuid4().hex[:8]
        logger.exception("unhandled error (ref %s) on %s %s", ref, request.method, request.path)
        if request.path.startswith(("/api/", "/agent/api/", "/kb/api/")):
            return json_error(500, "internal_error", f"Something went wrong (ref {ref}).")
        return web.Response(status=500, text=f"Something went wrong (ref {ref}).")


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {rasa} {rasa_ws}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def security_headers_middleware(rasa_public_url: str):
    rasa_ws = rasa_public_url.replace("http://", "ws://").replace("https://", "wss://")
    csp = CSP.format(rasa=rasa_public_url, rasa_ws=rasa_ws)

    @web.middleware
    async def middleware(request: web.Request, handler):
        response = await handler(request)
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return middleware
