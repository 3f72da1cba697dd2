"""``subscriptions.max_connections_per_tenant``: a tenant's sockets beyond the cap are
closed with 4429 and a reason, before they are acknowledged; other tenants and sockets
freed by a close are not affected."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from ordergraph.api.view import TOO_MANY_SOCKETS
from tests.api.conftest import KEYS, NO_PII_KEY, Api
from tests.api.ws_client import connect

CAP = 2


def _cap(api: Api, cap: int) -> None:
    settings = api.services.settings
    subscriptions = settings.subscriptions.model_copy(update={"max_connections_per_tenant": cap})
    api.services.settings = settings.model_copy(update={"subscriptions": subscriptions})


async def test_a_tenant_holds_at_most_its_cap_of_sockets(api: Api) -> None:
    _cap(api, CAP)
    acked = {"type": "connection_ack"}
    async with AsyncExitStack() as stack:
        # given the cap's worth of acme sockets, with different keys of the tenant
        held = []
        for key in (KEYS["acme"], NO_PII_KEY):
            client = await stack.enter_async_context(connect(api.session, api.url))
            assert await client.init({"authorization": f"Bearer {key}"}) == acked
            held.append(client)
        # when acme opens one more, then it is closed with 4429 and a reason
        async with connect(api.session, api.url) as extra:
            refused = await extra.init({"authorization": f"Bearer {KEYS['acme']}"})
        assert refused["close"] == TOO_MANY_SOCKETS
        assert "too many open WebSockets for this tenant (at most 2)" in refused["reason"]
        # while another tenant is not affected
        async with connect(api.session, api.url) as other:
            assert await other.init({"authorization": f"Bearer {KEYS['globex']}"}) == acked
        # and the sockets held still work
        await held[0].subscribe("1", "{ connections { id } }")
        assert (await held[0].message("1"))["type"] == "next"
    # once acme's sockets are closed (the server sees the close frames a moment after
    # the client sent them), it may open new ones
    answer: dict[str, object] = {}
    for _ in range(100):
        async with connect(api.session, api.url) as again:
            answer = await again.init({"authorization": f"Bearer {KEYS['acme']}"})
        if answer == acked:
            break
        await asyncio.sleep(0.02)
    assert answer == acked


async def test_a_refused_or_unauthenticated_socket_takes_no_place(api: Api) -> None:
    _cap(api, 1)
    for _ in range(3):
        async with connect(api.session, api.url) as nobody:
            assert (await nobody.init({"authorization": "Bearer nope"}))["close"] == 4403
    async with connect(api.session, api.url) as first:
        assert await first.init({"authorization": f"Bearer {KEYS['acme']}"}) == {
            "type": "connection_ack"
        }
        for _ in range(3):
            async with connect(api.session, api.url) as extra:
                refused = await extra.init({"authorization": f"Bearer {KEYS['acme']}"})
                assert refused["close"] == TOO_MANY_SOCKETS
