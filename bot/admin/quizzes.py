"""Study quizzes: sessions, question-bank uploads, a preview as residents see it, figures, exports."""
from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, abort, render_template, request

from bot.admin.access import audit, bot, gate, send_table, uploaded
from bot.admin.charts import row
from bot.importers import uploads
from domain import clock
from domain.quiz_report import export_rows, session_stats
from handlers import quiz as quiz_chat

bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")
gate(bp, "admin")

TEMPLATE_HEADERS = ["期号", "标题", "学习内容", "链接", "开始", "截止", "题目", "题型", "A", "B", "C", "D", "答案", "解析"]


@bp.get("/")
def index(upload=None, status=200):
    quiz, now = bot().quiz, clock.now()
    sessions = quiz.sessions()
    counts = {s.id: len(quiz.participants(s.id)) for s in sessions}
    groups = [("进行中", [s for s in sessions if s.is_open(now)]),
              ("未开始", [s for s in sessions if s.opens > now]),
              ("已截止", sorted((s for s in sessions if s.closes <= now), key=lambda s: -s.closes))]
    profiles = bot().profiles
    branches = [(bid, name, profiles.branch_size(bid)) for bid, name in profiles.branches()]
    return render_template("admin/quizzes.html", title="答题", groups=groups, counts=counts, upload=upload,
                           branches=branches), status


@bp.post("/upload")
def upload():
    """Load a question bank: every bad row listed and nothing saved, or every session saved."""
    with uploaded("bank") as path:
        if path is None:
            return index(uploads.Upload(errors=["请选择要上传的题库文件"]), 400)
        result = uploads.load_quiz_bank(bot(), path)
    return index(result, 400 if result.errors else 200)


@bp.get("/template.xlsx")
def template():
    """An empty question bank with the right columns and one example row."""
    example = ["2026-20", "青年大学习 · 第20期", "本期学习内容……", "https://www.gqt.org.cn/", "2026-05-18 08:00",
               "2026-05-25 08:00", "五四青年节是每年的哪一天？", "单选", "5月4日", "6月1日", "7月1日", "10月1日", "A",
               "纪念1919年的五四运动。"]
    return send_table("题库模板.xlsx", TEMPLATE_HEADERS, [example])


@bp.get("/<sid>")
def session(sid):
    """One session: the preview as in chat, completion per branch, who has not done it."""
    redis = bot().redis
    s = bot().quiz.session(sid) or abort(404, f"没有期号为 {sid} 的答题。")
    stats = session_stats(redis, s)
    branch = request.args.get("branch", "")
    profiles = bot().profiles
    names = dict(profiles.branches())
    missing = stats.not_completed
    people = profiles.many(missing)
    if branch:
        missing = [o for o in missing if people[o].branch == branch]
    if missing:
        audit("view", f"答题 {s.id} 未完成名单" + (f"（{names.get(branch, branch)}）" if branch else ""), len(missing))
    chart = [row(b.name, [(b.rate, "bar")], f"{b.rate:.0%}（{b.completers}/{b.members}，均分{b.average:.0f}）",
                 f"?branch={b.branch_id}#not-done") for b in stats.standings]
    return render_template("admin/quiz_session.html", title=s.title, s=s, stats=stats, chart=chart,
                           preview=preview(s), missing=missing, people=people, branch_names=names, branch=branch)


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
    """The members who have not completed the session, with their branch (names: audited)."""
    redis = bot().redis
    s = bot().quiz.session(sid) or abort(404, f"没有期号为 {sid} 的答题。")
    missing = session_stats(redis, s).not_completed
    profiles = bot().profiles
    people, names = profiles.many(missing), dict(profiles.branches())
    audit("export", f"答题 {s.id} 未完成名单", len(missing))
    return send_table(f"未完成-{s.id}.xlsx", ["姓名", "支部", "openid"],
                      [[people[o].name, names.get(people[o].branch, ""), o] for o in missing])
