"""The fields of an event and of a job posting, each declared once.

Every way in reads these tables: the console's forms (bot/admin/events.py, bot/admin/jobs.py and their
templates), the staff's sheets and their templates (bot/importers/sheets.py, the postings sheet in
bot/importers/loaders.py), the YAML files (bot/importers/loaders.py), the text limits (domain/limits.py) and
what staff may change on one date (domain/event_changes.py). A new plain text field is one line here and its
attribute on the record (`Occurrence` in domain/events.py, `Posting` in domain/jobs.py); the form, the sheet,
the template, the YAML loader, the limit and the edit whitelist follow.

Kinds (how a value is read; the parsers live with each way in, one per kind):
  text      a line of text (stripped), bounded by limit
  longtext  text over several lines (a textarea on the form)
  words     a list of short words (a sheet cell: 敬老、养老院)
  int       a whole number within bounds (20人 and ２０ read as 20)
  hours     hours before the start (2, 1.5)
  when      a date and time (2026-07-04 09:00)
  time      a time of day, or a date and time (sheets)
  date      a date (postings: published, expires)
  yesno     是 / 否 (a checkbox on the form)
  weekdays  weekdays (一、三、五, 周一至周五)
  status    a posting's state as staff write it (招聘中, 已招满, 已过期)
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    key: str  # the name in YAML files and in a sheet row as read; the console form's input, unless form says another
    label: str  # the sheet's header (the template's) and the console's label
    aliases: tuple[str, ...] = ()  # other headers a sheet may use (matched as files.header_key reads them)
    kind: str = "text"
    required: bool = False
    limit: int | None = None  # characters, for text kinds (domain/limits.py)
    bounds: tuple[float, float] | None = None  # least and most, for numbers
    default: object = None  # taken when left empty
    examples: tuple = ()  # the template's example cells, one per example row ("" for an empty cell)
    attr: str = ""  # the record's attribute the value lands in ("" = key); requirements for min_age, students_only
    form: str | None = ""  # the console form's input name ("" = key; None = not on the form)
    form_label: str = ""  # the form's label when it differs from the sheet's header
    hint: str = ""  # said beside the form's label
    editable: bool = False  # staff may change it on one date (event_changes.update_event)
    tell: bool = False  # a change is told to everyone signed up or waiting (a new start: the move notice)
    audit: str = ""  # its name in the audit log when it differs from the label

    @property
    def record(self) -> str:
        return self.attr or self.key

    @property
    def input(self) -> str:
        return self.key if self.form == "" else (self.form or "")

    @property
    def on_form(self) -> str:
        return self.form_label or self.label

    @property
    def text(self) -> bool:
        return self.kind in ("text", "longtext")

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)


# An event, one row of the events sheet (the template's columns in this order). A weekly event gives its first
# date in start and the weekdays in weekdays.
EVENT_FIELDS: tuple[Field, ...] = (
    Field("id", "编号", ("活动编号",), required=True, limit=64, form=None, examples=("elder-0704", "tutoring-july")),
    Field("title", "活动名称", ("名称", "标题"), required=True, limit=60, editable=True, audit="名称",
          examples=("爱驻夕阳 · 关爱老人志愿服务", "四点半课堂 · 作业辅导")),
    Field("category", "类别", ("活动类别",), limit=20, editable=True,
          hint="工作总结按类别分段；可选也可自己填", examples=("敬老", "四点半课堂")),
    Field("place", "地点", ("活动地点",), required=True, limit=60, editable=True,
          examples=("白石坡社区养老院", "社区“蓝精灵家园”")),
    Field("start", "开始", ("开始时间",), "when", required=True, tell=True,
          examples=("{year}-07-04 09:00", "{year}-07-06 16:30")),
    Field("end", "结束", ("结束时间",), "time", required=True, editable=True, form="end_time", form_label="结束（当天）",
          examples=("11:30", "17:30")),
    Field("capacity", "名额", ("人数",), "int", required=True, bounds=(1, 10000), editable=True, examples=(30, 6)),
    Field("signup_deadline_hours", "报名截止（小时）", ("报名截止",), "hours", bounds=(0, 24 * 60), default=2,
          attr="signup_deadline", editable=True, form_label="报名截止", hint="开始前几小时", examples=(2, 2)),
    Field("cancel_cutoff_hours", "取消截止（小时）", ("取消截止",), "hours", bounds=(0, 24 * 60), default=24,
          attr="cancel_cutoff", editable=True, form_label="取消截止", hint="开始前几小时", examples=(24, 4)),
    Field("min_age", "最低年龄", (), "int", bounds=(1, 100), attr="requirements", editable=True, hint="不限则空",
          examples=(16, 16)),
    Field("students_only", "仅限学生", ("仅限在校学生",), "yesno", attr="requirements", editable=True,
          form_label="仅限在校学生", examples=("", "")),
    Field("weekdays", "每周", ("每周重复",), "weekdays", attr="recurrence", form_label="每周重复",
          examples=("", "一至五")),
    Field("days", "持续天数", (), "int", bounds=(1, 366), default=28, attr="recurrence", form="repeat_days",
          examples=("", 28)),
    Field("programme", "项目", (), limit=60, form=None),
    Field("site", "站点", (), limit=60, form=None),
    Field("description", "活动说明", ("说明",), "longtext", limit=1000, editable=True, audit="说明",
          hint="居民发「活动 编号」时看到", examples=("为老人送水果、打扫卫生、陪老人聊天。", "工作日下午一对一辅导作业。")),
    Field("tags", "标签", (), "words", limit=20, form=None, examples=("敬老、养老院", "")),
)

# A job posting, one row of the postings sheet (the template's columns in this order).
POSTING_FIELDS: tuple[Field, ...] = (
    Field("id", "编号", ("岗位编号",), required=True, limit=64, form=None, examples=("sd-driver-1",)),
    Field("employer", "用人单位", ("单位", "单位名称"), required=True, limit=60, examples=("顺达物流",)),
    Field("title", "岗位", ("岗位名称", "职位"), required=True, limit=60, examples=("货车司机",)),
    Field("category", "类别", ("岗位类别",), required=True, limit=20, hint="可选已有的，也可自己填",
          examples=("物流司机",)),
    Field("salary", "薪资", ("工资", "薪酬"), limit=40, default="面议", hint="不填为“面议”",
          examples=("6000-8000元/月",)),
    Field("place", "工作地点", ("地点",), limit=100, examples=("物流园",)),
    Field("education", "学历要求", ("学历",), limit=40, default="不限", hint="不填为“不限”", examples=("不限",)),
    Field("experience", "经验要求", ("经验",), limit=100, default="不限", hint="不填为“不限”",
          examples=("B2驾照，驾龄2年",)),
    Field("headcount", "招聘人数", ("人数", "名额"), "int", default=1, examples=(2,)),
    Field("contact", "联系方式", ("联系电话", "联系人"), required=True, limit=60, hint="仅工作人员可见",
          examples=("王经理 0724-0000001",)),
    Field("published", "发布日期", ("发布时间",), "date", form=None, examples=("",)),
    Field("expires", "截止日期", ("截止时间",), "date", hint="不填为发布后30天", examples=("",)),
    Field("status", "状态", (), "status", limit=10, form=None, examples=("招聘中",)),
    Field("fair", "招聘会", (), limit=64, form=None, examples=("",)),
    Field("description", "岗位说明", ("说明",), "longtext", limit=2000, examples=("长期稳定，五险一金。",)),
)


def named(fields: tuple[Field, ...], key: str) -> Field:
    return next(f for f in fields if f.key == key)


def headers(fields: tuple[Field, ...]) -> list[str]:
    """The sheet's header row, as the template writes it."""
    return [f.label for f in fields]


def required(fields: tuple[Field, ...]) -> tuple[str, ...]:
    return tuple(f.key for f in fields if f.required)


def limits(fields: tuple[Field, ...]) -> dict[str, int]:
    """{key: characters} for the fields with a limit."""
    return {f.key: f.limit for f in fields if f.limit}


def examples(fields: tuple[Field, ...], year: int) -> list[list]:
    """The template's example rows: each field's n-th example in column order."""
    rows = max(len(f.examples) for f in fields)
    def cell(value):
        return value.format(year=year) if isinstance(value, str) else value

    return [[cell(f.examples[i]) if i < len(f.examples) else "" for f in fields] for i in range(rows)]


def on_form(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    return tuple(f for f in fields if f.input)
