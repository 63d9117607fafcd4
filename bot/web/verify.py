"""The public pages a school or employer opens to check a service record, and its printable version.

/verify/ has a box to type a number into (as printed under the QR code);
/verify/<number> shows what the record says as issued: the volunteer's name
masked (the paper shows it whole), each activity with its date and hours, the
total, the issuer and the date. A number that does not exist gets a plain 404
page. /verify/<number>/print.docx is the printable A4 document (bot/report/certificate.py),
with the name whole: only with the signed link the chat's 志愿证明 gives its owner
(valid domain.certificates.PRINT_DAYS days); staff download it from the console.
"""
from __future__ import annotations

import logging
import re

from flask import Blueprint, current_app, redirect, render_template, request, send_file, url_for

from bot.report import certificate as printable
from domain import clock
from domain.certificates import NUMBER_PATTERN
from domain.keys import key
from domain.profiles import mask_name

bp = Blueprint("verify", __name__, template_folder="templates")
log = logging.getLogger(__name__)
NUMBER = re.compile(NUMBER_PATTERN)


@bp.get("/verify/")
def ask():
    """A box for the number; what was typed is tidied (spaces, lower case, full-width) and looked up."""
    typed = request.args.get("number", "")
    if not typed:
        return render_template("verify/ask.html", committee=_bot().settings.committee_name)
    cleaned = re.sub(r"\s+", "", typed.upper().translate(_FULL_WIDTH))[:40]
    found = NUMBER.search(cleaned)
    if found is None:
        return render_template("verify/ask.html", committee=_bot().settings.committee_name, typed=typed[:40],
                               problem="编号的格式是 TW 加日期、序号和四位字母数字，例如 TW20261203-00012-K7QM，请核对后再输入。"), 400
    return redirect(url_for(".verify", number=found[0]))


MISSES, MISS_WINDOW = 20, 10 * 60  # numbers that do not exist, per address and window (s)
# Count a miss (KEYS[1]); the window starts at the first one.
_MISS = "if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return 1"


def _misses_key(address: str) -> str:
    return key("verify", "misses", (address or "-")[:64])


@bp.get("/verify/<number>")
def verify(number: str):
    """A record by its number; an address that asked for too many numbers that do not exist waits (429)."""
    bot = _bot()
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


@bp.get("/verify/<number>/print.docx")
def print_version(number: str):
    """The printable record, for its owner: the link from the chat carries a signed, expiring token."""
    bot = _bot()
    cert = bot.certificates.get(number[:40])
    if cert is None or not bot.certificates.print_allowed(cert.number, request.args.get("t", "")[:80], clock.now()):
        return render_template("verify/print_refused.html", committee=bot.settings.committee_name,
                               known=cert is not None), 403 if cert else 404
    log.info("printable certificate downloaded: %s", cert.number, extra={"event": "certificate_print"})
    return _docx(cert, bot.settings.public_url)


def _docx(cert, public_url: str):
    import io

    return send_file(io.BytesIO(printable.document(cert, public_url)), as_attachment=True,
                     download_name=printable.filename(cert),
                     mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")


def _bot():
    return current_app.extensions["youthbot"]


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}".rstrip("0").rstrip(".")


_FULL_WIDTH = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF21 + i: 0x41 + i for i in range(26)} | {0xFF0D: 0x2D,
                                                                                                     0x2014: 0x2D}
