"""The Credly Badge Templates table -> the LMS course additional field (dropdown)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from sqlalchemy import Connection

from credly_sync.extract.lms.docebo import DoceboLms
from credly_sync.hooks.docebo import DoceboHook
from credly_sync.operators.apply import Applied, ApplyJournalOperator, OperationSkipped
from credly_sync.planning.dropdown import (
    ADD,
    ALLOW_LARGE_CUT_PARAM,
    DROPDOWN_KINDS,
    OPTION_COLUMNS,
    RELABEL,
    REMOVE,
    DropdownCutRefused,
    plan_dropdown,
)
from credly_sync.planning.frames import frame
from credly_sync.settings import load_settings
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.journal import JournalEntry, record_operations, supersede_open
from credly_sync.warehouse.templates import (
    link_dropdown_elements,
    read_template_table,
    unlink_dropdown_element,
)
from credly_sync.webui.links import CredlySyncPageLink


class PlanCourseDropdownOperator(BaseOperator):
    """Ensure the COURSE_ADDITIONAL_FIELD dropdown exists, compare its options with the active
    templates and journal the option changes (replacing any plan left open by an earlier run).

    Settings are validated before the LMS is touched. A plan that would empty the dropdown or
    remove more than a routine share of it fails the task, journaling nothing, unless the run's
    param ``allow_large_dropdown_cut`` is true.

    :param docebo_conn_id: the Docebo connection.
    :param warehouse_conn_id: the warehouse SQL connection.
    """

    template_fields = ("docebo_conn_id", "warehouse_conn_id")
    operator_extra_links = (CredlySyncPageLink(),)

    def __init__(
        self,
        *,
        docebo_conn_id: str = DoceboHook.default_conn_name,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.docebo_conn_id = docebo_conn_id
        self.warehouse_conn_id = warehouse_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        engine = warehouse_engine(self.warehouse_conn_id)
        settings = load_settings(engine)
        if settings.lms != DoceboLms.name:
            raise AirflowSkipException(
                f"LMS is {settings.lms}: the course dropdown is Docebo's (an ALM badge names its "
                "Credly template through badge.csv: python -m credly_sync alm badge-csv export)"
            )
        field_name = settings.course_additional_field
        hook = DoceboHook(self.docebo_conn_id)
        field = hook.ensure_dropdown_field(field_name)
        options = frame(
            ({"element_id": o.element_id, "label": o.label} for o in field.options), OPTION_COLUMNS
        )
        allow_large_cut = bool((context.get("params") or {}).get(ALLOW_LARGE_CUT_PARAM))
        try:
            plan = plan_dropdown(
                read_template_table(engine),
                options,
                str(field.field_id),
                context["run_id"],
                allow_large_cut=allow_large_cut,
            )
        except DropdownCutRefused as exc:
            raise AirflowFailException(str(exc)) from None  # a retry would refuse again
        with engine.begin() as connection:
            supersede_open(connection, DROPDOWN_KINDS, f"superseded by the plan of {context['run_id']}")
            record_operations(connection, plan.operations, context["run_id"])
            link_dropdown_elements(connection, plan.links)
        summary = {
            "field_id": field.field_id,
            "field_name": field_name,
            "options": len(options),
            **plan.summary(),
        }
        self.log.info("dropdown plan: %s", summary)
        return summary


class ApplyCourseDropdownOperator(ApplyJournalOperator):
    """Add, relabel and remove dropdown options as planned; store or clear element ids.

    Removing an option resets the courses that used it to the field's default value in the LMS
    (their completion state is untouched) and clears the element id in the warehouse.

    :param docebo_conn_id: the Docebo connection.
    """

    kinds = DROPDOWN_KINDS
    template_fields = ("docebo_conn_id", "warehouse_conn_id")

    def __init__(self, *, docebo_conn_id: str = DoceboHook.default_conn_name, **kwargs: Any) -> None:
        kwargs.setdefault("max_workers", 1)
        super().__init__(**kwargs)
        self.docebo_conn_id = docebo_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        # Also when this task is cleared and run alone: no LMS write with invalid settings.
        load_settings(warehouse_engine(self.warehouse_conn_id))
        return super().execute(context)

    def get_hook(self) -> DoceboHook:
        return DoceboHook(self.docebo_conn_id, retry=self.http_retry)

    def apply_one(self, hook: DoceboHook, entry: JournalEntry) -> dict[str, Any] | None:
        payload = entry.payload
        field_id = payload["field_id"]
        if entry.kind == ADD:
            return {"element_id": hook.add_dropdown_option(field_id, payload["label"])}
        if entry.kind == RELABEL:
            hook.rename_dropdown_option(field_id, payload["element_id"], payload["label"])
            return None
        if entry.kind == REMOVE:
            hook.remove_dropdown_option(field_id, payload["element_id"])
            return None
        raise OperationSkipped(f"unknown dropdown operation {entry.kind}")

    def record_effects(self, connection: Connection, applied: list[Applied]) -> None:
        for entry, result in applied:
            if entry.kind == ADD and result:
                link_dropdown_elements(connection, {entry.payload["badge_template_id"]: result["element_id"]})
            elif entry.kind == REMOVE:
                unlink_dropdown_element(connection, entry.payload["element_id"])
