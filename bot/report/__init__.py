"""The committee's half-year report: figures from domain/halfyear.py, phrased, charted, and written out.

    report = make(redis, Period.parse("2026-01-01", "2026-06-30"), content_dir)
    report.docx("report.docx"); report.xlsx("figures.xlsx")

The CLI (`youthbot report`) and the console's page (bot/report/web.py) both come here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from domain.halfyear import DEFAULT_REGULAR_SHARE, Figure, HalfYear, Period, compute
from domain.report_notes import ReportNotes


@dataclass
class Report:
    figures: HalfYear
    phrases_path: Path
    notes: dict[str, str] = field(default_factory=dict)  # what staff typed for the period (domain/report_notes.py)

    @cached_property
    def words(self):
        from bot.report.words import Phrases

        return Phrases(self.phrases_path)

    @cached_property
    def text(self):
        from bot.report.words import compose

        return compose(self.figures, self.words, self.notes)

    @cached_property
    def charts(self) -> dict[str, tuple[str, bytes]]:
        from bot.report.charts import all_charts

        return all_charts(self.figures, self.words["charts"])

    def docx(self, out=None):
        """Write the Word report to out (a path), or return its bytes."""
        from bot.report import word

        doc = word.build(self.text, self.table(), self.charts, self.words["table_headers"],
                         author=self.words["org"], charts_heading=self.words["sections"]["charts"])
        return word.save(doc, out)

    def table(self) -> list[Figure]:
        """The figures, each with its unit (an item given takes the unit the report's words name for it)."""
        return [replace(f, unit=f.unit or self.words.unit(f.label.rpartition("捐赠")[2]))
                for f in self.figures.figures()]

    def xlsx(self, out=None):
        """Write the figures workbook to out (a path), or return its bytes."""
        from bot.report import workbook

        return workbook.save(workbook.build(self.figures, self.table()), out)


def make(redis, period: Period, content_dir: Path, now: float | None = None,
         share: float = DEFAULT_REGULAR_SHARE) -> Report:
    return Report(compute(redis, period, now, share), Path(content_dir) / "report" / "report.yaml",
                  ReportNotes(redis).get(period))
