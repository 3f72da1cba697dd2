"""``viewer``: the calling key's tenant and scopes, exactly as the settings grant them."""

from __future__ import annotations

from tests.api.conftest import NO_PII_KEY, READ_ONLY_KEY, WRITE_ONLY_KEY, Api
from tests.api.helpers import error_codes

VIEWER = "{ viewer { tenant scopes } }"


async def test_each_key_sees_its_own_tenant_and_scopes(api: Api) -> None:
    answers = [
        (await api.query(VIEWER, tenant="acme"))["data"],
        (await api.query(VIEWER, tenant="globex"))["data"],
        (await api.query(VIEWER, key=READ_ONLY_KEY))["data"],
        (await api.query(VIEWER, key=NO_PII_KEY))["data"],
    ]
    assert answers == [
        {"viewer": {"tenant": "acme", "scopes": ["ADMIN", "PII", "READ", "WRITE"]}},
        {"viewer": {"tenant": "globex", "scopes": ["ADMIN", "PII", "READ", "WRITE"]}},
        {"viewer": {"tenant": "acme", "scopes": ["READ"]}},
        {"viewer": {"tenant": "acme", "scopes": ["READ", "WRITE"]}},
    ]


async def test_a_key_without_read_cannot_query_it(api: Api) -> None:
    body = await api.query(VIEWER, key=WRITE_ONLY_KEY)
    assert error_codes(body) == ["FORBIDDEN"], body


async def test_no_key_is_unauthenticated(api: Api) -> None:
    body = await api.query(VIEWER, tenant=None)
    assert error_codes(body) == ["UNAUTHENTICATED"], body
