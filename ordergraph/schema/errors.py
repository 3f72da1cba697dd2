"""Errors that reach clients on purpose, with codes they can branch on.

Everything else is masked by ``MaskErrors`` (no stack trace, no internal path, no
secret) and coded ``INTERNAL_SERVER_ERROR``. A provider failure becomes a
``PublicError`` on the fields it costs, with ``extensions {code, connectionId,
provider, retryAfter}``.

Every error a client sees carries ``extensions.code``. Errors graphql-core makes
itself have none, so ``assign_code`` gives them one (Apollo's names, which client
libraries already know):

=========================================  =============================
error                                      ``extensions.code``
=========================================  =============================
the document does not parse                ``GRAPHQL_PARSE_FAILED``
the document does not validate             ``GRAPHQL_VALIDATION_FAILED``
a variable's value does not coerce         ``BAD_USER_INPUT``
an id that is no global id of this API     ``INVALID_ID``
anything unexpected (masked)               ``INTERNAL_SERVER_ERROR``
=========================================  =============================

Errors that already have a code (limits, scopes, cursors, providers) keep it.
"""

from __future__ import annotations

from typing import Final

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors
from strawberry.relay.types import GlobalIDValueError

from ordergraph.resolvers.public_errors import PublicError, provider_failure

__all__ = [
    "BAD_USER_INPUT",
    "INTERNAL_SERVER_ERROR",
    "INVALID_ID",
    "PARSE_FAILED",
    "VALIDATION_FAILED",
    "CodedMaskErrors",
    "PublicError",
    "assign_code",
    "code_of",
    "is_public",
    "provider_failure",
]

PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT: Final = "BAD_USER_INPUT"
INVALID_ID: Final = "INVALID_ID"
INTERNAL_SERVER_ERROR: Final = "INTERNAL_SERVER_ERROR"


def _is_bad_global_id(error: GraphQLError) -> bool:
    # Strawberry's GlobalID scalar raises this for an id that is not base64 of
    # ``Type:key`` (as a literal, a variable or inside a list).
    return isinstance(error.original_error, GlobalIDValueError)


def is_public(error: GraphQLError) -> bool:
    """True for errors we raised deliberately or graphql-core's own (syntax, validation,
    variable coercion), and for ids the GlobalID scalar could not read."""
    original = error.original_error
    if original is None:
        return True
    if isinstance(original, PublicError):
        return True
    if _is_bad_global_id(error):
        return True
    return isinstance(original, GraphQLError) and original.original_error is None


def code_of(error: GraphQLError) -> str | None:
    """The error's ``extensions.code``, if it has one."""
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else None


def assign_code(error: GraphQLError, *, executed: bool) -> str:
    """Give ``error`` its ``extensions.code`` if it has none, and return the code.

    ``executed`` says whether execution started (so an error without a path is a
    variable that did not coerce, not a validation error). An error that will be
    masked gets no code here: ``CodedMaskErrors`` gives its replacement one.
    """
    code = code_of(error)
    if code is not None:
        return code
    if not is_public(error):
        return INTERNAL_SERVER_ERROR
    if isinstance(error, GraphQLSyntaxError):
        code = PARSE_FAILED
    elif _is_bad_global_id(error):
        code = INVALID_ID
    elif not executed:
        code = VALIDATION_FAILED
    elif not error.path:
        code = BAD_USER_INPUT  # graphql-core's variable coercion, before any field ran
    else:
        # A public error at a field without a code: graphql-core's own (a value our
        # resolver returned that the type refuses would be masked, not this).
        code = BAD_USER_INPUT
    error.extensions = {**(error.extensions or {}), "code": code}
    return code


class CodedMaskErrors(MaskErrors):
    """Strawberry's ``MaskErrors`` whose generic replacement still carries a code."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL_SERVER_ERROR}
        return masked
