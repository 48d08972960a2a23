"""The integration-settings lookup table (integration ``CREDLY``), parsed once into a typed object.

Rules from the Docebo Connect for Credly article: booleans are ``true``/``false`` in lower case;
CREDLY_INTEGRATION_MASTER names the source of truth for certifications (``CREDLY``, the LMS name,
or empty for both directions). Every bad value is reported at once, naming key, value and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from credly_sync.warehouse.schema import integration_settings

INTEGRATION = "CREDLY"
CREDLY_MASTER = "CREDLY"
LMS_NAMES = ("DOCEBO", "ALM")  # the LMS setting's values (extract/lms ADAPTERS)
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class SettingsError(ValueError):
    """One or more integration settings are missing or invalid; ``problems`` lists each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid integration settings:\n  - " + "\n  - ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class IntegrationSettings:
    """The CREDLY settings, typed."""

    batch_sync_start_date: date
    notification_mail_id: str
    sync_revocation: bool
    default_expiration_days: int | None
    external_training_institute_name: str
    course_additional_field: str
    integration_master: str | None
    evidence_title: str
    lms_api_calls_per_hour: int = 1000
    lms: str = "DOCEBO"

    # CREDLY_INTEGRATION_MASTER is scoped to certifications (the article: "Docebo certifications
    # can be synchronized either from Credly to Docebo or vice-versa"); course and learning-plan
    # badges and external training run whatever its value.

    @property
    def lms_certifications_to_credly(self) -> bool:
        """LMS certification awards become Credly badges unless Credly is the master."""
        return self.integration_master != CREDLY_MASTER

    @property
    def credly_certifications_to_lms(self) -> bool:
        """Credly badges become LMS certification awards unless the LMS is the master."""
        return self.integration_master in (None, CREDLY_MASTER)


def _boolean(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError("must be 'true' or 'false' (lower case)")
    return value == "true"


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date as YYYY-MM-DD") from None


def _email(value: str) -> str:
    if not EMAIL_PATTERN.match(value):
        raise ValueError("must be one e-mail address, like admin@example.com")
    return value


def _expiration_days(value: str) -> int | None:
    if value == "":
        return None
    if not value.isdigit() or int(value) == 0:
        raise ValueError("must be a whole number of days above 0, or empty for no expiry")
    return int(value)


def _master(value: str) -> str | None:
    allowed = (CREDLY_MASTER, *LMS_NAMES)
    if value == "":
        return None
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}, or empty for both directions")
    return value


def _lms(value: str) -> str:
    if value not in LMS_NAMES:
        raise ValueError(f"must be one of {', '.join(LMS_NAMES)} (the LMS this deployment syncs)")
    return value


def _calls_per_hour(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise ValueError("must be a whole number of calls above 0 (Docebo documents 1000 per hour per IP)")
    return int(value)


def _text(value: str) -> str:
    if value == "":
        raise ValueError("must not be empty")
    return value


@dataclass(frozen=True)
class SettingSpec:
    key: str
    field: str
    parse: Callable[[str], object]
    default: str | None  # None: the row is required
    only_for: str | None = None  # required only when LMS is this one (else empty)


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("BATCH_SYNC_START_DATE", "batch_sync_start_date", _iso_date, None),
    SettingSpec("NOTIFICATION_MAIL_ID", "notification_mail_id", _email, None),
    SettingSpec("SYNC_REVOCATION", "sync_revocation", _boolean, "false"),
    SettingSpec("CREDLY_DEFAULT_EXPIRATION_DAYS", "default_expiration_days", _expiration_days, ""),
    SettingSpec("EXTERNAL_TRAINING_INSTITUTE_NAME", "external_training_institute_name", _text, "Credly"),
    SettingSpec("COURSE_ADDITIONAL_FIELD", "course_additional_field", _text, None, only_for="DOCEBO"),
    SettingSpec("CREDLY_INTEGRATION_MASTER", "integration_master", _master, ""),
    SettingSpec("EVIDENCE_TITLE", "evidence_title", _text, "credly-sync"),
    SettingSpec("LMS_API_CALLS_PER_HOUR", "lms_api_calls_per_hour", _calls_per_hour, "1000"),
    SettingSpec("LMS", "lms", _lms, "DOCEBO"),
)
SPECS_BY_KEY = {spec.key: spec for spec in SPECS}


def parse_settings(rows: Mapping[str, str | None]) -> IntegrationSettings:
    """Parse ``{key: value}`` rows; raise :class:`SettingsError` listing every problem."""
    problems = [
        f"{key}: unknown key (known: {', '.join(SPECS_BY_KEY)})" for key in rows if key not in SPECS_BY_KEY
    ]
    values: dict[str, object] = {}
    lms = (rows.get("LMS") or "DOCEBO").strip()
    for spec in SPECS:
        raw = rows.get(spec.key)
        if raw is None and spec.only_for not in (None, lms):
            values[spec.field] = ""
            continue
        if raw is None and spec.default is None:
            problems.append(f"{spec.key}: missing; add a row (integration {INTEGRATION}, key {spec.key})")
            continue
        value = (raw if raw is not None else spec.default or "").strip()
        try:
            values[spec.field] = spec.parse(value)
        except ValueError as exc:
            problems.append(f"{spec.key} = {raw!r}: {exc}")
    master = values.get("integration_master")
    if master not in (None, CREDLY_MASTER) and master != values.get("lms", lms):
        problems.append(f"CREDLY_INTEGRATION_MASTER = {master!r}: must be CREDLY, LMS ({lms}) or empty")
    if problems:
        raise SettingsError(problems)
    return IntegrationSettings(**values)  # type: ignore[arg-type]


def validate_value(key: str, value: str) -> None:
    """Check one value before it is stored; raise :class:`SettingsError` naming the problem."""
    spec = SPECS_BY_KEY.get(key)
    if spec is None:
        raise SettingsError([f"{key}: unknown key (known: {', '.join(SPECS_BY_KEY)})"])
    try:
        spec.parse(value.strip())
    except ValueError as exc:
        raise SettingsError([f"{key} = {value!r}: {exc}"]) from None


def read_setting_rows(engine: Engine) -> dict[str, str | None]:
    """The raw CREDLY rows of the integration-settings table."""
    query = select(integration_settings.c.key, integration_settings.c.value).where(
        integration_settings.c.integration == INTEGRATION
    )
    with engine.connect() as connection:
        return {key: value for key, value in connection.execute(query)}


def load_settings(engine: Engine) -> IntegrationSettings:
    """Read and parse the CREDLY settings from the warehouse."""
    return parse_settings(read_setting_rows(engine))


def write_setting(engine: Engine, key: str, value: str) -> None:
    """Validate and store one setting (insert or update)."""
    validate_value(key, value)
    table = integration_settings
    where = (table.c.integration == INTEGRATION) & (table.c.key == key)
    with engine.begin() as connection:
        updated = connection.execute(table.update().where(where).values(value=value)).rowcount
        if not updated:
            connection.execute(table.insert().values(integration=INTEGRATION, key=key, value=value))
