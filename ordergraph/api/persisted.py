"""Persisted documents: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ (Apollo's protocol, also spoken by urql's ``persistedExchange``): a client sends
``extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`` without ``query``.
A known hash runs its document; an unknown one is answered with the error
``PersistedQueryNotFound`` (``extensions.code`` ``PERSISTED_QUERY_NOT_FOUND``), upon
which the client sends the hash *and* the document: the document is checked against
the hash, run, and registered for the next time.

Registered documents are kept per tenant, in the gateway cache (memory, or Redis so
that every process knows what any of them registered). Documents are not secret (they
ship in the client's bundle), but which ones a tenant's clients run is that tenant's
business: with one shared map, another tenant could probe hashes and learn whether a
document was ever used, and fill the bounded map to push a tenant's entries out. The
price is one extra registration round trip per document per tenant.

The shared map is bounded without counters: each tenant has ``max_entries`` slots and
a hash always lands in the same slot (a direct-mapped table), so a new document may
overwrite an older one, whose client then gets PERSISTED_QUERY_NOT_FOUND and registers
it again, as the protocol intends. A document over ``limits.max_document_bytes`` is
never stored, nor one that breaks a limit or does not parse: registration happens only
after the document passed the same checks as a sent one (``api.http``). This process
keeps recently used documents in memory too (a hash names immutable text, so a local
copy is always right), so a persisted hit costs no cache round trip.

Trusted documents (``[persisted] manifest``, and ``only = true``): the manifest a
client build produces maps ids to document texts: Relay's ``--persist-output``
(``{"<id>": "<text>"}``), GraphQL Code Generator's client preset
(``persisted-documents.json``, ``{"<sha256>": "<text>"}``) or Apollo's
``persisted-query-manifest.json``. Keys that look like a SHA-256 must be the hash of
their text, checked at start-up. Requests name a document by
``extensions.persistedQuery.sha256Hash`` (Apollo, Code Generator) or by a
``documentId`` / ``doc_id`` parameter (the GraphQL-over-HTTP proposal; Relay's
documented network layer); ``documentId`` may be ``sha256:<hex>``. In ``only`` mode
nothing else runs: a sent document whose hash is not in the manifest is refused
(PERSISTED_QUERY_ONLY), and so is every APQ registration.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ordergraph.api.request import GraphQLRequest, ReceivedRequest, RequestRejectedError
from ordergraph.cache import GatewayCache
from ordergraph.errors import ConfigError
from ordergraph.settings import PersistedSettings

__all__ = [
    "AutomaticPersistedQueries",
    "Manifest",
    "PersistedDocuments",
    "Registration",
    "document_hash",
    "load_manifest",
]

APQ_VERSION: Final = 1
_KIND: Final = "apq"
_SHA256_HEX: Final = re.compile(r"[0-9a-fA-F]{64}")
_SHA256_PREFIX: Final = "sha256:"
# Recently used documents this process keeps (count and total UTF-8 bytes).
LOCAL_DOCUMENTS: Final = 2048
LOCAL_DOCUMENT_BYTES: Final = 16 * 1024 * 1024
# Apollo's client manifest (``generatePersistedQueryManifest``).
_APOLLO_FORMAT: Final = "apollo-persisted-query-manifest"
_SHOWN_ID_CHARS: Final = 80


def document_hash(text: str) -> str:
    """The SHA-256 (lowercase hex) of a document's UTF-8 text, as APQ clients hash it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _not_found(message: str = "PersistedQueryNotFound") -> RequestRejectedError:
    # 200 with application/json, as Apollo's and urql's links expect. A response
    # without data is a 4xx with graphql-response+json; 404 rather than 400 because
    # Apollo Client's link stops using APQ for good after a 400 (Apollo Router and
    # Server answer an unknown persisted id with 404 as well).
    return RequestRejectedError(404, message, code="PERSISTED_QUERY_NOT_FOUND", json_status=200)


def _not_supported(message: str) -> RequestRejectedError:
    # The message Apollo's and urql's links look for, besides the code: they stop
    # sending hashes alone once they see it.
    return RequestRejectedError(
        400,
        "PersistedQueryNotSupported",
        code="PERSISTED_QUERY_NOT_SUPPORTED",
        json_status=200,
        extensions={"reason": message},
    )


def _only() -> RequestRejectedError:
    return RequestRejectedError(
        400,
        "this server runs only its trusted documents: send a persisted document's "
        "hash or id, not a document",
        code="PERSISTED_QUERY_ONLY",
    )


def _invalid(message: str) -> RequestRejectedError:
    return RequestRejectedError(400, message, code="BAD_REQUEST")


@dataclass(frozen=True, slots=True)
class Manifest:
    """Trusted documents by the manifest's own key and by SHA-256 of their text."""

    by_id: Mapping[str, str]
    by_hash: Mapping[str, str]

    def find(self, document_id: str) -> str | None:
        """The document a ``documentId`` names: its manifest key, or ``sha256:<hex>``."""
        text = self.by_id.get(document_id)
        if text is not None:
            return text
        if document_id.startswith(_SHA256_PREFIX):
            return self.by_hash.get(document_id[len(_SHA256_PREFIX) :].lower())
        return None


def _manifest_entries(path: Path, parsed: Any) -> dict[str, str]:
    """``{key: text}`` from any of the accepted formats, or ConfigError."""
    if isinstance(parsed, dict) and parsed.get("format") == _APOLLO_FORMAT:
        operations = parsed.get("operations")
        if parsed.get("version") != 1 or not isinstance(operations, list):
            msg = f"persisted manifest {path}: an Apollo manifest needs version 1 and operations"
            raise ConfigError(msg)
        entries: dict[str, str] = {}
        for index, operation in enumerate(operations):
            if not (
                isinstance(operation, dict)
                and isinstance(operation.get("id"), str)
                and isinstance(operation.get("body"), str)
            ):
                msg = f"persisted manifest {path}: operations[{index}] needs string id and body"
                raise ConfigError(msg)
            entries[operation["id"]] = operation["body"]
        return entries
    if not isinstance(parsed, dict):
        msg = f"persisted manifest {path} must be a JSON object of id -> document text"
        raise ConfigError(msg)
    for key, text in parsed.items():
        if not isinstance(text, str) or not text.strip():
            msg = f"persisted manifest {path}: the document of {key!r} is not a non-empty string"
            raise ConfigError(msg)
    return dict(parsed)


def load_manifest(path: Path, *, max_document_bytes: int) -> Manifest:
    """Read and verify a manifest: every SHA-256-shaped key must be its text's hash and
    every document within ``max_document_bytes`` (it could never run otherwise)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"persisted manifest {path} cannot be read: {exc.strerror or exc}"
        raise ConfigError(msg) from None
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        msg = f"persisted manifest {path} is not UTF-8 JSON"
        raise ConfigError(msg) from None
    entries = _manifest_entries(path, parsed)
    by_hash: dict[str, str] = {}
    for key, text in entries.items():
        if len(text.encode("utf-8")) > max_document_bytes:
            msg = (
                f"persisted manifest {path}: the document of {key!r} is larger than "
                f"limits.max_document_bytes ({max_document_bytes})"
            )
            raise ConfigError(msg)
        digest = document_hash(text)
        if _SHA256_HEX.fullmatch(key) and key.lower() != digest:
            msg = (
                f"persisted manifest {path}: key {key!r} looks like a SHA-256 but the "
                f"document's SHA-256 is {digest}: the manifest does not match its documents"
            )
            raise ConfigError(msg)
        by_hash[digest] = text
    return Manifest(by_id=entries, by_hash=by_hash)


class _LocalDocuments:
    """This process's copies of recently used documents (least recently used out)."""

    def __init__(self, capacity: int = LOCAL_DOCUMENTS, max_bytes: int = LOCAL_DOCUMENT_BYTES):
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, tenant: str, digest: str) -> str | None:
        text = self._entries.get((tenant, digest))
        if text is not None:
            self._entries.move_to_end((tenant, digest))
        return text

    def put(self, tenant: str, digest: str, text: str) -> None:
        self._drop((tenant, digest))
        self._entries[(tenant, digest)] = text
        self.bytes += len(text)
        while len(self._entries) > self.capacity or self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, str]) -> None:
        text = self._entries.pop(key, None)
        if text is not None:
            self.bytes -= len(text)

    def __len__(self) -> int:
        return len(self._entries)


class AutomaticPersistedQueries:
    """Each tenant's registered documents: ``max_entries`` cache slots per tenant."""

    def __init__(self, cache: GatewayCache, *, max_entries: int, ttl: float) -> None:
        self.cache = cache
        self.max_entries = max_entries
        self.ttl = ttl
        self.local = _LocalDocuments()
        self.registered = 0

    def _slot(self, tenant: str, digest: str) -> str:
        # The hash is uniform, so its leading bits spread documents evenly over slots.
        return self.cache.key(tenant, _KIND, str(int(digest[:16], 16) % self.max_entries))

    async def get(self, tenant: str, digest: str) -> str | None:
        text = self.local.get(tenant, digest)
        if text is not None:
            return text
        entry = await self.cache.get(self._slot(tenant, digest))
        # The slot may hold another document (or a tampered one): only text that
        # hashes to the digest asked for is taken.
        if not isinstance(entry, dict) or entry.get("hash") != digest:
            return None
        text = entry.get("query")
        if not isinstance(text, str) or document_hash(text) != digest:
            return None
        self.local.put(tenant, digest, text)
        return text

    async def put(self, tenant: str, digest: str, text: str) -> None:
        self.local.put(tenant, digest, text)
        await self.cache.set(self._slot(tenant, digest), {"hash": digest, "query": text}, self.ttl)
        self.registered += 1


@dataclass(frozen=True, slots=True)
class Registration:
    """A document to register once it passed the checks every document passes."""

    tenant: str
    digest: str
    query: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """The request to run, and what to register if it may run."""

    request: GraphQLRequest
    registration: Registration | None = None


def _without_persisted_query(extensions: dict[str, Any] | None) -> dict[str, Any] | None:
    """The extensions execution sees: without ``persistedQuery``, so a persisted request
    and the same document sent as text share response-cache entries."""
    if not extensions or "persistedQuery" not in extensions:
        return extensions
    rest = {k: v for k, v in extensions.items() if k != "persistedQuery"}
    return rest or None


def _persisted_hash(reference: object) -> str:
    """The SHA-256 of ``extensions.persistedQuery``, checked for shape and version."""
    if not isinstance(reference, dict):
        raise _invalid("'extensions.persistedQuery' must be an object")
    if reference.get("version") != APQ_VERSION:
        raise _not_supported(
            f"persistedQuery version {reference.get('version')!r} is not supported: send 1"
        )
    digest = reference.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
        raise _invalid("'extensions.persistedQuery.sha256Hash' must be 64 hexadecimal digits")
    return digest.lower()


class PersistedDocuments:
    """Turns what a client sent into the document to run (``resolve``), and registers
    automatic persisted queries (``register``)."""

    def __init__(
        self,
        settings: PersistedSettings,
        cache: GatewayCache,
        *,
        max_document_bytes: int,
    ) -> None:
        self.settings = settings
        self.max_document_bytes = max_document_bytes
        self.manifest = (
            load_manifest(settings.manifest, max_document_bytes=max_document_bytes)
            if settings.manifest is not None
            else None
        )
        self.automatic = (
            AutomaticPersistedQueries(cache, max_entries=settings.max_entries, ttl=settings.ttl)
            if settings.automatic and not settings.only
            else None
        )

    def plain(self, received: ReceivedRequest) -> GraphQLRequest | None:
        """The request as sent when there is nothing to resolve or refuse (no reference,
        not trusted-only), else None: the cache-hit path's shortcut past ``resolve``."""
        if received.names_persisted or self.settings.only or received.query is None:
            return None
        return GraphQLRequest(
            received.query, received.variables, received.operation_name, received.extensions
        )

    async def resolve(self, tenant: str, received: ReceivedRequest) -> Resolved:
        """The request to run; RequestRejectedError with a PERSISTED_QUERY_* code (or
        BAD_REQUEST) when the reference cannot be resolved or is not allowed."""
        if not received.names_persisted:
            assert received.query is not None  # from_params refuses a request with neither
            if self.settings.only and not self._trusted(received.query):
                raise _only()
            return Resolved(self._request(received, received.query))
        if received.document_id is not None:
            return Resolved(self._by_id(received))
        assert received.extensions is not None  # names_persisted without a document id
        digest = _persisted_hash(received.extensions["persistedQuery"])
        if received.query is None:
            return Resolved(self._request(received, await self._by_hash(tenant, digest)))
        return self._registering(tenant, digest, received, received.query)

    async def register(self, registration: Registration) -> None:
        if self.automatic is not None:
            await self.automatic.put(registration.tenant, registration.digest, registration.query)

    def _trusted(self, query: str) -> bool:
        return self.manifest is not None and document_hash(query) in self.manifest.by_hash

    def _by_id(self, received: ReceivedRequest) -> GraphQLRequest:
        document_id = received.document_id
        assert document_id is not None
        if received.query is not None or (
            received.extensions is not None and "persistedQuery" in received.extensions
        ):
            raise _invalid("name the document once: by document id, by hash, or as 'query'")
        text = self.manifest.find(document_id) if self.manifest is not None else None
        if text is None:
            raise _not_found(f"no persisted document has the id {document_id[:_SHOWN_ID_CHARS]!r}")
        return self._request(received, text)

    async def _by_hash(self, tenant: str, digest: str) -> str:
        if self.manifest is not None:
            text = self.manifest.by_hash.get(digest)
            if text is not None:
                return text
        if self.automatic is None:
            if self.settings.only:
                raise _not_found()
            raise _not_supported("automatic persisted queries are off on this server")
        text = await self.automatic.get(tenant, digest)
        if text is None:
            raise _not_found()
        return text

    def _registering(
        self, tenant: str, digest: str, received: ReceivedRequest, query: str
    ) -> Resolved:
        if document_hash(query) != digest:
            raise RequestRejectedError(
                400,
                "provided sha256Hash does not match the query's SHA-256",
                code="PERSISTED_QUERY_HASH_MISMATCH",
            )
        request = self._request(received, query)
        if self.settings.only:
            if not self._trusted(query):
                raise _only()
            return Resolved(request)
        too_large = len(query.encode("utf-8")) > self.max_document_bytes
        if self.automatic is None or too_large:
            # Still runs (and a too large one is refused by the size limit next).
            return Resolved(request)
        return Resolved(request, Registration(tenant, digest, query))

    @staticmethod
    def _request(received: ReceivedRequest, query: str) -> GraphQLRequest:
        return GraphQLRequest(
            query=query,
            variables=received.variables,
            operation_name=received.operation_name,
            extensions=_without_persisted_query(received.extensions),
        )
