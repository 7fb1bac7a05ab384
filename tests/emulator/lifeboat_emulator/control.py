"""Lifeboat's control API: `/lifeboat-api/...` on the emulator's own port.

Tests use it to drive what the AWS API reference allows but moto cannot do by itself (a job
that stays `CREATED`, a job that fails, a recovery point moved to cold storage). It is not part
of any AWS API, is never signed, and so never shows in `Emulator::calls_of`.

An extension registers a handler with `@route(method, pattern)`; the handler gets the regex
match and the JSON body (a dict) and returns `(status, body)`, `body` being JSON-serialisable.
Raise `ControlError(status, message)` to refuse a request.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

PREFIX = "/lifeboat-api/"

Handler = Callable[[re.Match[str], dict[str, Any]], tuple[int, Any]]

_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Registers `handler` for `method` on `/lifeboat-api/<pattern>` (a full-match regex)."""

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(pattern), handler))
        return handler

    return register


def _respond(start_response: Any, status: int, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        f"{status} {'OK' if status < 400 else 'Error'}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


def _handle(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ.get("PATH_INFO", "")[len(PREFIX) :]
    method = environ.get("REQUEST_METHOD", "GET")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return _respond(start_response, 400, {"error": "the body is not JSON"})
    if not isinstance(body, dict):
        return _respond(start_response, 400, {"error": "the body is not a JSON object"})
    allowed = False
    for route_method, pattern, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        allowed = True
        if route_method != method:
            continue
        try:
            status, result = handler(match, body)
        except ControlError as e:
            return _respond(start_response, e.status, {"error": e.message})
        except (KeyError, TypeError, ValueError) as e:
            return _respond(start_response, 400, {"error": f"bad request: {e!r}"})
        return _respond(start_response, status, result)
    if allowed:
        return _respond(start_response, 405, {"error": f"{method} not allowed on {path}"})
    return _respond(start_response, 404, {"error": f"no control route {path}"})


def install() -> None:
    if getattr(DomainDispatcherApplication, "_lifeboat_control", False):
        return
    original = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return _handle(environ, start_response)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = __call__  # type: ignore[method-assign]
    DomainDispatcherApplication._lifeboat_control = True  # type: ignore[attr-defined]
