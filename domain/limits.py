"""How long staff text may be: every field an event, posting or question has, from any way in (console form,
sheet, YAML file). Replies page long text, but one staff account must not be able to make every reply of the chat
megabytes long (issue 19: a 9 MB event title silenced 「志愿」), so each field has a bound, in characters."""
from __future__ import annotations

TEXT_LIMITS = {
    "id": 64, "title": 60, "place": 100, "category": 20, "programme": 60, "site": 60, "tags": 20,
    "employer": 60, "salary": 40, "education": 40, "experience": 100, "contact": 60, "fair": 64, "status": 10,
    "question": 300, "options": 100, "explain": 500, "answer": 20, "type": 10, "session": 40, "link": 300,
    "description": 2000, "summary": 2000, "reason": 100,
}
DEFAULT_LIMIT = 200  # any other text field


def limit_of(field: str) -> int:
    return TEXT_LIMITS.get(field, DEFAULT_LIMIT)


def too_long(field: str, value) -> str:
    """Why value is too long for field, in the staff's words ("" if it is not); lists are checked item by item."""
    limit = limit_of(field)
    for item in value if isinstance(value, list) else [value]:
        text = item if isinstance(item, str) else str(item) if isinstance(item, (int, float)) else ""
        if len(text) > limit:
            return f"最多{limit}个字，现在{len(text)}个字"
    return ""


def long_fields(data: dict) -> list[tuple[str, str]]:
    """(field, problem) for every text field of a record that is too long."""
    return [(f, p) for f, v in data.items() if isinstance(f, str) and (p := too_long(f, v))]
