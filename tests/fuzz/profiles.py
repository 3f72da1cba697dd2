"""Hypothesis settings for the fuzz suite: bounded and reproducible in CI, longer locally.

``ORDERGRAPH_FUZZ_PROFILE=fuzz-long`` multiplies every test's example count by 25 and
draws fresh random examples each run (``derandomize`` off); the default ``fuzz-ci``
profile replays the same examples every run, so a CI failure reproduces locally.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["fuzz_settings"]

_COMMON = {
    "deadline": None,
    "database": None,  # no .hypothesis folder in the working tree
    # One gateway per test, shared by its examples: building one per example would
    # cost seconds each, and the examples do not depend on each other's state.
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    "print_blob": True,
}
settings.register_profile("fuzz-ci", derandomize=True, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("fuzz-long", derandomize=False, **_COMMON)  # type: ignore[arg-type]

_PROFILE = os.environ.get("ORDERGRAPH_FUZZ_PROFILE", "fuzz-ci")
_SCALE = 25 if _PROFILE == "fuzz-long" else 1


def fuzz_settings(examples: int) -> settings:
    """Settings for one fuzz test: ``examples`` in CI, more under the long profile."""
    return settings(settings.get_profile(_PROFILE), max_examples=examples * _SCALE)
