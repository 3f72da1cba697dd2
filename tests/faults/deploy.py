"""A deployment of ``ordergraph serve`` on the test's own services, and a vendor that
resends a webhook until it is acknowledged (as Kombo and Unified do)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from ordergraph.sandbox.kombo import sign as kombo_sign
from ordergraph.settings import Settings, load_settings
from tests.conftest import Sandbox
from tests.kombo_events import order_received
from tests.secrets_scan import Captured
from tests.serve_support import SECRETS, account_key, serve_env, write_config

__all__ = ["Deployment", "KomboVendor", "deployment", "graphql"]


@dataclass
class Deployment:
    config: Path
    env: dict[str, str]
    kombo_account: str
    kombo_secret: str

    def settings(self) -> Settings:
        """The settings serve reads (for the secret scan)."""
        return load_settings(self.config, environ=self.env)


async def deployment(
    sandbox: Sandbox,
    folder: Path,
    *,
    store_url: str,
    broker_url: str = "memory://",
    cache_url: str = "memory://",
    prefix: str = "ogfaults",
    sections: dict[str, dict[str, object]] | None = None,
) -> Deployment:
    kombo = (await sandbox.accounts("kombo"))[0]
    config = write_config(
        folder / "ordergraph.toml",
        store_url=store_url,
        sections={
            "cache": {"url": cache_url},
            "broker": {"url": broker_url, "channel_prefix": prefix},
            "sync": {"poller_lease_ttl": 2},
            **(sections or {}),
        },
        connections=[
            {
                "id": "acme-kombo",
                "tenant": "acme",
                "provider": "kombo",
                "base_url": sandbox.base("kombo"),
                "api_key": "${OG_KOMBO_KEY}",
                "account": kombo["account"],
                "webhook_secret": "${OG_KOMBO_WEBHOOK_SECRET}",
                "poll_interval": 3600,
                "max_retry_delay": 0.2,
            }
        ],
    )
    env = serve_env(
        OG_KOMBO_KEY=account_key(kombo), OG_KOMBO_WEBHOOK_SECRET=kombo["webhook_secret"]
    )
    return Deployment(config, env, kombo["account"], kombo["webhook_secret"])


@dataclass
class KomboVendor:
    """Sends order-received webhooks and resends each until it gets a 2xx."""

    deployment: Deployment
    session: aiohttp.ClientSession
    captured: Captured
    statuses: list[int]

    async def deliver(self, url: str, remote_id: str, *, attempts: int = 200) -> int:
        """Deliver one new order; returns how many attempts it took."""
        body = json.dumps(order_received(self.deployment.kombo_account, remote_id)).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Kombo-Signature": kombo_sign(self.deployment.kombo_secret, body),
        }
        for attempt in range(1, attempts + 1):
            try:
                async with self.session.post(
                    url + "/webhooks/kombo", data=body, headers=headers
                ) as response:
                    text = await response.text()
                    self.captured.response(
                        "POST /webhooks/kombo", response.status, dict(response.headers), text
                    )
                    self.statuses.append(response.status)
                    assert response.status in (200, 503), (response.status, text)
                    if response.status == 200:
                        return attempt
            except aiohttp.ClientConnectionError:
                self.statuses.append(0)
            await asyncio.sleep(0.1)
        raise AssertionError(f"webhook for {remote_id} never acknowledged")


async def graphql(
    session: aiohttp.ClientSession, url: str, document: str, captured: Captured
) -> tuple[int, dict[str, Any]]:
    async with session.post(
        url + "/graphql",
        json={"query": document},
        headers={"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"},
    ) as response:
        text = await response.text()
        captured.response("POST /graphql", response.status, dict(response.headers), text)
        body: dict[str, Any] = json.loads(text)
        return response.status, body
