"""The personal-information questions shared by volunteer sign-up and job interest, and their deletion.

PROFILE is a sub-conversation: a feature that needs a name and phone calls
ensure_profile(ctx, needs, then=...); when something is missing, the user walks
consent -> name -> phone (-> birth year, student), and at the end the
conversation returns to the caller's return point (`@router.returning(then)`),
as if the user had just asked again.
"""
from __future__ import annotations

import datetime
import logging
import re

from domain import clock
from domain.privacy import forget_person
from domain.profiles import mask_phone, name_is_an_answer, normalize_phone, valid_name
from domain.pseudonyms import user_ref
from handlers.conversation import Conversation, accepts
from handlers.notices import tell_promoted
from handlers.router import Router, normalize

router = Router()

log = logging.getLogger(__name__)

PHONE_TRIES = 3
MAX_REMEMBERED = 4  # sign-ups and interests sent during the questions, carried out after them
_BIRTH_YEAR = re.compile(r"(?:我是|出生于|出生在)?\s*(\d{4})\s*(?:年)?\s*(?:出生|生)?\s*的?")
_TRAILING_MARKS = re.compile(r"[\s.,!?;:~、。，！？；：～…]+$")


def ensure_profile(ctx, needs: set[str], then: str, restart: str, profile=None, **args) -> str | None:
    """Return None when the profile has what `needs` asks ("contact", "name", "birth_year", "student"),
    else start the profile flow and return its first question. Pass the profile if it was read already."""
    steps = missing(profile or ctx.profiles.get(ctx.openid), needs)
    if not steps:
        return None
    flow = ctx.flow.load()
    if flow.active and flow.name == PROFILE.name:  # asked while the questions run: do it after them
        return _remember(ctx, flow, steps, then, restart, args)
    PROFILE.start(ctx, steps[0], steps=steps, then=then, args=args, restart=restart, tries=0)
    if steps[0] == "profile.consent":
        extra = "".join(ctx.t(f"profile.extra_{n}") for n in ("birth_year", "student") if n in needs)
        return ctx.t("profile.notice", extra=extra)
    return _prompt(ctx, steps[0])


def _remember(ctx, flow, steps: list[str], then: str, restart: str, args: dict) -> str:
    """Keep a second sign-up (or interest) sent during the questions, to carry out after them; the
    questions it needs besides are added to the flow. At most MAX_REMEMBERED are kept, and said so."""
    queued = flow.data.setdefault("queued", [])
    item = {"then": then, "args": args, "restart": restart}
    if (then, args) == (flow.data["then"], flow.data["args"]) or item in queued:
        return ctx.t("profile.remembered_already", what=restart)
    if len(queued) >= MAX_REMEMBERED:
        return ctx.t("profile.remember_full", what=restart, count=MAX_REMEMBERED + 1)
    queued.append(item)
    flow.goto(flow.state, steps=flow.data["steps"] + [s for s in steps if s not in flow.data["steps"]])
    return ctx.t("profile.remembered", what=restart,
                 all="、".join(f"「{x}」" for x in [flow.data["restart"]] + [q["restart"] for q in queued]))


def missing(profile, needs: set[str]) -> list[str]:
    """The questions ensure_profile() would ask for `needs` (none: the profile has it all)."""
    steps = []
    if "contact" in needs and not profile.has_contact:
        steps += ["profile.consent", "profile.name", "profile.phone"]
    elif "name" in needs and not (profile.name and profile.consent_at):
        steps += ["profile.consent", "profile.name"]
    if "birth_year" in needs and profile.birth_year is None:
        steps.append("profile.birth_year")
    if "student" in needs and profile.student is None:
        steps.append("profile.student")
    return steps


def _prompt(ctx, step: str) -> str:
    return ctx.t("profile.ask_" + step.split(".")[1])


def _advance(ctx, said: str = "") -> str:
    """Go to the next missing step, or finish and run the continuation."""
    steps = ctx.flow.data["steps"]
    rest = steps[steps.index(ctx.flow.state) + 1:]
    if rest:
        ctx.flow.goto(rest[0], tries=0)
        return (said + "\n" if said else "") + _prompt(ctx, rest[0])
    then, args, queued = ctx.flow.data["then"], ctx.flow.data["args"], ctx.flow.data.get("queued", [])
    ctx.flow.end()
    done = [ctx.return_to(then, **args)] + [ctx.return_to(q["then"], **q["args"]) for q in queued]
    return (said + "\n\n" if said else "") + "\n\n".join(d for d in done if d)


AGREE = ("同意", "我同意", "好", "好的", "可以", "是", "ok")
DECLINE = ("不同意", "不", "否")


@accepts(lambda ctx: ctx.text.lower() in AGREE + DECLINE)
def consent(ctx):
    """Take the user's agreement to the personal-information notice."""
    if ctx.text.lower() in AGREE:
        return _advance(ctx)
    if ctx.text in DECLINE:
        ctx.flow.end()
        return ctx.t("profile.declined")
    return ctx.t("profile.consent_again")


@accepts(lambda ctx: name_is_an_answer(ctx.text))  # `好` here is no thanks: it answers the notice again
def name(ctx):
    """Take the real name, as written (not read as simplified); an answer word or no plausible name
    (`同意` sent twice, `是`, `123`) is asked again."""
    typed = _TRAILING_MARKS.sub("", normalize(ctx.raw_text))
    if name_is_an_answer(typed):
        return ctx.t("profile.name_is_an_answer", typed=typed)
    if not valid_name(typed):
        return ctx.t("profile.name_invalid")
    ctx.flow.data["name"] = typed
    if "profile.phone" not in ctx.flow.data["steps"]:  # only the name was needed (a service record)
        ctx.profiles.save_name(ctx.openid, ctx.flow.data["name"])
    return _advance(ctx)


def phone(ctx):
    """Take an 11-digit mobile number; ask again with an example, at most three times."""
    number = normalize_phone(ctx.text)
    if number is None:
        tries = ctx.flow.data.get("tries", 0) + 1
        if tries >= PHONE_TRIES:
            restarts = [ctx.flow.data["restart"]] + [q["restart"] for q in ctx.flow.data.get("queued", [])]
            ctx.flow.end()  # the sign-ups remembered meanwhile are not done either: name them all
            return ctx.t("profile.phone_failed", restart="」或「".join(restarts))
        ctx.flow.goto("profile.phone", tries=tries)
        return ctx.t("profile.phone_invalid", typed=_masked_attempt(ctx.text), left=PHONE_TRIES - tries)
    ctx.profiles.save_contact(ctx.openid, ctx.flow.data["name"], number)
    log.info("contact saved: user=%s phone=%s", user_ref(ctx.openid), mask_phone(number))
    return _advance(ctx, ctx.t("profile.saved", name=ctx.flow.data["name"], phone=mask_phone(number)))


def birth_year(ctx):
    """Take a four-digit birth year: `2003`, `2003年`, `２００３`, `2003年出生`."""
    m = _BIRTH_YEAR.fullmatch(ctx.text)
    year = int(m.group(1)) if m else 0
    if not 1940 <= year <= datetime.date.today().year:
        return ctx.t("profile.birth_year_invalid")
    ctx.profiles.set_details(ctx.openid, birth_year=year)
    return _advance(ctx)


def student(ctx):
    """Take whether the user is a student."""
    if ctx.text not in ("是", "否", "是的", "不是"):
        return ctx.t("profile.student_invalid")
    ctx.profiles.set_details(ctx.openid, student=ctx.text in ("是", "是的"))
    return _advance(ctx)


def _masked_attempt(text: str) -> str:
    # What was typed may be a real number with a typo: never echo it whole.
    digits = "".join(ch for ch in text if ch.isdigit())
    return (digits[:3] + "****" + digits[-2:]) if len(digits) >= 7 else text[:20]


@router.keyword("修改信息", "修改我的信息", "更正信息", "修改个人信息")
def correct_me(ctx):
    """The resident changes the name, phone (and birth year, student status if given) they gave: the sign-up's
    own questions and checks again; nothing changes until the phone is given (取消 before that keeps all)."""
    profile = ctx.profiles.get(ctx.openid)
    if not profile.has_contact:
        return ctx.t("profile.correct_none")
    steps = ["profile.name", "profile.phone"]
    details = ""
    if profile.birth_year is not None:
        steps.append("profile.birth_year")
        details += ctx.t("profile.correct_details_year", year=profile.birth_year)
    if profile.student is not None:
        steps.append("profile.student")
        details += ctx.t("profile.correct_details_student",
                         student=ctx.t("profile.correct_student_yes" if profile.student else "profile.correct_student_no"))
    PROFILE.start(ctx, steps[0], steps=steps, then="correct", args={}, restart="修改信息", tries=0)
    return ctx.t("profile.correct_start", name=profile.name, phone=mask_phone(profile.phone), details=details) \
        + "\n" + _prompt(ctx, steps[0])


@router.returning("correct")
def corrected(ctx):
    log.info("contact corrected by the resident: openid=%s", ctx.openid)
    return ctx.t("profile.correct_done")


@router.keyword("删除我的信息", "删除个人信息", "删除信息")
def forget_me(ctx):
    """Ask for confirmation before deleting the user's personal data."""
    FORGET.start(ctx, "forget.confirm")
    return ctx.t("profile.forget_confirm")


@accepts(lambda ctx: ctx.text.lower() in ("确认删除", "确认", "确定", "删除", "ok") + AGREE)
def forget_confirmed(ctx):
    """Delete the profile, sign-ups and job interests; keep pseudonymous counts."""
    if ctx.text != "确认删除":
        return ctx.t("profile.forget_again")
    ctx.flow.end()
    done = forget_person(ctx.redis, ctx.openid, clock.now())
    for occ, promoted in done.cancelled:
        tell_promoted(ctx, occ, promoted)
    log.info("personal data deleted: user=%s signups_cancelled=%d", user_ref(ctx.openid), len(done.cancelled))
    if not done.anything:
        return ctx.t("profile.forget_nothing")
    extra = ctx.t("profile.forget_cancelled_signups", count=len(done.cancelled)) if done.cancelled else ""
    return ctx.t("profile.forget_done", cancelled=extra)


def _where(ctx) -> str:
    """Under a command answered mid-way: the question the profile flow still waits for."""
    step = ctx.flow.state
    prompt = ctx.t("profile.consent_again") if step == "profile.consent" else _prompt(ctx, step)
    return ctx.t("flows.profile.waiting", prompt=prompt)


PROFILE = router.conversation(Conversation("profile", entry="报名 N / 投递 N", reminder=_where, states={
    "profile.consent": consent,
    "profile.name": name,
    "profile.phone": phone,
    "profile.birth_year": birth_year,
    "profile.student": student,
}))
FORGET = router.conversation(Conversation("forget", entry="删除我的信息", states={
    "forget.confirm": forget_confirmed,
}))
