"""The public page a school or employer opens to check a service record: /verify/<number>.

It shows what the record says as issued: the volunteer's name masked (the
paper shows it whole), each activity with its date and hours, the total, the
issuer and the date. A number that does not exist gets a plain 404 page.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from domain import clock
from domain.keys import key
from domain.profiles import mask_name

bp = Blueprint("verify", __name__, template_folder="templates")


MISSES, MISS_WINDOW = 20, 10 * 60  # numbers that do not exist, per address and window (s)
# Count a miss (KEYS[1]); the window starts at the first one.
_MISS = "if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return 1"


def _misses_key(address: str) -> str:
    return key("verify", "misses", (address or "-")[:64])


@bp.get("/verify/<number>")
def verify(number: str):
    """A record by its number; an address that asked for too many numbers that do not exist waits (429)."""
    bot = current_app.extensions["youthbot"]
    misses = _misses_key(request.remote_addr)
    if int(bot.redis.get(misses) or 0) >= MISSES:
        return render_template("verify/missing.html", number=number[:40], committee=bot.settings.committee_name,
                               too_many=True, minutes=MISS_WINDOW // 60), 429
    cert = bot.certificates.get(number[:40])
    if cert is None:
        bot.redis.eval(_MISS, 1, misses, MISS_WINDOW)
        return render_template("verify/missing.html", number=number[:40],
                               committee=bot.settings.committee_name), 404
    rows = [(clock.fmt_date(start), title, _hours(minutes)) for start, title, minutes in cert.rows]
    return render_template("verify/record.html", cert=cert, name=mask_name(cert.name), rows=rows,
                           total=_hours(cert.minutes), issued=clock.fmt_date(cert.issued))


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}".rstrip("0").rstrip(".")
