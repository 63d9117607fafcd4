"""The half-year report (bot/report/web.py) as a console section: admins only.

The report is the committee's own document: it spans every section (study by
branch, every organiser's activities, the employment figures), so it belongs to
the admins who write and send it. Organisers record their activities' outcomes
on the event pages; the jobs role has its fair figures on the postings page.
"""
from __future__ import annotations

from bot.admin.access import gate
from bot.report.web import bp

gate(bp, "admin")
