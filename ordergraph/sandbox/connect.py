"""Accounts and connect flows: the control endpoints and the customer's pages.

- ``POST   /_sandbox/accounts``                           ``{"provider"}`` → a new account,
  answered like one entry of ``GET /_sandbox/accounts``
- ``DELETE /_sandbox/accounts/{provider}/{account}``      removes it (Kombo sends
  ``integration-deleted``)
- ``POST   /_sandbox/accounts/{provider}/{account}/state`` ``{"state": "ACTIVE" |
  "INACTIVE" | "INVALID"}`` (Kombo sends ``integration-state-changed``)
- ``POST   /_sandbox/connect/complete``                   ``{"url", "error"?}`` plays the
  customer finishing the flow behind a connect link (Kombo) or authorization URL
  (Unified) → ``{"provider", "account"}``, plus ``redirect`` and ``redirect_status``
  when the vendor sends the browser on (the sandbox makes that GET itself)
- ``GET/POST /connect/{provider}/{token}``               the page a customer opens; its
  button (the POST) finishes the flow, and a browser follows the vendor's redirect
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from ordergraph.sandbox.core import ACCOUNT_STATES, AccountError, Simulator, json_response

__all__ = ["add_connect_routes"]

SIMULATORS: web.AppKey[dict[str, Simulator]] = web.AppKey("connect_simulators", dict)
_REDIRECT_TIMEOUT = aiohttp.ClientTimeout(total=30)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answering(handler: Handler) -> Handler:
    """``AccountError`` (raised by the simulators and the checks here) → a JSON error."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except AccountError as exc:
            return json_response({"error": exc.message}, status=exc.status)

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError as exc:
        raise AccountError(400, "body is not JSON") from exc
    if not isinstance(payload, dict):
        raise AccountError(400, "body must be a JSON object")
    return payload


def _simulator(request: web.Request, name: object) -> Simulator:
    simulators = request.app[SIMULATORS]
    if not isinstance(name, str) or name not in simulators:
        raise AccountError(400, f"provider must be one of {sorted(simulators)}")
    return simulators[name]


def _known_account(simulator: Simulator, account: str) -> str:
    if account not in {a.account for a in simulator.accounts()}:
        raise AccountError(404, f"unknown {simulator.provider} account")
    return account


async def create_account(request: web.Request) -> web.Response:
    simulator = _simulator(request, (await _body(request)).get("provider"))
    account = await simulator.create_account()
    return json_response(account.as_json(), status=201)


async def remove_account(request: web.Request) -> web.Response:
    simulator = _simulator(request, request.match_info["provider"])
    account = _known_account(simulator, request.match_info["account"])
    await simulator.remove_account(account)
    return json_response({"provider": simulator.provider, "account": account, "removed": True})


async def set_account_state(request: web.Request) -> web.Response:
    simulator = _simulator(request, request.match_info["provider"])
    account = _known_account(simulator, request.match_info["account"])
    state = (await _body(request)).get("state")
    if state not in ACCOUNT_STATES:
        raise AccountError(400, f"state must be one of {', '.join(ACCOUNT_STATES)}")
    await simulator.set_account_state(account, state)
    return json_response({"provider": simulator.provider, "account": account, "state": state})


def _flow(request: web.Request, url: URL) -> tuple[Simulator, str]:
    """The simulator and token behind a connect URL: one of our ``/connect`` pages, or
    a vendor URL that opens a flow (Unified's authorization URL)."""
    simulators = request.app[SIMULATORS]
    parts = url.path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "connect" and parts[1] in simulators:
        return simulators[parts[1]], parts[2]
    for simulator in simulators.values():
        path = url.path.removeprefix(simulator.mount)
        if path != url.path:
            token = simulator.connect_token(path, url.query)
            if token is not None:
                return simulator, token
    raise AccountError(400, "url is not a connect link or authorization URL of this sandbox")


async def _follow(redirect: str) -> dict[str, Any]:
    """The one GET the customer's browser makes to the vendor's redirect target."""
    try:
        async with (
            aiohttp.ClientSession(timeout=_REDIRECT_TIMEOUT) as session,
            session.get(redirect, allow_redirects=False) as response,
        ):
            await response.read()
            return {"redirect_status": response.status}
    except (aiohttp.ClientError, TimeoutError) as exc:
        return {"redirect_status": None, "redirect_error": type(exc).__name__}


async def complete(request: web.Request) -> web.Response:
    payload = await _body(request)
    raw, error = payload.get("url"), payload.get("error")
    if not isinstance(raw, str) or not raw.startswith(("http://", "https://")):
        raise AccountError(400, "url must be the http(s) connect link")
    if error is not None and not (isinstance(error, str) and error):
        raise AccountError(400, "error, when given, must be a non-empty string")
    simulator, token = _flow(request, URL(raw))
    outcome = await simulator.complete_connect(token, error=error)
    answer: dict[str, Any] = {"provider": outcome.provider, "account": outcome.account}
    if outcome.redirect is not None:
        answer["redirect"] = outcome.redirect
        answer.update(await _follow(outcome.redirect))
    return json_response(answer)


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{detail}</p>{form}</body></html>
"""


def _page(title: str, detail: str, *, button: str | None = None) -> web.Response:
    form = (
        f'<form method="post"><button type="submit">{html.escape(button)}</button></form>'
        if button
        else ""
    )
    text = _PAGE.format(title=html.escape(title), detail=html.escape(detail), form=form)
    return web.Response(text=text, content_type="text/html")


async def connect_page(request: web.Request) -> web.Response:
    simulator = _simulator(request, request.match_info["provider"])
    shown = simulator.connect_page(request.match_info["token"])
    if shown is None:
        raise web.HTTPNotFound(text="This connect link is unknown or has expired.")
    detail = ", ".join(f"{key}: {value}" for key, value in shown.items() if value is not None)
    return _page(f"Sandbox: connect {simulator.provider}", detail, button="Connect")


async def connect_submit(request: web.Request) -> web.StreamResponse:
    simulator = _simulator(request, request.match_info["provider"])
    outcome = await simulator.complete_connect(request.match_info["token"])
    if outcome.redirect is not None:
        raise web.HTTPSeeOther(outcome.redirect)
    return _page("Connected", f"{simulator.provider} account {outcome.account} is connected.")


def add_connect_routes(app: web.Application, simulators: dict[str, Simulator]) -> None:
    app[SIMULATORS] = simulators
    app.router.add_post("/_sandbox/accounts", _answering(create_account))
    app.router.add_delete("/_sandbox/accounts/{provider}/{account}", _answering(remove_account))
    app.router.add_post(
        "/_sandbox/accounts/{provider}/{account}/state", _answering(set_account_state)
    )
    app.router.add_post("/_sandbox/connect/complete", _answering(complete))
    app.router.add_get("/connect/{provider}/{token}", _answering(connect_page))
    app.router.add_post("/connect/{provider}/{token}", _answering(connect_submit))
