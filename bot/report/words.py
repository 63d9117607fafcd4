"""The report's words: the figures phrased the way the committee's own summary phrases them.

A count of people or things reads approximately ("30余名" for 34, "150余人" for 158);
counts where exactness matters (sessions, sites, acts, hires) stay exact. The
sentences live in content/report/report.yaml, so the committee can change them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from domain import clock
from domain.halfyear import HalfYear, KindRow, ProgrammeRow

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


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def quoted(titles: list[str], most: int = 3) -> str:
    return "、".join(t if t.startswith("“") else f"“{t}”" for t in titles[:most])


def tidy(text: str) -> str:
    """Drop the spaces that folded YAML lines leave between Chinese characters."""
    return re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", text.strip())


def joined(names: list[str], most: int = 10) -> str:
    return "、".join(names[:most]) + ("等" if len(names) > most else "")


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


class Phrases:
    """content/report/report.yaml, read once per report."""

    def __init__(self, path: Path):
        self.data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))

    def __getitem__(self, name: str):
        return self.data[name]

    def fill(self, name: str, **fields) -> str:
        template = self.data
        for part in name.split("."):
            template = template[part]
        return tidy(str(template).format(org=self.data["org"], **fields))

    def unit(self, item: str) -> str:
        return self.data["units"].get(item, self.data["default_unit"])

    def items(self, items: dict[str, int]) -> str:
        return "、".join(f"{name}{approx(n)}{self.unit(name)}" for name, n in items.items())


def title(h: HalfYear, words: Phrases) -> str:
    label = h.period.label()
    for half in ("上半年", "下半年"):
        if label.endswith(half):
            return words.fill("title_half", year=h.period.first.year, half=half)
    if label.endswith("年"):
        return words.fill("title_half", year=h.period.first.year, half="全年")
    return words.fill("title_range", period=label)


def compose(h: HalfYear, words: Phrases) -> ReportText:
    """Every paragraph of the report, in the seed's order."""
    period = h.period.label()
    subtitle = words.fill("subtitle", made=clock.fmt_date(h.made_at))
    if h.empty:
        return ReportText(title(h, words), subtitle, words.fill("empty", period=period),
                          [Section("figures", words["sections"]["figures"])])
    sections = [
        Section("study", words["sections"]["study"], _study(h, words)),
        Section("volunteering", words["sections"]["volunteering"], _volunteering(h, words)),
        Section("tutoring", words["sections"]["tutoring"], _tutoring(h, words)),
        Section("programmes", words["sections"]["programmes"], _programmes(h, words)),
        Section("jobs", words["sections"]["jobs"], _jobs(h, words)),
        Section("reach", words["sections"]["reach"], _reach(h, words)),
        Section("figures", words["sections"]["figures"]),
    ]
    for s in sections:
        if s.key != "figures" and not s.paragraphs:
            s.paragraphs = [Paragraph(words["none"])]
    return ReportText(title(h, words), subtitle, words.fill("intro", period=period), sections)


def _study(h: HalfYear, words: Phrases) -> list[Paragraph]:
    s = h.study
    if not s.sessions:
        return []
    text = words.fill("study", sessions=len(s.sessions), participants=approx(len(s.participants)),
                      attempts=approx(s.attempts), average=f"{s.average:.0f}", regular=approx(len(s.regular)),
                      threshold=s.threshold)
    members = [b for b in s.branches if b.members]
    if members:
        best = max(members, key=lambda b: (b.rate, b.average))
        text += words.fill("study_branches", best=best.name, best_rate=pct(best.rate), member_rate=pct(s.member_rate))
    if s.most_improved:
        b = s.most_improved
        text += words.fill("study_improved", improved=b.name, first=pct(b.first_rate), second=pct(b.second_rate))
    last = s.sessions[-1]
    if last.closes > h.made_at:
        text += words.fill("study_open", last=len(s.sessions))
    return [Paragraph(text)]


def _kind_fields(k: KindRow, words: Phrases) -> dict:
    return dict(kind=k.kind, people=approx(k.people), places=joined(k.places, 3), titles=quoted(k.titles),
                activities=len(k.activities), served=approx(k.served), hours=hours(k.hours),
                partners=joined(k.partners, 4), services=joined(k.services), services_count=len(k.services),
                notes="".join(k.notes))


def _volunteering(h: HalfYear, words: Phrases) -> list[Paragraph]:
    v = h.volunteering
    if not v.kinds:
        return []
    t = v.total
    out = [Paragraph(words.fill("volunteering_intro", activities=len(t.activities), people=approx(t.people),
                                hours=hours(t.hours), served=approx(t.served)))]
    kinds = [k for k in v.kinds if k.kind not in OWN_SECTIONS]
    for ordinal, k in zip(words["ordinals"], kinds):
        f = _kind_fields(k, words)
        if k.kind == "捐赠":
            f["items"] = words.fill("donated", items=words.items(k.items)) if k.items else "开展捐赠"
        else:
            f["items"] = words.fill("items_given", items=words.items(k.items)) if k.items else ""
        template = f"kinds.{k.kind}" if k.kind in words["kinds"] else "kinds.default"
        text = words.fill(template, **f)
        lead, _, rest = text.partition("。")
        out.append(Paragraph(rest, lead=f"{ordinal}{lead}。"))
    return out


def _tutoring(h: HalfYear, words: Phrases) -> list[Paragraph]:
    k = h.volunteering.kind("四点半课堂")
    if not k.activities:
        return []
    f = _kind_fields(k, words)
    f["partners_clause"] = words.fill("tutoring_partners", partners=f["partners"]) if k.partners else ""
    return [Paragraph(words.fill("tutoring", **f))]


def _programmes(h: HalfYear, words: Phrases) -> list[Paragraph]:
    return [Paragraph(_programme(p, words)) for p in h.volunteering.programmes if p.activities]


def _programme(p: ProgrammeRow, words: Phrases) -> str:
    g, t = p.programme, p.total
    sites = p.sites_active or g.sites
    show = ""
    if p.performances:
        show = words.fill("programme_show", site_count=len(sites), acts=p.acts,
                          show_title=quoted([a.occurrence.title for a in p.performances]))
    new = [s for s in g.new_sites if s in sites]
    return words.fill("programme", title=g.title, sites=joined(sites), site_count=cn_number(len(sites)),
                      new_sites_clause=words.fill("programme_new_sites", new_sites=joined(new)) if new else "",
                      description=" ".join(g.description.split()), volunteers=approx(len(t.volunteers)),
                      activities=len(p.activities), hours=hours(t.hours), served=approx(t.served), show=show,
                      notes="".join(t.notes))


def _jobs(h: HalfYear, words: Phrases) -> list[Paragraph]:
    j = h.jobs
    out = [Paragraph(words.fill("jobs_fair", fair=f.occurrence.title, employers=len(f.postings.employers),
                                headcount=approx(f.postings.headcount), hires=f.postings.hires))
           for f in j.fairs]
    a = j.all
    if a.postings:
        out.append(Paragraph(words.fill("jobs_total", period=h.period.label(), postings=len(a.postings),
                                        headcount=approx(a.headcount), interested=approx(len(a.interested)),
                                        registrations=approx(a.registrations), hires=a.hires)))
    return out


def _reach(h: HalfYear, words: Phrases) -> list[Paragraph]:
    r = h.reach
    if not (r.gained or r.lost or r.active or r.pushes):
        return []
    return [Paragraph(words.fill("reach", period=h.period.label(), gained=approx(len(r.gained)), lost=len(r.lost),
                                 followers=approx(r.followers_now), active=approx(len(r.active)),
                                 pushes=approx(r.pushes_sent)))]
