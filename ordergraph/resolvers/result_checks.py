"""What every result must be before it is stored or sent, whatever its provider.

``submitResult`` runs these checks first: a result that breaks one is refused with
INVALID_INPUT naming the input field, and nothing is recorded or sent, so a result the
provider would refuse (or worse, take) never replaces the one it accepted. What only
one provider demands is its adapter's ``check_result``.

Fields are paths below the mutation's ``input`` argument (``("url",)``,
``("attachments", "0", "url")``), as ``UserError.field`` shows them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from ordergraph.models import AttributeType, ResultSubmission

__all__ = ["InputProblem", "check_submission", "is_absolute_http_url"]


@dataclass(frozen=True, slots=True)
class InputProblem:
    """One way a result breaks the rules: the input field at fault and why."""

    field: tuple[str, ...]
    message: str


def is_absolute_http_url(value: str) -> bool:
    """An ``http``/``https`` URL with a host and no whitespace: what a provider (and the
    candidate's ATS behind it) can fetch or link to."""
    if not value or value != value.strip() or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _url_problem(value: str | None, field: tuple[str, ...], what: str) -> InputProblem | None:
    if value is None or is_absolute_http_url(value):
        return None
    return InputProblem(field, f"{what} must be an absolute http(s) URL")


def _score_problems(
    score: float | None,
    max_score: float | None,
    min_score: float | None,
    prefix: tuple[str, ...] = (),
) -> Iterator[InputProblem]:
    names = {"score": score, "maxScore": max_score, "minScore": min_score}
    bad = [name for name, value in names.items() if value is not None and not math.isfinite(value)]
    for name in bad:
        yield InputProblem((*prefix, name), f"{name} must be a finite number")
    if bad:
        return
    if max_score is not None and max_score <= 0:
        yield InputProblem((*prefix, "maxScore"), "maxScore must be greater than 0")
        return
    if min_score is not None and min_score < 0:
        yield InputProblem((*prefix, "minScore"), "minScore must not be negative")
    if min_score is not None and max_score is not None and min_score > max_score:
        yield InputProblem((*prefix, "minScore"), "minScore must not exceed maxScore")
    if score is None:
        return
    if score < 0:
        yield InputProblem((*prefix, "score"), "score must not be negative")
    elif max_score is not None and score > max_score:
        yield InputProblem(
            (*prefix, "score"), f"score must be within [0, maxScore] ({score:g} > {max_score:g})"
        )


def check_submission(submission: ResultSubmission) -> list[InputProblem]:
    """Every rule ``submission`` breaks, in input order (empty when it may be sent)."""
    problems: list[InputProblem] = []
    url = _url_problem(submission.url, ("url",), "url")
    if url is not None:
        problems.append(url)
    problems.extend(_score_problems(submission.score, submission.max_score, submission.min_score))
    started, completed = submission.started_at, submission.completed_at
    # Naive and aware times cannot be compared; the schema gives aware ones.
    if (
        started is not None
        and completed is not None
        and (started.tzinfo is None) == (completed.tzinfo is None)
        and started > completed
    ):
        problems.append(InputProblem(("completedAt",), "completedAt must not be before startedAt"))
    for index, attribute in enumerate(submission.attributes):
        where: tuple[str, ...] = ("attributes", str(index))
        if not attribute.label.strip():
            problems.append(InputProblem((*where, "label"), "an attribute needs a label"))
        if attribute.type is AttributeType.SUB_RESULT or attribute.score is not None:
            problems.extend(
                _score_problems(attribute.score, attribute.max_score, None, prefix=where)
            )
    for index, attachment in enumerate(submission.attachments):
        where = ("attachments", str(index), "url")
        if attachment.url is None:
            problems.append(InputProblem(where, "an attachment needs a url"))
            continue
        problem = _url_problem(attachment.url, where, "an attachment's url")
        if problem is not None:
            problems.append(problem)
    return problems
