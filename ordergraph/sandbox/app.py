"""The sandbox: the three simulators under one aiohttp app, plus ``/_sandbox/`` control.

Layout (DESIGN.md section 5): Unified under ``/unified``, StackOne under
``/stackone``, Kombo under ``/kombo/v1``; control endpoints, JSON in and out:

- ``GET  /_sandbox/accounts``      accounts and the exact headers a client sends
- ``GET  /_sandbox/stats``         requests served per provider and route template
- ``POST /_sandbox/faults``        ``{"<provider>|*": {error_rate, statuses, retry_after,
  latency_ms, drop_rate}}``; ``{}`` clears (``GET`` shows the current settings)
- ``GET  /_sandbox/orders``        ground truth, ``?provider=&account=``
- ``POST /_sandbox/orders``        ``{"provider", "account", "count"}`` creates orders
- ``PATCH /_sandbox/orders``       ``{"provider", "account", "id", "status"}`` changes one
- ``POST /_sandbox/webhooks``      ``{"<provider>": "<url>"}``: dashboard-configured
  webhook targets (Kombo); ``GET`` shows them
- ``GET  /_sandbox/deliveries``    webhook delivery attempts
- ``POST /_sandbox/reset``         reseed data, clear stats, faults and deliveries
- accounts and connect flows (``POST /_sandbox/accounts``, ``DELETE`` and ``…/state`` on
  one account, ``POST /_sandbox/connect/complete``, the customer's ``/connect/…`` pages):
  see ``ordergraph.sandbox.connect``
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ordergraph.sandbox.connect import add_connect_routes
from ordergraph.sandbox.core import SandboxContext, Simulator, json_response
from ordergraph.sandbox.kombo import KomboSimulator
from ordergraph.sandbox.stackone import StackOneSimulator
from ordergraph.sandbox.unified import UnifiedSimulator

__all__ = ["CONTEXT_KEY", "SIMULATORS_KEY", "create_sandbox_app"]

SIMULATORS_KEY = web.AppKey("simulators", dict)
CONTEXT_KEY = web.AppKey("sandbox_context", SandboxContext)

MAX_CREATE_COUNT = 1000


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


async def _read_json(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json(loads=json.loads)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body is not JSON"}), content_type="application/json"
        ) from exc
    if not isinstance(payload, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}),
            content_type="application/json",
        )
    return payload


def _simulator(request: web.Request, name: object) -> Simulator:
    simulators: dict[str, Simulator] = request.app[SIMULATORS_KEY]
    if not isinstance(name, str) or name not in simulators:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"provider must be one of {sorted(simulators)}"}),
            content_type="application/json",
        )
    return simulators[name]


def _account(simulator: Simulator, account: object) -> str:
    known = {a.account for a in simulator.accounts()}
    if not isinstance(account, str) or account not in known:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"unknown {simulator.provider} account"}),
            content_type="application/json",
        )
    return account


async def accounts(request: web.Request) -> web.Response:
    simulators: dict[str, Simulator] = request.app[SIMULATORS_KEY]
    listed = [a.as_json() for sim in simulators.values() for a in sim.accounts()]
    return json_response({"accounts": listed})


async def stats(request: web.Request) -> web.Response:
    return json_response(request.app[CONTEXT_KEY].stats.as_json())


async def get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[CONTEXT_KEY].faults.as_json())


async def set_faults(request: web.Request) -> web.Response:
    payload = await _read_json(request)
    simulators: dict[str, Simulator] = request.app[SIMULATORS_KEY]
    unknown = set(payload) - set(simulators) - {"*"}
    if unknown:
        return _error(400, f"unknown providers: {', '.join(sorted(unknown))}")
    try:
        request.app[CONTEXT_KEY].faults.configure(payload)
    except (TypeError, ValueError) as exc:
        return _error(400, str(exc))
    return json_response(request.app[CONTEXT_KEY].faults.as_json())


async def list_orders(request: web.Request) -> web.Response:
    simulators: dict[str, Simulator] = request.app[SIMULATORS_KEY]
    provider = request.query.get("provider")
    account = request.query.get("account")
    chosen = [_simulator(request, provider)] if provider else list(simulators.values())
    orders = [order for sim in chosen for order in sim.ground_truth(account)]
    return json_response({"orders": orders})


async def create_orders(request: web.Request) -> web.Response:
    payload = await _read_json(request)
    simulator = _simulator(request, payload.get("provider"))
    account = _account(simulator, payload.get("account"))
    count = payload.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_CREATE_COUNT:
        return _error(400, f"count must be an integer from 1 to {MAX_CREATE_COUNT}")
    created = await simulator.create_orders(account, count)
    return json_response({"orders": created}, status=201)


async def update_order(request: web.Request) -> web.Response:
    payload = await _read_json(request)
    simulator = _simulator(request, payload.get("provider"))
    account = _account(simulator, payload.get("account"))
    order_id, status = payload.get("id"), payload.get("status")
    if not isinstance(order_id, str) or not isinstance(status, str):
        return _error(400, "id and status must be strings")
    try:
        order = await simulator.set_status(account, order_id, status)
    except KeyError:
        return _error(404, "no such order")
    except ValueError as exc:
        return _error(400, str(exc))
    return json_response({"order": order})


async def get_webhooks(request: web.Request) -> web.Response:
    return json_response(request.app[CONTEXT_KEY].webhook_targets)


async def set_webhooks(request: web.Request) -> web.Response:
    payload = await _read_json(request)
    for name, url in payload.items():
        _simulator(request, name)
        if url is not None and not (
            isinstance(url, str) and url.startswith(("http://", "https://"))
        ):
            return _error(400, f"{name}: url must be an http(s) URL or null")
    targets = request.app[CONTEXT_KEY].webhook_targets
    for name, url in payload.items():
        if url is None:
            targets.pop(name, None)
        else:
            targets[name] = url
    return json_response(targets)


async def deliveries(request: web.Request) -> web.Response:
    log = request.app[CONTEXT_KEY].webhooks.log
    return json_response({"deliveries": [d.as_json() for d in log]})


async def reset(request: web.Request) -> web.Response:
    context = request.app[CONTEXT_KEY]
    for simulator in request.app[SIMULATORS_KEY].values():
        simulator.reset()
    context.stats.clear()
    context.faults.configure({})
    context.webhooks.log.clear()
    return json_response({"status": "reset"})


async def _close_webhooks(app: web.Application) -> None:
    await app[CONTEXT_KEY].webhooks.close()


def create_sandbox_app(context: SandboxContext | None = None) -> web.Application:
    """The sandbox application: the three simulators and the control API."""
    context = context or SandboxContext()
    simulators: list[Simulator] = [
        UnifiedSimulator(context),
        StackOneSimulator(context),
        KomboSimulator(context),
    ]
    app = web.Application()
    app[CONTEXT_KEY] = context
    app[SIMULATORS_KEY] = {sim.provider: sim for sim in simulators}
    for simulator in simulators:
        simulator.seed()
        app.add_subapp(simulator.mount, simulator.build_app())
    app.router.add_get("/_sandbox/accounts", accounts)
    app.router.add_get("/_sandbox/stats", stats)
    app.router.add_get("/_sandbox/faults", get_faults)
    app.router.add_post("/_sandbox/faults", set_faults)
    app.router.add_get("/_sandbox/orders", list_orders)
    app.router.add_post("/_sandbox/orders", create_orders)
    app.router.add_patch("/_sandbox/orders", update_order)
    app.router.add_get("/_sandbox/webhooks", get_webhooks)
    app.router.add_post("/_sandbox/webhooks", set_webhooks)
    app.router.add_get("/_sandbox/deliveries", deliveries)
    app.router.add_post("/_sandbox/reset", reset)
    add_connect_routes(app, app[SIMULATORS_KEY])
    app.on_cleanup.append(_close_webhooks)
    return app
