"""Which failures end an operation (rejected), which are retried, and which blame the connection."""

from __future__ import annotations

import pytest
import requests

from credly_sync.hooks.base import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RetriesExhaustedError,
    UncertainOutcomeError,
    ValidationError,
)
from credly_sync.operators.apply import CONNECTION, REJECTED, TRANSIENT, classify


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (ValidationError("template archived", status=422), REJECTED),
        (ValidationError("bad e-mail", status=400), REJECTED),
        (NotFoundError("no such badge", status=404), REJECTED),
        (PermissionDeniedError("other organization", status=403), REJECTED),
        (ApiError("gone", status=410), REJECTED),
        (AuthenticationError("token expired", status=401), CONNECTION),
        (RetriesExhaustedError("gave up; last: 429 Too Many Requests"), TRANSIENT),
        (UncertainOutcomeError("503", status=503), TRANSIENT),
        (MalformedResponseError("answer without a data object"), TRANSIENT),
        (ApiError("too many", status=429), TRANSIENT),
        (requests.Timeout("read timed out"), TRANSIENT),
        (ValueError("something unexpected"), TRANSIENT),
    ],
)
def test_classify(error: BaseException, verdict: str) -> None:
    assert classify(error) == verdict
