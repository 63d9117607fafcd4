"""Study quizzes: sessions, question-bank uploads, a preview as residents see it, figures, exports."""
from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from bot.admin.access import audit, bot, client_address, gate, note, note_upload, send_rows, send_table
from domain.audit import Audit
from bot.admin import spool
from bot.admin.spool import uploaded
from bot.admin.charts import row
from bot.importers import uploads
from domain import clock
from domain.profiles import mask_name, mask_phone
from domain.quiz import SessionTaken, key_change
from domain.quiz_report import (PER_PAGE, STALE_SECONDS, export_rows, iter_missing, missing_count, missing_page, participant_counts,
                                session_stats)
from handlers import quiz as quiz_chat

bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")
gate(bp, "admin")

TEMPLATE_HEADERS = ["期号", "标题", "学习内容", "链接", "开始", "截止", "题目", "题型", "A", "B", "C", "D", "答案", "解析"]


@bp.get("/")
def index(upload=None, status=200, confirm_rescore=False):
    quiz, now = bot().quiz, clock.now()
    sessions = quiz.sessions()
    counts = participant_counts(bot().redis, [s.id for s in sessions])
    groups = [("进行中", [s for s in sessions if s.is_open(now)]),
              ("未开始", [s for s in sessions if s.opens > now]),
              ("已截止", sorted((s for s in sessions if s.closes <= now), key=lambda s: -s.closes))]
    profiles = bot().profiles
    branches = [(bid, name, profiles.branch_size(bid)) for bid, name in profiles.branches()]
    return render_template("admin/quizzes.html", title="答题", groups=groups, counts=counts, upload=upload,
                           branches=branches, confirm_rescore=confirm_rescore), status


@bp.post("/upload")
def upload():
    """Load a question bank: every bad row listed and nothing saved, or every session saved.

    A session people have already completed keeps its questions (each counted answer is kept by its question's
    place): only its answers may change, after staff confirm that the counted attempts are re-scored by the new
    answers (written to the audit log)."""
    with uploaded("bank") as path:
        if path is None:
            return index(uploads.Upload(errors=["请选择要上传的题库文件"]), 400)
        checked = uploads.read_quiz_bank(path)
        if checked.errors:
            return index(checked, 400)
        corrections, refused = _corrections(checked.records)
        if refused:
            return index(uploads.Upload(errors=refused), 400)
        if corrections and request.form.get("rescore") != "1":
            return index(uploads.Upload(errors=[words for _, _, words, _ in corrections]), 400, confirm_rescore=True)
        quiz = bot().quiz
        for session, n, _, said in corrections:  # each one whole: the new key and every score, or neither
            changed = quiz.correct_key(session)
            # its own entry beside the upload's: scores changed, the re-scoring is what staff look for later
            Audit(bot().redis).record(g.staff.name, "rescore", f"答题 {session.id}「{session.title}」{said}；"
                                      f"{changed}份答卷的得分因此改变", n, client_address())
        result = uploads.load_quiz_bank(bot(), path, run=spool.saving(bot()))
        note_upload("题库", path, result)
    result.notes = [f"「{s.title}」已按新答案重新计分{n}份答卷。" for s, n, _, _ in corrections] + result.notes
    return index(result, 400 if result.errors else 200)


def _corrections(sessions) -> tuple[list[tuple], list[str]]:
    """[(session, counted attempts, the confirmation asked, what changes)] for sessions whose answers change after people
    completed them, and the refusals for those whose questions would change."""
    quiz, corrections, refused = bot().quiz, [], []
    for new in sessions:
        old = quiz.session(new.id)
        counted = len(quiz.participants(new.id)) if old else 0
        if not counted:
            continue
        change = key_change(old, new)
        if not change.same_questions:
            refused.append(f"期号 {new.id}：已有{counted}人答完并计分，题目、题型和选项不能再改（已计分的答案按题号保存）。"
                           f"请用新的期号（如 {new.id}-2）上传更正后的一期，并在公众号告知大家重新答题。")
        elif change.answers:
            said = "、".join(f"第{i}题答案 {_shown(a)} 改为 {_shown(b)}" for i, a, b in change.answers)
            corrections.append((new, counted, f"期号 {new.id}：{said}。已有{counted}人答完并计分：确认后这些答卷"
                                              f"按新答案重新计分，总分和排名随之改变，并记入审计日志。", said))
    return corrections, refused


def _shown(answer: str) -> str:
    return {"T": "对", "F": "错"}.get(answer, answer)


@bp.get("/template.xlsx")
def template():
    """An empty question bank with the right columns and one example row."""
    example = ["2026-20", "青年大学习 · 第20期", "本期学习内容……", "https://www.gqt.org.cn/", "2026-05-18 08:00",
               "2026-05-25 08:00", "五四青年节是每年的哪一天？", "单选", "5月4日", "6月1日", "7月1日", "10月1日", "A",
               "纪念1919年的五四运动。"]
    return send_table("题库模板.xlsx", TEMPLATE_HEADERS, [example])


@bp.get("/<sid>")
def session(sid):
    """One session: the preview as in chat, completion per branch, who has not done it (PER_PAGE a page)."""
    redis = bot().redis
    s = bot().quiz.session(sid) or abort(404, f"没有期号为 {sid} 的答题。")
    stats = session_stats(redis, s, fresh=request.args.get("refresh") == "1")
    branch = request.args.get("branch", "")
    profiles = bot().profiles
    names = dict(profiles.branches())
    total = missing_count(stats, branch)
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    missing = missing_page(redis, stats, branch, page)
    people = profiles.many(missing)
    if missing:
        audit("view", f"答题 {s.id} 未完成名单" + (f"（{names.get(branch, branch)}）" if branch else "")
              + (f"第{page}页" if pages > 1 else ""), len(missing))
    chart = [row(b.name, [(b.rate, "bar")], f"{b.rate:.0%}（{b.completers}/{b.members}，均分{b.average:.0f}）",
                 f"?branch={b.branch_id}#not-done") for b in stats.standings]
    joined = bot().followers.first_seen(missing)
    rows = [{"openid": o, "name": mask_name(people[o].name), "branch": names.get(people[o].branch, ""),
             "phone": mask_phone(people[o].phone) if people[o].phone else "",
             "joined": clock.fmt_date(joined[o]) if o in joined else ""} for o in missing]
    return render_template("admin/quiz_session.html", title=s.title, s=s, stats=stats, chart=chart,
                           preview=preview(s), missing=rows, branch_names=names, branch=branch,
                           total=total, page=page, pages=pages, page_links=_page_links(page, pages),
                           per_page=PER_PAGE, stale=STALE_SECONDS,
                           taken=stats.participants,
                           keys=[(q.shown_answer(), q.explain) for q in s.questions])


def _page_links(page: int, pages: int) -> list[int | None]:
    """The page numbers to link: the first, the last, and two either side of this one (None: a gap)."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


KIND_WORDS = {"single": "单选", "multi": "多选", "judge": "判断"}


def bank_rows(s) -> tuple[list[str], list[list]]:
    """A session as the upload takes it (TEMPLATE_HEADERS, more option columns when a question has more than
    four): uploading it again gives the same session, so staff fix one question and upload the file back."""
    from domain.quiz import LETTERS

    width = max([4] + [len(q.options) for q in s.questions])
    headers = TEMPLATE_HEADERS[:8] + list(LETTERS[:width]) + TEMPLATE_HEADERS[12:]
    opens, closes = (clock.local(t).strftime("%Y-%m-%d %H:%M") for t in (s.opens, s.closes))
    rows = []
    for q in s.questions:
        options = (q.options + [""] * width)[:width] if q.kind != "judge" else [""] * width
        rows.append([s.id, s.title, s.summary, s.link, opens, closes, q.text, KIND_WORDS[q.kind], *options,
                     q.shown_answer(), q.explain])
    return headers, rows


@bp.get("/<sid>/bank.xlsx")
def download_bank(sid):
    """下载题库: the session in the upload's own layout (no personal data: not audited)."""
    s = bot().quiz.session(sid) or abort(404, f"没有期号为 {sid} 的答题。")
    headers, rows = bank_rows(s)
    return send_table(f"题库-{s.id}.xlsx", headers, rows)


@bp.post("/<sid>/delete")
def delete(sid):
    """Delete a session nobody has completed (uploaded by mistake); refused, saying why, once someone has."""
    quiz = bot().quiz
    s = quiz.session(sid) or abort(404, f"没有期号为 {sid} 的答题。")
    note(f"答题 {s.id}「{s.title}」", {"状态": (f"{clock.fmt(s.opens)} — {clock.fmt(s.closes)}", "已删除")})
    try:
        quiz.delete_session(sid)
    except SessionTaken as exc:
        flash(f"不能删除：{exc}。", "error")
        return redirect(url_for(".session", sid=sid))
    flash(f"已删除第{sid}期答题。")
    return redirect(url_for(".index"))


@bp.post("/<sid>/close")
def close(sid):
    """End a session now: residents can no longer take it; every result so far stays and counts."""
    quiz, now = bot().quiz, clock.now()
    s = quiz.session(sid) or abort(404, f"没有期号为 {sid} 的答题。")
    before = clock.fmt(s.closes)
    if s.closes <= now:
        flash("这期答题已经截止了。", "error")
    else:
        s = quiz.close_session(s, now)
        flash(f"第{sid}期答题已截止，已有的成绩照常计入。")
    note(f"答题 {s.id}「{s.title}」", {"截止": (before, clock.fmt(s.closes))})
    return redirect(url_for(".session", sid=sid))


def preview(s) -> list[str]:
    """The session's messages exactly as the chat handlers word them: the intro, then each question."""
    ctx = SimpleNamespace(t=bot().texts.get)
    return [quiz_chat._intro(ctx, s)] + [quiz_chat._question(ctx, s, i) for i in range(len(s.questions))]


@bp.get("/<sid>/export.xlsx")
def export(sid):
    """Every counted attempt, answer by answer (names: audited)."""
    s = bot().quiz.session(sid) or abort(404, f"没有期号为 {sid} 的答题。")
    headers, rows = export_rows(bot().redis, s)
    audit("export", f"答题 {s.id} 成绩明细", len(rows))
    return send_table(f"答题-{s.id}.xlsx", headers, rows)


@bp.get("/<sid>/not-done.xlsx")
def export_missing(sid):
    """The members who have not completed the session, with their branch (names: audited); ?branch= for one
    branch. Streamed: read 500 at a time and written row by row."""
    redis = bot().redis
    s = bot().quiz.session(sid) or abort(404, f"没有期号为 {sid} 的答题。")
    stats = session_stats(redis, s)
    branch = request.args.get("branch", "")
    profiles = bot().profiles
    names = dict(profiles.branches())
    audit("export", f"答题 {s.id} 未完成名单" + (f"（{names.get(branch, branch)}）" if branch else ""),
          missing_count(stats, branch))

    def rows():
        batch = []
        for openid in iter_missing(redis, stats, branch):
            batch.append(openid)
            if len(batch) == 500:
                yield from _missing_rows(profiles, names, batch)
                batch = []
        yield from _missing_rows(profiles, names, batch)

    return send_rows(f"未完成-{s.id}.xlsx", ["姓名", "支部", "openid"], rows())


def _missing_rows(profiles, names: dict, openids: list[str]):
    people = profiles.many(openids)
    for o in openids:
        yield [people[o].name, names.get(people[o].branch, ""), o]
