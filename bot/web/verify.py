"""The public page a school or employer opens to check a service record: /verify/<number>.

It shows what the record says as issued: the volunteer's name masked (the
paper shows it whole), each activity with its date and hours, the total, the
issuer and the date. A number that does not exist gets a plain 404 page.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from domain import clock
from domain.profiles import mask_name

bp = Blueprint("verify", __name__, template_folder="templates")


@bp.get("/verify/<number>")
def verify(number: str):
    bot = current_app.extensions["youthbot"]
    cert = bot.certificates.get(number[:40])
    if cert is None:
        return render_template("verify/missing.html", number=number[:40],
                               committee=bot.settings.committee_name), 404
    rows = [(clock.fmt_date(start), title, _hours(minutes)) for start, title, minutes in cert.rows]
    return render_template("verify/record.html", cert=cert, name=mask_name(cert.name), rows=rows,
                           total=_hours(cert.minutes), issued=clock.fmt_date(cert.issued))


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}".rstrip("0").rstrip(".")
