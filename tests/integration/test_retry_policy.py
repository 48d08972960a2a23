"""ApiHttpHook's retry policy where the hook tests leave it open: the waits between attempts
(none after the last), their log lines, and the Retry-After a client cannot or will not wait."""

from __future__ import annotations

import re

import pytest

from credly_sync.hooks.base import RateLimitedError, RetriesExhaustedError, RetryPolicy
from credly_sync.hooks.credly import CredlyHook
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from tests.fixtures.credly import CredlySim, SleepRecorder

GET_TEMPLATES = {"method": "GET", "path": r"/badge_templates$"}
POLICY = RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_max=1.5, max_retry_after=60, timeout=2.0)


@pytest.fixture
def hook(credly_connection: str) -> CredlyHook:
    hook = CredlyHook(credly_connection, retry=POLICY)
    hook.sleep = SleepRecorder()
    return hook


def test_backoff_between_attempts_and_none_after_the_last(
    hook: CredlyHook, credly_sim: CredlySim, capsys: pytest.CaptureFixture[str]
) -> None:
    credly_sim.set_faults(FaultRule("status", status=503, **GET_TEMPLATES))
    with pytest.raises(RetriesExhaustedError, match=r"gave up after 4 attempts; last: 503 "):
        list(hook.iter_badge_templates())
    assert credly_sim.call_count("GET", "badge_templates") == 4
    assert hook.sleep.waits == [0.5, 1.0, 1.5]
    logged = re.findall(r"badge_templates: 503 [^;]*; (retry \S+ in \S+)", capsys.readouterr().out)
    assert logged == ["retry 1/3 in 0.5s", "retry 2/3 in 1.0s", "retry 3/3 in 1.5s"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_retry_after_beyond_the_policy_is_raised_at_once(
    hook: CredlyHook, credly_sim: CredlySim, method: str
) -> None:
    """The operators reschedule on RateLimitedError instead of holding a worker slot."""
    template = credly_sim.create_template()
    credly_sim.set_faults(FaultRule("status", status=429, retry_after=61, times=1, method=method))
    person = learner(0)
    body = {"badge_template_id": template.id, "recipient_email": person.email, "issued_at": "2026-03-01"}
    with pytest.raises(RateLimitedError) as raised:
        list(hook.iter_badge_templates()) if method == "GET" else hook.issue_badge(body)
    assert raised.value.retry_after == 61
    assert credly_sim.call_count(method, "badge_templates" if method == "GET" else "badges") == 1
    assert hook.sleep.waits == []


def test_a_retry_after_that_is_no_number_waits_the_backoff(hook: CredlyHook, credly_sim: CredlySim) -> None:
    credly_sim.create_template()
    date = "Wed, 02 Dec 2026 09:41:00 GMT"  # an HTTP date: allowed, but not read by the hook
    credly_sim.set_faults(FaultRule("status", status=429, retry_after=date, times=2, **GET_TEMPLATES))
    assert len(list(hook.iter_badge_templates())) == 1
    assert hook.sleep.waits == [0.5, 1.0]
