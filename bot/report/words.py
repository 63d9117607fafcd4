"""The report's words: the figures phrased the way the committee's own summary phrases them.

A count of people or things reads approximately ("30余名" for 34, "150余人" for 158);
counts where exactness matters (sessions, sites, acts, hires) stay exact. The
sentences live in content/report/report.yaml, so the committee can change them.
"""
from __future__ import annotations

import re
from fractions import Fraction
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from domain import clock
from domain.halfyear import HalfYear, KindRow, Period, ProgrammeRow

OWN_SECTIONS = ("四点半课堂", "希望家园")  # kinds with a section of their own
CN_DIGITS = "零一二三四五六七八九十"


def approx(n: float) -> str:
    """34 -> '30余', 158 -> '150余', 3012 -> '3000余', 40 -> '40', 15 -> '15' (below 20: exact)."""
    n = int(n)
    if n < 20:
        return str(n)
    digits = len(str(n))
    step = 10 ** (digits - (1 if digits == 2 else 2))
    base = n // step * step
    return str(n) if base == n else f"{base}余"


def hours(h: float) -> str:
    """Volunteer-hours: approximate when large, one decimal when small."""
    return approx(h) if h >= 20 else f"{h:g}"


def cn_number(n: int) -> str:
    """5 -> '五', 12 -> '十二' (up to 99); used for small counts such as sites."""
    if n <= 10:
        return CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return (CN_DIGITS[tens] if tens > 1 else "") + "十" + (CN_DIGITS[ones] if ones else "")
    return str(n)


def pct(x) -> str:
    """0.625 -> '62.5%', 1 -> '100%', 0.5 -> '50%' (one decimal at most, none when it is .0)."""
    return f"{float(round(Fraction(x) * 100, 1)):.1f}".removesuffix(".0") + "%"


def quoted(titles: list[str], most: int = 3) -> str:
    return "、".join(t if t.startswith("“") else f"“{t}”" for t in titles[:most])


def held(titles: list[str], count: int, measure: str) -> str:
    """The activities held, named: '“A”' (one), '“A”3场' (one title, three times), '“A”、“B”共2场' (all named),
    '“A”、“B”、“C”等5场' (more than are named). Never '等' before a single name."""
    if count <= 1 or not titles:
        return quoted(titles[:1])
    if len(titles) == 1:
        return f"{quoted(titles)}{count}{measure}"
    return quoted(titles) + ("等" if len(titles) > 3 else "共") + f"{count}{measure}"


def tidy(text: str) -> str:
    """Drop the spaces that folded YAML lines leave between Chinese characters, and the commas a left-out
    clause leaves before a full stop."""
    text = re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", text.strip())
    text = re.sub(r"[，、；]+(?=[。；！])", "", text)
    text = re.sub(r"[，；]+$", "。", text)
    return re.sub(r"，{2,}", "，", text)


def joined(names: list[str], most: int = 10) -> str:
    """Names joined with 、; a name that itself holds 、 (one place, "三干渠、四干渠") is quoted when it stands
    among others, so it does not read as several."""
    shown = [f"“{n}”" if "、" in n and len(names) > 1 else n for n in names[:most]]
    return "、".join(shown) + ("等" if len(names) > most else "")


def listed(names: list[str], what: str) -> str:
    """'义诊' (one), '义诊、义剪等2个项目的' — 'what' counted only when there are several."""
    if len(names) <= 1:
        return "".join(names)
    return f"{joined(names)}等{len(names)}{what}"


@dataclass
class Paragraph:
    text: str
    lead: str = ""  # bold opening: "一是开展敬老活动，弘扬传统美德。"


@dataclass
class Section:
    key: str
    heading: str
    paragraphs: list[Paragraph] = field(default_factory=list)


@dataclass
class ReportText:
    title: str
    subtitle: str
    intro: str
    sections: list[Section]
    provenance: str = ""  # where the figures come from: the appendix and the document's properties


_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.S)
_FIELD = re.compile(r"\{(\w+)\}")


def _present(value) -> bool:
    """A figure worth a clause: not missing, not zero, not an empty name."""
    return value not in (None, "", 0, "0", "0余", 0.0)


class Phrases:
    """content/report/report.yaml, read once per report.

    A sentence's [[optional clause]] is left out when a figure in it is missing or zero, so a report never reads
    "服务老人0人次" or "联合，开展了"."""

    def __init__(self, path: Path):
        self.data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))

    def __getitem__(self, name: str):
        return self.data[name]

    def fill(self, name: str, **fields) -> str:
        template = self.data
        for part in name.split("."):
            template = template[part]
        fields = {"org": self.data["org"], **fields}
        text = _OPTIONAL.sub(lambda m: m[1] if all(_present(fields.get(f)) for f in _FIELD.findall(m[1])) else "",
                             str(template))
        return tidy(text.format(**{k: ("" if v is None else v) for k, v in fields.items()}))

    def unit(self, item: str) -> str:
        return self.data["units"].get(item, self.data["default_unit"])

    def items(self, items: dict[str, int]) -> str:
        return "、".join(f"{name}{approx(n)}{self.unit(name)}" for name, n in items.items() if n)


def title(h: HalfYear, words: Phrases) -> tuple[str, str]:
    """The title, and the line under it: the period when it is not a half year or a year, or how far the
    records go when the period is not over ("截至2026年5月3日"): the title never breaks inside a date."""
    label = h.period.label()
    until = h.period.until(h.made_at)
    note = words.fill("until", day=f"{until.year}年{until.month}月{until.day}日") if until else ""
    for half in ("上半年", "下半年"):
        if label.endswith(half):
            return words.fill("title_half", year=h.period.first.year, half=half), note
    if label.endswith("年"):
        return words.fill("title_half", year=h.period.first.year, half="全年"), note
    return words.fill("title_range"), words.fill("title_period", period=label) + note


def period_text(h: HalfYear) -> str:
    """The period as the text names it; one not over yet reads up to today ("2026年1月1日至5月3日")."""
    until = h.period.until(h.made_at)
    if until and until >= h.period.first:
        return Period.of_days(h.period.first, until).label()
    return h.period.label()


def compose(h: HalfYear, words: Phrases, notes: dict[str, str] | None = None) -> ReportText:
    """Every paragraph of the report, in the seed's order; notes are the sections staff typed for the period
    (domain/report_notes.py), each put where the committee's summary has it."""
    notes = notes or {}
    head, subtitle = title(h, words)
    period = period_text(h)
    if h.empty and not any(notes.values()):
        until = h.period.until(h.made_at)
        empty = "not_begun" if until and until < h.period.first else "empty"
        return ReportText(head, subtitle, words.fill(empty, period=period, followers=h.reach.followers_now),
                          [Section("figures", words["sections"]["figures"])], words.fill("provenance", **_made(h)))
    typed = {k: [Paragraph(line) for line in _lines(notes.get(k, ""))] for k in NOTE_SECTIONS}
    sections = [
        Section("study", words["sections"]["study"], _study(h, words) + typed["study"]),
        Section("organisation", words["sections"]["organisation"], typed["organisation"]),
        Section("services", words["sections"]["services"], _jobs(h, words, period) + _tutoring(h, words)
                + typed["services"]),
        Section("volunteering", words["sections"]["volunteering"], _volunteering(h, words, typed["publicity"])),
        Section("programmes", words["sections"]["programmes"], _programmes(h, words) + typed["programmes"]),
        Section("reach", words["sections"]["reach"], _reach(h, words, period) + typed["media"]),
    ]
    sections = [s for s in sections if s.paragraphs]
    for number, s in zip(CN_ORDINALS, sections):
        s.heading = f"{number}、{s.heading}"
    sections.append(Section("figures", words["sections"]["figures"]))
    return ReportText(head, subtitle, words.fill("intro", period=period), sections,
                      words.fill("provenance", **_made(h)))


# What staff may type for a period (domain/report_notes.py), and where each goes.
NOTE_SECTIONS = ("study", "organisation", "services", "publicity", "programmes", "media")
CN_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _made(h: HalfYear) -> dict:
    return dict(made=clock.fmt_date(h.made_at), first=f"{h.period.first}", last=f"{h.period.last}")


def _names(branches) -> str:
    names = [b.name for b in branches]
    return "和".join(names) if len(names) <= 2 else "、".join(names[:-1]) + "和" + names[-1]


def _study(h: HalfYear, words: Phrases) -> list[Paragraph]:
    s = h.study
    if not s.sessions:
        return []
    text = words.fill("study", sessions=len(s.sessions), participants=approx(len(s.participants)),
                      attempts=approx(s.attempts), average=f"{s.average:.0f}",
                      regular=approx(len(s.regular)) if s.threshold else None, threshold=s.threshold)
    if s.best:
        text += words.fill("study_branches_tied" if len(s.best) > 1 else "study_branches", best=_names(s.best),
                           best_rate=pct(s.best[0].exact_rate), member_rate=pct(s.member_rate))
    if len(s.most_improved) == 1:
        (b,) = s.most_improved
        text += words.fill("study_improved", improved=b.name, first=pct(b.first_rate), second=pct(b.second_rate))
    elif s.most_improved:
        text += words.fill("study_improved_tied", improved=_names(s.most_improved),
                           points=f"{float(round(100 * s.most_improved[0].exact_improvement, 1)):g}")
    last = s.sessions[-1]
    if last.closes > h.made_at:
        text += words.fill("study_open", last=len(s.sessions))
    return [Paragraph(text)]


def volunteers(k: KindRow) -> str | None:
    """'30余名志愿者' when the people are known to be distinct, else '志愿者60余人次'; None when nobody came."""
    if not k.attendances:
        return None
    return f"{approx(k.people)}名志愿者" if k.people is not None else f"志愿者{approx(k.attendances)}人次"


def _kind_fields(k: KindRow, words: Phrases, measure: str = "场") -> dict:
    return dict(kind=k.kind, volunteers=volunteers(k), attendances=approx(k.attendances) if k.attendances else None,
                places=joined(k.places, 3), held=held(k.titles, len(k.activities), measure),
                activities=len(k.activities), served=approx(k.served), hours=hours(k.hours) if k.minutes else None,
                partners=joined(k.partners, 4), services=listed(k.services, "个项目的") or None,
                items=words.items(k.items) or None, days=len(k.days), notes="".join(k.notes))


def _volunteering(h: HalfYear, words: Phrases, publicity: list[Paragraph]) -> list[Paragraph]:
    v = h.volunteering
    out = []
    if v.kinds:
        t = v.total
        out.append(Paragraph(words.fill("volunteering_intro", activities=len(t.activities),
                                        attendances=approx(t.attendances), hours=hours(t.hours) if t.minutes else None,
                                        served=approx(t.served))))
    items = []
    for para in publicity:  # typed by staff (典型宣传): first, as the committee's summary has it
        lead, dot, rest = para.text.partition("。")
        items.append((lead + dot, rest) if dot and rest else ("", para.text))
    for k in [k for k in v.kinds if k.kind not in OWN_SECTIONS]:
        template = f"kinds.{k.kind}" if k.kind in words["kinds"] else "kinds.default"
        text = words.fill(template, **_kind_fields(k, words, words["measures"].get(k.kind, "场")))
        lead, _, rest = text.partition("。")
        items.append((f"{lead}。", rest))
    for ordinal, (lead, rest) in zip(words["ordinals"], items):
        out.append(Paragraph(rest, lead=f"{ordinal}{lead}") if lead else Paragraph(f"{ordinal}{rest}"))
    return out


def _tutoring(h: HalfYear, words: Phrases) -> list[Paragraph]:
    k = h.volunteering.kind("四点半课堂")
    if not k.activities:
        return []
    return [Paragraph(words.fill("tutoring", **_kind_fields(k, words)))]


def _programmes(h: HalfYear, words: Phrases) -> list[Paragraph]:
    return [Paragraph(_programme(p, words)) for p in h.volunteering.programmes if p.activities]


def _programme(p: ProgrammeRow, words: Phrases) -> str:
    g, t = p.programme, p.total
    sites = p.sites_active or g.sites
    show = ""
    if p.performances:
        show = words.fill("programme_show", site_count=len(sites), acts=p.acts, audience=approx(t.audience),
                          show_title=quoted([a.occurrence.title for a in p.performances]))
    new = [s for s in g.new_sites if s in sites]
    where = joined(sites) + (f"{cn_number(len(sites))}个社区" if len(sites) > 1 else "")
    return words.fill("programme", title=g.title, sites=where,
                      new_sites=joined(new), description=" ".join(g.description.split()),
                      volunteers=approx(len(t.volunteers)), activities=len(p.activities),
                      hours=hours(t.hours) if t.minutes else None, served=approx(t.served), show=show,
                      notes="".join(t.notes))


def _jobs(h: HalfYear, words: Phrases, period: str) -> list[Paragraph]:
    j = h.jobs
    out = []
    for f in j.fairs:
        s = f.postings
        out.append(Paragraph(words.fill("jobs_fair", fair=f.occurrence.title, employers=len(s.employers),
                                        headcount=approx(s.headcount), hires=len(f.on_site), later=len(f.later),
                                        effect=words["jobs_effect"] if f.on_site else "")))
    a = j.all
    if a.offered or a.registrations or a.hires:
        out.append(Paragraph(words.fill("jobs_total", period=period, postings=len(a.offered),
                                        headcount=approx(a.headcount), interested=approx(len(a.interested)),
                                        registrations=approx(a.registrations), hires=a.hires)))
    return out


def _reach(h: HalfYear, words: Phrases, period: str) -> list[Paragraph]:
    r = h.reach
    if not (r.gained or r.lost or r.active or r.pushes):
        return []
    return [Paragraph(words.fill("reach", period=period, gained=approx(len(r.gained)), lost=len(r.lost),
                                 followers=approx(r.followers_now), active=approx(len(r.active)),
                                 pushes=approx(r.pushes_sent)))]
