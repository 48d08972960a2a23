"""Which Credly organisations are exported to Microsoft 365 profiles: one DAG each.

Read from the environment variable ``CREDLY_SYNC_M365_EXPORTS`` (a JSON list) when the DAG file
is parsed: an environment variable costs nothing at parse time, unlike ``Variable.get``
(airflow-3.md §15). Without it there is one export, ``credly_default`` -> ``msgraph_default``.
Microsoft's connector takes one Credly organisation per connection, and so does this: every
export has its own Graph connection id. Example::

    [{"name": "default"},
     {"name": "emea", "credly_conn_id": "credly_emea", "connection_id": "credlyemea",
      "award_template_ids": ["<template id>"], "award_name_pattern": "award|recognition"}]
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from credly_sync.planning.profiles import BadgeClassification

ENV_VAR = "CREDLY_SYNC_M365_EXPORTS"
DEFAULT_DAG_ID = "credly_to_m365_profiles"
DEFAULT_CONNECTION_ID = "credlybadges"
NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,30}$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ProfileExport:
    """One Credly organisation -> one Graph external connection.

    :param name: ``default`` gives DAG ``credly_to_m365_profiles``, others ``..._<name>``.
    :param connection_id: the Graph external connection id (3-32 letters or digits).
    :param full_sync_weekday: the day (in ``timezone``) whose run is a full run.
    """

    name: str = "default"
    credly_conn_id: str = "credly_default"
    msgraph_conn_id: str = "msgraph_default"
    connection_id: str = DEFAULT_CONNECTION_ID
    connection_name: str = "Credly badges"
    schedule: str = "0 3 * * *"
    timezone: str = "UTC"
    full_sync_weekday: str = "sunday"
    award_template_ids: tuple[str, ...] = ()
    award_name_pattern: str | None = None
    extra_tags: tuple[str, ...] = field(default=())

    @property
    def dag_id(self) -> str:
        return DEFAULT_DAG_ID if self.name == "default" else f"{DEFAULT_DAG_ID}_{self.name}"

    @property
    def classification(self) -> BadgeClassification:
        return BadgeClassification(frozenset(self.award_template_ids), self.award_name_pattern)

    @property
    def watermark_stream(self) -> str:
        return f"m365_profiles:{self.connection_id}"


def load_exports(text: str | None = None) -> list[ProfileExport]:
    """The configured exports (``text`` defaults to the environment variable); clear errors."""
    text = os.environ.get(ENV_VAR) if text is None else text
    if not text or not text.strip():
        return [ProfileExport()]
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{ENV_VAR} is not JSON: {exc}") from None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{ENV_VAR} must be a non-empty JSON list of objects")
    exports = [_export(entry, index) for index, entry in enumerate(entries)]
    for attribute in ("name", "connection_id", "credly_conn_id"):
        values = [getattr(export, attribute) for export in exports]
        if len(set(values)) != len(values):
            raise ValueError(f"{ENV_VAR}: every export needs its own {attribute}")
    return exports


def _export(entry: Any, index: int) -> ProfileExport:
    if not isinstance(entry, dict):
        raise ValueError(f"{ENV_VAR}[{index}] must be an object")
    known = set(ProfileExport.__dataclass_fields__)
    unknown = set(entry) - known
    if unknown:
        raise ValueError(f"{ENV_VAR}[{index}]: unknown keys {sorted(unknown)}")
    name = str(entry.get("name", "default"))
    values = dict(entry)
    if name != "default" and "connection_id" not in values:
        values["connection_id"] = (DEFAULT_CONNECTION_ID + re.sub(r"[^a-z0-9]", "", name))[:32]
    for key in ("award_template_ids", "extra_tags"):
        if key in values:
            values[key] = tuple(str(v) for v in values[key])
    export = ProfileExport(**values)
    if not NAME.match(export.name):
        raise ValueError(f"{ENV_VAR}[{index}]: name {export.name!r} must be lower-case letters, digits, _")
    if not re.fullmatch(r"[A-Za-z0-9]{3,32}", export.connection_id):
        raise ValueError(f"{ENV_VAR}[{index}]: connection_id must be 3-32 letters or digits")
    if export.full_sync_weekday not in WEEKDAYS:
        raise ValueError(f"{ENV_VAR}[{index}]: full_sync_weekday must be one of {', '.join(WEEKDAYS)}")
    if export.award_name_pattern:
        re.compile(export.award_name_pattern)
    return export
