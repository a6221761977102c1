"""Starts the Rasa server (``rasa run``) with its HTTP API token read from the environment.

``rasa run --auth-token SECRET`` would show the token to anyone on the machine who
lists processes; here it goes from ``RASA_TOKEN`` straight into Rasa's own command
line parser inside this process. Every other argument is passed to ``rasa run``.

It also loads jieba's dictionary before the server reports healthy; Rasa's
JiebaTokenizer would otherwise load it while the first customer waits (~1 s). The
privacy recogniser the tracker store uses is built then too (~2 s).

And it makes conversation ids in the HTTP API's paths round-trip: Rasa's routes are
``/conversations/<conversation_id:path>/…``, and Sanic 21.12 hands a ``path``
parameter (a regex route) to the handler still percent-encoded (only plain
parameters can be unquoted, and only on request). A client must encode an id such as
``probe sp1``, ``probe/sl1`` or ``探针1`` in the URL, so Rasa read and wrote the
conversation ``probe%20sp1``, not the customer's. A request middleware decodes the
parameter once, before Rasa's handlers (and their auth checks) see it; ids that need
no encoding are unchanged.

And it checks the action server's answers with one JSON-schema validator built once:
Rasa 3.6.21 calls ``jsonschema.validate`` for every custom action, which first checks
the schema itself against the JSON-schema meta-schema, every time. That check was a
fifth of the Rasa process's time under load (docs/performance.md); the answers are
still validated exactly as before. The same holds for the events posted to the HTTP API
(``POST /conversations/{id}/tracker/events``, every agent's reply): there the check cost
about 35 ms of the event loop per request, so 50 agents' replies at once waited behind
each other for almost two seconds (docs/desk.md).

And its calls to the action server share one pooled HTTP session
(``bot/action_endpoint.py``) instead of a new connection per call.

And while an agent holds a chat, the customer's lines skip the NLU model
(``bot/agent_chat.py``); and event classes are resolved by name once, not by walking
Rasa's class tree for every stored event read back.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from http import HTTPStatus
from typing import Any, Awaitable, Callable, List, Optional
from urllib.parse import unquote

from bot.action_endpoint import close_action_sessions, keep_action_connections_alive
from bot.agent_chat import skip_understanding_while_an_agent_chats
from bot.quiet_errors import install as quiet_errors, note_conversation

CONVERSATION_ID_PARAM = "conversation_id"
# The messaging channels' settings in credentials.yml (README, "Messaging channels").
CHANNEL_SETTINGS = (
    "WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_ENCODING_AES_KEY", "WECHAT_API_BASE_URL",
    "WECOM_TOKEN", "WECOM_CORP_ID", "WECOM_SECRET", "WECOM_ENCODING_AES_KEY", "WECOM_API_BASE_URL",
    "TELEGRAM_ACCESS_TOKEN", "TELEGRAM_VERIFY", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_SECRET_TOKEN", "TELEGRAM_API_BASE_URL",
)


async def decode_conversation_id(request: Any) -> None:
    """Sanic request middleware: the route's ``conversation_id`` percent-decoded."""
    match_info = request.match_info
    if match_info and isinstance(match_info.get(CONVERSATION_ID_PARAM), str):
        request.match_info = {**match_info, CONVERSATION_ID_PARAM: unquote(match_info[CONVERSATION_ID_PARAM])}
        note_conversation(request.match_info[CONVERSATION_ID_PARAM])  # named by errors logged for this request


def decode_conversation_ids_in_rasa_api() -> None:
    """Every Sanic app Rasa's API builds gets :func:`decode_conversation_id`."""
    import rasa.server

    create_app = rasa.server.create_app
    if getattr(create_app, "decodes_conversation_ids", False):
        return

    def create_app_decoding_ids(*args: Any, **kwargs: Any):
        app = create_app(*args, **kwargs)
        app.register_middleware(decode_conversation_id, "request")
        app.register_listener(close_action_sessions, "after_server_stop")
        finish_conversation_writes(app)
        return app

    create_app_decoding_ids.decodes_conversation_ids = True
    rasa.server.create_app = create_app_decoding_ids  # looked up at call time by rasa.core.run


def run_to_the_end(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """The handler, not cancelled when its caller hangs up."""
    @functools.wraps(handler)
    async def shielded(request: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.shield(handler(request, *args, **kwargs))

    shielded.runs_to_the_end = True
    return shielded


def finish_conversation_writes(app: Any) -> None:
    """Rasa's API requests that change a conversation run to the end once begun.

    Sanic cancels a handler when its client's connection drops. Rasa's
    ``POST /conversations/{id}/tracker/events?execute_side_effects=true`` sends the bot
    messages to the customer first and saves the tracker after: cancelled in between
    (the web service killed, or its request timing out, while Rasa works), the customer
    had an agent's reply the conversation does not record, so the web service's retry
    (desk/service.py ``reply``, which looks for the reply's id in the tracker) sent it a
    second time (tests/integration/test_desk_restart.py). Shielded, the handler finishes:
    delivered and recorded, or neither.
    """
    for route in app.router.routes:
        if route.path.startswith("conversations/") and set(route.methods) & {"POST", "PUT"} \
                and not getattr(route.handler, "runs_to_the_end", False):
            route.handler = run_to_the_end(route.handler)


def one_validator(schema: Any) -> Callable[[Any], Optional[Any]]:
    """``jsonschema.validate`` for one schema, the schema checked once: returns the error
    ``jsonschema.validate`` would raise (its best match), or None."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    cls = validator_for(schema)
    cls.check_schema(schema)  # once per process, as jsonschema.validate does every call
    validator = cls(schema)
    return lambda instance: best_match(validator.iter_errors(instance))


def validate_action_results_with_one_validator() -> None:
    """Rasa's ``RemoteAction._validate_action_result`` without re-checking the schema each call."""
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction._validate_action_result, "one_validator", False):
        return
    validators = {}

    def _validate_action_result(self: RemoteAction, result: Any) -> bool:
        validate = validators.get(type(self))
        if validate is None:
            validate = validators[type(self)] = one_validator(self.action_response_format_spec())
        error = validate(result)
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    _validate_action_result.one_validator = True
    RemoteAction._validate_action_result = _validate_action_result


def validate_posted_events_with_one_validator() -> None:
    """Rasa's ``rasa.server.validate_events_in_request_body`` (looked up at call time by
    its handlers) without re-checking the events schema each request; same errors."""
    import rasa.server
    from rasa.shared.utils.schemas.events import EVENTS_SCHEMA

    if getattr(rasa.server.validate_events_in_request_body, "one_validator", False):
        return
    validate = one_validator(EVENTS_SCHEMA)

    def validate_events_in_request_body(request: Any) -> None:
        events = request.json if isinstance(request.json, list) else [request.json]
        error = validate(events)
        if error is not None:
            raise rasa.server.ErrorResponse(
                HTTPStatus.BAD_REQUEST, "BadRequest",
                "Failed to validate the events format. For more information about the format "
                f"visit the docs. Error: {error}", help_url=rasa.server._docs("/pages/http-api"),
            ) from error

    validate_events_in_request_body.one_validator = True
    rasa.server.validate_events_in_request_body = validate_events_in_request_body


def resolve_event_types_once() -> None:
    """Rasa's ``Event.resolve_by_type`` with the answers remembered.

    Every event read back from the tracker store is resolved by its type name, and Rasa
    3.6.21 walks the whole ``Event`` class tree (``all_subclasses``, recursively) for each
    one: a tenth of the event loop's time when 50 chats with agents wrote at once
    (docs/desk.md). The same name gives the same class; a name not known yet is looked up
    as before (and remembered once found), so event classes defined later still resolve.
    """
    from rasa.shared.core.events import Event

    if getattr(Event.resolve_by_type, "remembers", False):
        return
    resolve = Event.resolve_by_type
    known: dict = {}

    def resolve_by_type(type_name: str, default: Optional[type] = None) -> Optional[type]:
        found = known.get(type_name)
        if found is not None:
            return found
        found = resolve(type_name, default)  # Rasa's own answer: the class, None, the default, or ValueError
        if found is not None and found is not default:
            known[type_name] = found
        return found

    resolve_by_type.remembers = True
    Event.resolve_by_type = staticmethod(resolve_by_type)


def main(argv: Optional[List[str]] = None) -> None:
    token = os.environ.get("RASA_TOKEN")
    if not token:
        sys.exit("RASA_TOKEN must be set in the environment (`make run` creates it in var/secrets.env).")
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    decode_conversation_ids_in_rasa_api()
    # --- channels (#10) --- credentials.yml names these; unset means "channel off", and Rasa
    # refuses a ${VAR} that is not set at all.
    for name in CHANNEL_SETTINGS:
        os.environ.setdefault(name, "")
    validate_action_results_with_one_validator()
    validate_posted_events_with_one_validator()
    skip_understanding_while_an_agent_chats()
    resolve_event_types_once()
    keep_action_connections_alive()
    quiet_errors()
    from bot.privacy import warm_up

    warm_up()
    from rasa.__main__ import main as rasa_main

    args = sys.argv[1:] if argv is None else argv
    sys.argv = ["rasa", "run", "--enable-api", "--auth-token", token, *args]
    rasa_main()


if __name__ == "__main__":
    main()
