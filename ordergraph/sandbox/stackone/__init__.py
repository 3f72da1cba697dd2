"""StackOne simulator: the ATS assessments API of the 2025-12-03 spec, under ``/stackone``.

Routes (paths as in the spec; every one needs Basic auth and ``x-account-id``):

- ``GET   /unified/ats/assessments/packages``             cursor list (``page_size``, ``next``)
- ``GET   /unified/ats/assessments/packages/{id}``        one package
- ``POST  /unified/ats/assessments/orders``               create: ``{id, remote_id, test_url}``
- ``PATCH /unified/ats/assessments/orders/{id}/result``   write a result: ``UpdateResult``
- ``GET   /unified/ats/assessments/orders/{id}``          2025-02 only (removed in 2025-12)
- ``GET   /unified/ats/assessments/orders/{id}/results``  2025-02 only (removed in 2025-12)

The two GETs on orders were removed from the current spec; the simulator keeps them
so a client can read back what was posted and written (the 2025-02 file is their
contract). An unknown order there is a 404 as everywhere else, although the 2025-02
file declares no 404 at all (it lists 400, 403, 408, 412, 429, 500, 501).
Background-check endpoints are not simulated.

Choices where PROVIDERS.md (section 2) says "not found" or "not verified":

- Auth: HTTP Basic with the API key as *username* and an empty password (StackOne's
  convention, unverified). One API key per sandbox, as StackOne keys belong to a
  project and reach all its linked accounts. Missing or wrong credentials → 401.
- ``x-account-id`` missing → 400; an account the project does not have → 403
  ("not yours"), not 404, so a wrong account is never mistaken for a missing record;
  403 is also declared by both spec versions.
- Orders have no status at StackOne; ground truth reports ``null`` until a result
  is written, then the latest ``result.value``. Orders exist only once POSTed (or
  made by ``create_orders`` through the same code path): there is no order list and
  no order webhook, so ``seed()`` starts with none and ``webhook_secret`` is ``""``.
- ``page_size`` must be an integer from 1 to 100 (default 25; the maximum is ours),
  anything else → 400. ``next`` is an opaque cursor; a bad one → 400. ``filter`` /
  ``updated_after`` are accepted and ignored (packages carry no update time).
- Bodies are checked against the spec's types (nullable everywhere, unknown keys
  ignored); a wrong type or enum → 400, as StackOne's request validation does. A
  POST needs ``package.id`` (or ``package.remote_id``) and a ``candidate`` object
  (our minimum); a package the account does not offer → 422.
- ``PATCH …/result`` merges the fields sent into the stored result (PATCH semantics).
- Absent values are omitted from responses rather than sent as ``null``: the spec is
  OpenAPI 3.1, where ``nullable: true`` no longer admits ``null``.
- The 2025-02 result enum lacks ``initiated``, ``in_progress`` and ``unmapped_value``
  and its attachment type enum has only ``text``/``unmapped_value``; the legacy GET
  serves such values in ``source_value`` (without ``value``, resp. as
  ``unmapped_value``) so the legacy answer stays inside its own spec. A
  ``source_value`` the client wrote is served as written (StackOne keeps the source
  word: a REJECTED sent as ``unmapped_value``, a MIME type beside ``pdf``); only where
  none was written does the value itself move there.
"""

from ordergraph.sandbox.stackone.shapes import (
    CONTENT_TYPE_VALUES,
    RESULT_VALUES,
    decode_cursor,
    encode_cursor,
)
from ordergraph.sandbox.stackone.simulator import StackOneSimulator

__all__ = [
    "CONTENT_TYPE_VALUES",
    "RESULT_VALUES",
    "StackOneSimulator",
    "decode_cursor",
    "encode_cursor",
]
