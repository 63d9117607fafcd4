"""Youth League branches (团支部): the list with member counts, add, rename, load a sheet. Admins only.

Members choose their branch in chat (「支部」); the quiz figures and the report count
per branch by its id, so renaming a branch keeps its members and results.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from bot.admin.access import bot, gate, send_table, uploaded
from bot.importers import sheets
from domain.profiles import BranchError

bp = Blueprint("branches", __name__, url_prefix="/branches")
gate(bp, "admin")


@bp.get("/")
def index(upload=None, status=200, error=None):
    profiles = bot().profiles
    rows = [(bid, name, profiles.branch_size(bid)) for bid, name in profiles.branches()]
    return render_template("admin/branches.html", title="团支部", rows=rows, upload=upload, error=error,
                           total=sum(n for *_, n in rows)), status


@bp.post("/")
def add():
    try:
        bid = bot().profiles.add_branch(request.form.get("name", ""))
    except BranchError as exc:
        return index(error={"new": exc.problem}, status=400)
    flash(f"已添加支部（编号 {bid}）。团员在公众号发「支部」即可选择。")
    return redirect(url_for(".index"))


@bp.post("/<branch>/rename")
def rename(branch):
    try:
        bot().profiles.rename_branch(branch, request.form.get("name", ""))
    except BranchError as exc:
        return index(error={branch: exc.problem}, status=404 if exc.field == "编号" else 400)
    flash("已改名；支部的团员和答题记录不变。")
    return redirect(url_for(".index"))


@bp.post("/upload")
def upload():
    """Load a branches sheet (编号 名称): every bad row listed and nothing saved, or all saved."""
    with uploaded("sheet") as path:
        if path is None:
            return index(sheets.SheetUpload(errors=["请选择要上传的支部表"]), 400)
        result = sheets.load_branches(bot().redis, path)
    return index(result, 400 if result.errors else 200)


@bp.get("/template.xlsx")
def template():
    headers, rows = sheets.template_rows()["branches"]
    return send_table("支部表模板.xlsx", headers, rows)
