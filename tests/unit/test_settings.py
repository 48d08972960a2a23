"""Parsing the CREDLY integration settings: types, defaults, and errors that name key and value."""

from __future__ import annotations

from datetime import date

import pytest

from credly_sync.settings import SettingsError, parse_settings, validate_value

VALID = {
    "BATCH_SYNC_START_DATE": "2026-01-01",
    "NOTIFICATION_MAIL_ID": "admin@example.com",
    "SYNC_REVOCATION": "true",
    "CREDLY_DEFAULT_EXPIRATION_DAYS": "365",
    "EXTERNAL_TRAINING_INSTITUTE_NAME": "Credly",
    "COURSE_ADDITIONAL_FIELD": "Credly Badge Template",
    "CREDLY_INTEGRATION_MASTER": "",
    "EVIDENCE_TITLE": "Issued by credly-sync",
}


def test_valid_rows_become_typed_settings() -> None:
    settings = parse_settings(VALID)
    assert settings.batch_sync_start_date == date(2026, 1, 1)
    assert settings.sync_revocation is True
    assert settings.default_expiration_days == 365
    assert settings.integration_master is None
    assert settings.lms_certifications_to_credly and settings.credly_certifications_to_lms


def test_optional_rows_take_documented_defaults() -> None:
    required = {
        k: VALID[k] for k in ("BATCH_SYNC_START_DATE", "NOTIFICATION_MAIL_ID", "COURSE_ADDITIONAL_FIELD")
    }
    settings = parse_settings(required)
    assert settings.sync_revocation is False
    assert settings.default_expiration_days is None
    assert settings.external_training_institute_name == "Credly"
    assert settings.integration_master is None


@pytest.mark.parametrize(
    ("master", "lms_to_credly", "credly_to_lms"),
    [("", True, True), ("CREDLY", False, True), ("DOCEBO", True, False)],
)
def test_integration_master_picks_the_direction_of_certifications(
    master: str, lms_to_credly: bool, credly_to_lms: bool
) -> None:
    settings = parse_settings({**VALID, "CREDLY_INTEGRATION_MASTER": master})
    directions = (settings.lms_certifications_to_credly, settings.credly_certifications_to_lms)
    assert directions == (lms_to_credly, credly_to_lms)


def test_every_bad_key_is_reported_at_once_with_value_and_rule() -> None:
    bad = {
        **VALID,
        "BATCH_SYNC_START_DATE": "01/02/2026",
        "SYNC_REVOCATION": "True",
        "NOTIFICATION_MAIL_ID": "not-an-address",
        "CREDLY_DEFAULT_EXPIRATION_DAYS": "-3",
        "CREDLY_INTEGRATION_MASTER": "MOODLE",
        "SYNC_REVOKATION": "true",
    }
    with pytest.raises(SettingsError) as caught:
        parse_settings(bad)
    problems = caught.value.problems
    assert len(problems) == 6
    text = str(caught.value)
    assert "BATCH_SYNC_START_DATE = '01/02/2026': must be a date as YYYY-MM-DD" in text
    assert "SYNC_REVOCATION = 'True': must be 'true' or 'false' (lower case)" in text
    assert "NOTIFICATION_MAIL_ID = 'not-an-address'" in text
    assert "CREDLY_DEFAULT_EXPIRATION_DAYS = '-3'" in text
    assert "CREDLY_INTEGRATION_MASTER = 'MOODLE': must be one of CREDLY, DOCEBO" in text
    assert "SYNC_REVOKATION: unknown key" in text


def test_missing_required_rows_are_named() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"SYNC_REVOCATION": "false"})
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "BATCH_SYNC_START_DATE",
        "NOTIFICATION_MAIL_ID",
        "COURSE_ADDITIONAL_FIELD",
    ]


def test_validate_value_checks_a_single_key() -> None:
    validate_value("SYNC_REVOCATION", "false")
    with pytest.raises(SettingsError, match="CREDLY_DEFAULT_EXPIRATION_DAYS = 'ten'"):
        validate_value("CREDLY_DEFAULT_EXPIRATION_DAYS", "ten")
    with pytest.raises(SettingsError, match="NOPE: unknown key"):
        validate_value("NOPE", "x")
