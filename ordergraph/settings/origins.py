"""Browser origins and header names, as the CORS settings take them."""

from __future__ import annotations

import ipaddress
import re

ANY_ORIGIN = "*"
_ORIGIN = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[^\]/]*\]|[^:/?#\[\]]*)(?::(?P<port>[0-9]*))?$"
)
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+$")

DEFAULT_CORS_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "cache-control",
    "x-request-id",
    # Apollo Client sends these when the client's name and version are set.
    "apollographql-client-name",
    "apollographql-client-version",
)
"""Request headers a cross-origin caller may send by default (``server.cors_allow_headers``)."""


def normalise_origin(value: str) -> str:
    """``value`` as a browser sends it in ``Origin``: ``scheme://host[:port]``, lowercase,
    no default port; ``ValueError`` (saying what to write instead) when it is not one."""
    text = value.strip().lower()
    match = _ORIGIN.match(text)
    if match is None:
        hint = ""
        if re.match(r"^https?://[^/]+/", text):
            fixed = "/".join(text.split("/", 3)[:3])
            hint = f" (an origin has no path, not even '/': write {fixed!r})"
        msg = f"{value!r} is not an origin: write scheme://host[:port]{hint}"
        raise ValueError(msg)
    scheme, host, port = match.group("scheme"), match.group("host"), match.group("port")
    if scheme not in _DEFAULT_PORTS:
        msg = f"{value!r} is not an origin: the scheme must be http or https"
        raise ValueError(msg)
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            msg = f"{value!r} is not an origin: {host} is not an IPv6 address"
            raise ValueError(msg) from None
    elif not _HOSTNAME.match(host):
        msg = f"{value!r} is not an origin: {host!r} is not a host name (use punycode for IDNs)"
        raise ValueError(msg)
    if port is not None:
        if not port or not 1 <= int(port) <= 65535:
            msg = f"{value!r} is not an origin: the port must be 1-65535"
            raise ValueError(msg)
        if int(port) != _DEFAULT_PORTS[scheme]:
            return f"{scheme}://{host}:{int(port)}"
    return f"{scheme}://{host}"
