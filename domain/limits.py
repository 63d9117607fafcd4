"""How long staff text may be: every field an event, posting or question has, from any way in (console form,
sheet, YAML file). Replies page long text, but one staff account must not be able to make every reply of the chat
megabytes long (issue 19: a 9 MB event title silenced 「志愿」), so each field has a bound, in characters.
An event's and a posting's bounds are declared with their fields (domain/fields.py); the others are here."""
from __future__ import annotations

from domain.fields import EVENT_FIELDS, POSTING_FIELDS, limits

EVENT_LIMITS = limits(EVENT_FIELDS)
POSTING_LIMITS = limits(POSTING_FIELDS)
QUIZ_LIMITS = {"id": 64, "session": 40, "title": 60, "summary": 2000, "link": 300, "question": 300, "options": 100,
               "explain": 500, "answer": 20, "type": 10}
TEXT_LIMITS = {**QUIZ_LIMITS, "reason": 100}  # any record without a table of its own
DEFAULT_LIMIT = 200  # any other text field


def limit_of(field: str, table: dict[str, int] | None = None) -> int:
    return (TEXT_LIMITS if table is None else table).get(field, DEFAULT_LIMIT)


def too_long(field: str, value, table: dict[str, int] | None = None) -> str:
    """Why value is too long for field, in the staff's words ("" if it is not); lists are checked item by item."""
    limit = limit_of(field, table)
    for item in value if isinstance(value, list) else [value]:
        text = item if isinstance(item, str) else str(item) if isinstance(item, (int, float)) else ""
        if len(text) > limit:
            return f"最多{limit}个字，现在{len(text)}个字"
    return ""


def long_fields(data: dict, table: dict[str, int] | None = None) -> list[tuple[str, str]]:
    """(field, problem) for every text field of a record that is too long (table: the record's bounds)."""
    return [(f, p) for f, v in data.items() if isinstance(f, str) and (p := too_long(f, v, table))]
