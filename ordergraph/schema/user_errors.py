"""``UserError``: a refusal as data, shared by every mutation payload."""

from __future__ import annotations

import strawberry

from ordergraph.resolvers.mutations import MutationOutcome, UserIssue
from ordergraph.schema.enums import UserErrorCode

__all__ = ["UserError", "user_errors"]


@strawberry.type(description="Why a mutation did not do (all of) what was asked.")
class UserError:
    code: UserErrorCode = strawberry.field(description="What went wrong, for programs.")
    message: str = strawberry.field(description="What went wrong, for people.")
    field: list[str] | None = strawberry.field(description="Path to the input field at fault.")

    @classmethod
    def from_issue(cls, issue: UserIssue) -> UserError:
        return cls(
            code=issue.code, message=issue.message, field=list(issue.field) if issue.field else None
        )


def user_errors(outcome: MutationOutcome) -> list[UserError]:
    """The outcome's issues, as the payload's ``errors``."""
    return [UserError.from_issue(issue) for issue in outcome.issues]
