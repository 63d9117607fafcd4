"""The check-in screen's QR codes: a WeChat parametric code per occurrence and action, drawn locally.

The code comes from WeChat's `qrcode/create` (a temporary QR_STR_SCENE code whose
scene is "ci:<check-in code>" or "co:<check-in code>"), through the shared-token
client; WeChat answers with a URL that we draw as a QR image ourselves (segno),
so the screen needs no image from WeChat's servers. A scan sends the webhook a
SCAN event (or a follow with "qrscene_…"), which handlers/volunteer.py answers.
Tickets are kept on the occurrence until an hour before they expire.
"""
from __future__ import annotations

import json

import segno

from domain.events import Events, Occurrence, occ_key, scene_for

MAX_SECONDS = 2_592_000  # WeChat's limit for a temporary code: 30 days
KEEP_MARGIN = 3600  # ask for a new code when the kept one has less than this left


def qr_code(redis, client, occ: Occurrence, action: str, now: float) -> dict:
    """{"url", "expires"} of the occurrence's code for action ("checkin"|"checkout"). Raises WeChatError."""
    kept = redis.hget(occ_key(occ.id, "qr"), action)
    if kept:
        data = json.loads(kept)
        if data["expires"] - now > KEEP_MARGIN:
            return data
    seconds = int(min(max(occ.end - now + KEEP_MARGIN * 2, KEEP_MARGIN * 2), MAX_SECONDS))
    answer = client.create_qrcode(scene_for(action, Events(redis).code(occ.id)), seconds)
    data = {"url": answer["url"], "ticket": answer["ticket"],
            "expires": now + int(answer.get("expire_seconds") or seconds)}
    redis.hset(occ_key(occ.id, "qr"), action, json.dumps(data))
    return data


def svg(url: str) -> str:
    """The QR image of url as inline SVG (no network, no JavaScript)."""
    return segno.make(url, error="m").svg_inline(scale=8, border=2, dark="#111", light="#fff", omitsize=True)
