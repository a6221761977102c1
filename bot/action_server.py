"""Starts the action server (rasa_sdk) so that it answers only the Rasa server.

The actions read customers' accounts (balances) for whoever calls them, so every
call must carry ``Authorization: Bearer <ACTION_SERVER_TOKEN>``: endpoints.yml has
Rasa send it (from the environment, never a command line), and a call without it
gets 401. ``/health`` stays open for the launcher's check; it says nothing about
customers. Arguments are rasa_sdk's own (``--actions``, ``--port``, ...).
"""
from __future__ import annotations

import hmac
import os
import sys
from typing import List, Optional

TOKEN_EXEMPT_PATHS = frozenset({"/health"})


def require_token(app, token: str) -> None:
    """Refuse every request but the health check unless it carries the token."""
    from sanic import response

    expected = f"Bearer {token}".encode()

    @app.middleware("request")
    async def check_token(request):
        if request.path in TOKEN_EXEMPT_PATHS:
            return None
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
            return response.json({"error": "A valid action server token is required."}, status=401)
        return None


def main(argv: Optional[List[str]] = None) -> None:
    token = os.environ.get("ACTION_SERVER_TOKEN")
    if not token:
        sys.exit("ACTION_SERVER_TOKEN must be set in the environment (`make run` creates it in var/secrets.env).")
    from rasa_sdk import utils
    from rasa_sdk.endpoint import create_app, create_argument_parser

    args = create_argument_parser().parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    # No CORS: browsers have no business here.
    app = create_app(args.actions, cors_origins=None, auto_reload=False)
    require_token(app, token)
    app.run(os.environ.get("SANIC_HOST", "127.0.0.1"), args.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
