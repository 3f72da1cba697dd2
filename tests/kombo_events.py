"""A Kombo ``assessment:order-received`` webhook event, as tests deliver it by hand."""

from __future__ import annotations

from typing import Any


def order_received(account: str, remote_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    """A minimal valid event for an OPEN order of ``account`` (the spec's required keys)."""
    return {
        "id": event_id or f"evt_{remote_id}",
        "type": "assessment:order-received",
        "data": {
            "id": remote_id,
            "package_id": "pkg_001",
            "status": "OPEN",
            "integration_id": account,
            "candidate": {
                "remote_id": None,
                "email": "ada@example.com",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "phone": None,
            },
            "application": {"remote_id": None},
            "job": {
                "remote_id": None,
                "name": None,
                "job_code": None,
                "description": None,
                "location": None,
                "hiring_team": [],
            },
        },
    }
