"""Queries for the Credly Badge Templates table, its mappings and the course dropdown links."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from sqlalchemy import Connection, Engine, select

from credly_sync.planning.frames import frame, records
from credly_sync.planning.operations import Operation
from credly_sync.planning.templates import MAPPING_COLUMNS, TABLE_COLUMNS, TemplateTablePlan
from credly_sync.warehouse.journal import record_operations
from credly_sync.warehouse.schema import (
    course_badge_templates,
    credly_badge_templates,
    credly_integration_mappings,
    utcnow,
)


def read_template_table(engine: Engine) -> pd.DataFrame:
    table = credly_badge_templates
    with engine.connect() as connection:
        rows = connection.execute(
            select(*[table.c[c] for c in TABLE_COLUMNS]).order_by(table.c.badge_template_name)
        )
        return frame(rows.mappings(), TABLE_COLUMNS)


def read_mappings(engine: Engine) -> pd.DataFrame:
    table = credly_integration_mappings
    with engine.connect() as connection:
        rows = connection.execute(select(*[table.c[c] for c in MAPPING_COLUMNS]).order_by(table.c.id))
        return frame(rows.mappings(), MAPPING_COLUMNS)


def apply_template_plan(
    engine: Engine, plan: TemplateTablePlan, notices: list[Operation], dag_run_id: str | None
) -> None:
    """Write the planned table changes, deactivate mappings and journal the notices, all or nothing."""
    table, mappings = credly_badge_templates, credly_integration_mappings
    now = utcnow()
    with engine.begin() as connection:
        if not plan.inserts.empty:
            connection.execute(table.insert(), records(plan.inserts))
        for row in records(plan.updates):
            connection.execute(
                table.update()
                .where(table.c.badge_template_id == row["badge_template_id"])
                .values(
                    badge_template_name=row["badge_template_name"], is_active=row["is_active"], updated_at=now
                )
            )
        deleted_ids = plan.deletes["badge_template_id"].tolist()
        if deleted_ids:
            connection.execute(table.delete().where(table.c.badge_template_id.in_(deleted_ids)))
        mapping_ids = [int(i) for i in plan.deactivated_mappings["id"]]
        if mapping_ids:
            connection.execute(
                mappings.update()
                .where(mappings.c.id.in_(mapping_ids))
                .values(is_active=False, updated_at=now)
            )
        record_operations(connection, notices, dag_run_id)


def link_dropdown_elements(connection: Connection, links: Mapping[str, int | None]) -> None:
    """Store (or clear, with ``None``) the dropdown element id of templates."""
    table = credly_badge_templates
    for template_id, element_id in links.items():
        connection.execute(
            table.update()
            .where(table.c.badge_template_id == template_id)
            .values(dropdown_element_id=element_id, updated_at=utcnow())
        )


def unlink_dropdown_element(connection: Connection, element_id: int) -> None:
    """An option was removed from the LMS: forget it on templates and on the courses that used it."""
    templates, courses = credly_badge_templates, course_badge_templates
    now = utcnow()
    connection.execute(
        templates.update()
        .where(templates.c.dropdown_element_id == element_id)
        .values(dropdown_element_id=None, updated_at=now)
    )
    connection.execute(
        courses.update()
        .where(courses.c.dropdown_element_id == element_id)
        .values(dropdown_element_id=None, badge_template_id=None, updated_at=now)
    )


def replace_course_templates(connection: Connection, templates_by_course: Mapping[str, str]) -> None:
    """Record which template each course's dropdown selects, as last read from the LMS."""
    courses, templates = course_badge_templates, credly_badge_templates
    elements = dict(
        connection.execute(select(templates.c.badge_template_id, templates.c.dropdown_element_id)).all()
    )
    connection.execute(courses.delete())
    if templates_by_course:
        connection.execute(
            courses.insert(),
            [
                {
                    "course_id": course,
                    "badge_template_id": template,
                    "dropdown_element_id": elements.get(template),
                }
                for course, template in templates_by_course.items()
            ],
        )
