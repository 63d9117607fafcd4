"""An event's and a posting's fields are declared once (domain/fields.py) and every way in follows the table:
the console's forms, the sheets and their templates, the YAML files, the text limits, what staff may change."""
from __future__ import annotations

import io
import time
from pathlib import Path

from openpyxl import load_workbook

from bot.importers import loaders, sheets
from bot.importers.files import Collector
from domain import clock
from domain.event_changes import EDITABLE
from domain.events import Events
from domain.fields import EVENT_FIELDS, POSTING_FIELDS, on_form
from domain.jobs import Jobs
from tests.helpers import EVENT_HEADERS, POSTING_HEADERS, event_row, posting_row, workbook

TEXT = [f for f in EVENT_FIELDS if f.text and f.key != "id"]


def day(offset: int) -> str:
    return clock.local(time.time() + offset * 86400).strftime("%Y-%m-%d")


def base(**values) -> dict:
    return {"id": "f1", "title": "敬老服务", "place": "养老院", "start": f"{day(3)} 09:00", "end": "11:00", "capacity": 5,
            **values}


def test_the_templates_write_the_declared_fields_and_load_as_they_are(console_as, redis_client):
    for role, url, headers in (("organiser", "/admin/events/template.xlsx", EVENT_HEADERS),
                               ("jobs", "/admin/jobs/template.xlsx", POSTING_HEADERS)):
        resp = console_as(role).client.get(url)
        rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
        assert list(rows[0]) == headers == [f.label for f in (EVENT_FIELDS if "events" in url else POSTING_FIELDS)]
        assert all(any(r[i] not in (None, "") for r in rows[1:]) for i, f in enumerate(
            EVENT_FIELDS if "events" in url else POSTING_FIELDS) if f.examples and any(f.examples)), url


def test_every_text_field_of_an_event_lands_from_a_sheet_a_yaml_file_and_the_form(console, tmp_path, redis_client):
    values = {f.key: f"{f.label}的值"[: f.limit] for f in TEXT}
    up = sheets.read_events(workbook(EVENT_HEADERS, [event_row(**base(**values))], tmp_path / "a.xlsx"))
    assert up.errors == []
    assert {f.key: getattr(up.records[0], f.record) for f in TEXT} == values
    problems: list = []
    (occ,) = loaders.occurrences_from({**base(**values), "end": f"{day(3)} 11:00"}, Collector(Path("a.yaml"), problems))
    assert problems == [] and {f.key: getattr(occ, f.record) for f in TEXT} == values
    form = {f.input: values[f.key] for f in TEXT if f.input}
    resp = console.post("/admin/events/new", {**form, "start": f"{day(4)} 09:00", "end_time": "11:00", "capacity": "5"},
                        token_from="/admin/events/new")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    (made,) = [o for o in Events(redis_client).upcoming(0) if o.event_id.startswith("web-")]
    assert {f.key: getattr(made, f.record) for f in TEXT if f.input} == form


def test_the_forms_ask_for_every_declared_field_under_its_label(console_as):
    page = console_as("organiser").page("/admin/events/new")
    for f in on_form(EVENT_FIELDS):
        assert f'name="{f.input}"' in page and f.on_form in page, f.key
    page = console_as("jobs").page("/admin/jobs/new")
    for f in on_form(POSTING_FIELDS):
        assert f'name="{f.input}"' in page and f.on_form in page, f.key


def test_each_declared_limit_is_said_in_the_sheets_words(tmp_path):
    for f in (f for f in TEXT if f.limit and f.kind != "words"):
        up = sheets.read_events(workbook(EVENT_HEADERS, [event_row(**base(**{f.key: "长" * (f.limit + 1)}))],
                                         tmp_path / "a.xlsx"))
        assert f"a.xlsx 第2行「{f.label}」：最多{f.limit}个字，现在{f.limit + 1}个字" in up.errors, (f.key, up.errors)


def test_a_posting_field_left_empty_takes_its_declared_default(console_as, redis_client):
    liaison = console_as("jobs")
    row = posting_row(id="p1", employer="顺达物流", title="货车司机", category="物流司机", contact="王经理")
    resp = liaison.post("/admin/jobs/upload", {"sheet": (workbook(POSTING_HEADERS, [row]), "岗位.xlsx")},
                        token_from="/admin/jobs/", content_type="multipart/form-data")
    assert resp.status_code == 200
    p = Jobs(redis_client).get("p1")
    for f in POSTING_FIELDS:
        if f.text and f.default is not None:
            assert getattr(p, f.record) == f.default, f.key


def test_what_staff_may_change_on_one_date_is_the_editable_fields():
    assert set(EDITABLE) == {f.record for f in EVENT_FIELDS if f.editable}
    assert "start" not in EDITABLE  # a new start is a move, told to everyone (move_event)
    assert [f.key for f in EVENT_FIELDS if f.tell] == ["start"]
