"""Events and branches from spreadsheets: the console's upload pages and `youthbot content load` share the
loaders (bot/importers/sheets.py); all or nothing, every error named by file, row and the sheet's own header.
The branches page lists branches with their members and adds and renames them."""
from __future__ import annotations

import io
import time

from openpyxl import load_workbook

from bot.importers import sheets
from domain import clock
from domain.events import Events
from domain.outbox import Outbox
from domain.profiles import BRANCHES, Profiles
from domain.staff import Staff

from domain.fields import EVENT_FIELDS, named
from tests.helpers import EVENT_HEADERS as HEADERS, event_row, workbook


def day(offset: int) -> str:
    return clock.local(time.time() + offset * 86400).strftime("%Y-%m-%d")


def good_rows():
    return [dict(id="elder-a", title="爱驻夕阳 · 敬老服务", category="敬老", place="白石坡社区养老院", start=f"{day(5)} 09:00",
                 end="11:30", capacity=30, signup_deadline_hours=2, cancel_cutoff_hours=24, min_age=16,
                 description="为老人送水果、打扫卫生。", tags="敬老、养老院"),
            dict(id="tutor-a", title="四点半课堂", category="四点半课堂", place="蓝精灵家园", start=f"{day(7)} 16:30",
                 end="17:30", capacity=6, cancel_cutoff_hours=4, weekdays="一至五", days=14, description="一对一辅导作业。")]


def sheet(path, rows, headers=HEADERS):
    """A sheet of rows: lists under headers, or {field key: cell} under the declared headers."""
    return workbook(headers, [event_row(**r) if isinstance(r, dict) else r for r in rows], path)


def upload(console, path, url="/admin/events/upload", token_from="/admin/events/"):
    with open(path, "rb") as fh:
        return console.post(url, {"sheet": (io.BytesIO(fh.read()), path.name)}, token_from=token_from,
                            content_type="multipart/form-data")


def test_an_events_sheet_is_loaded_whole_one_off_and_weekly(console, tmp_path, redis_client, wechat):
    resp = upload(console, sheet(tmp_path / "七月活动.xlsx", good_rows()))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已导入" in html
    events = Events(redis_client).upcoming(0)
    elder = [o for o in events if o.event_id == "elder-a"]
    tutoring = [o for o in events if o.event_id == "tutor-a"]
    assert len(elder) == 1 and elder[0].category == "敬老" and elder[0].requirements == {"min_age": 16}
    assert elder[0].minutes == 150 and elder[0].tags == ["敬老", "养老院"]
    assert elder[0].start - elder[0].signup_deadline == 2 * 3600 and elder[0].start - elder[0].cancel_cutoff == 24 * 3600
    assert len(tutoring) == 10 and all(clock.local(o.start).isoweekday() <= 5 for o in tutoring)  # 14 days, weekdays
    assert all(f"{clock.local(o.start):%H:%M}-{clock.local(o.end):%H:%M}" == "16:30-17:30" for o in tutoring)
    assert "爱驻夕阳 · 敬老服务" in wechat.send("志愿")


def test_every_wrong_row_is_named_in_the_sheets_own_words_and_nothing_is_loaded(console, tmp_path, redis_client):
    rows = good_rows() + [
        dict(id="bad-1", category="敬老", place="某地", start=f"{day(3)} 09:00", end="11:00", capacity=10),  # no title
        dict(id="bad-2", title="护河", category="护河", place="三干渠", start="7月4日", end="11:00", capacity=10),  # not a date
        dict(id="bad-3", title="洁城", category="洁城", place="南门", start=f"{day(3)} 15:00", end="14:00",
             capacity="三十"),  # ends before, capacity
        dict(id="bad-4", title="四点半", category="四点半课堂", place="家园", start=f"{day(3)} 16:30", end="17:30", capacity=5,
             students_only="也许", weekdays="周一、周八"),
        dict(id="elder-a", title="重复", category="敬老", place="某地", start=f"{day(3)} 09:00", end="11:00",
             capacity=10),  # the same 编号 again
    ]
    resp = upload(console, sheet(tmp_path / "活动表.xlsx", rows))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "没有导入任何内容" in html
    for words in ("活动表.xlsx 第4行「活动名称」：没有填写",
                  "活动表.xlsx 第5行「开始」：不是日期“7月4日”（应写成 2026-07-04 09:00）",
                  "活动表.xlsx 第6行「名额」：应为整数，现在是“三十”",
                  "活动表.xlsx 第6行「结束」：",
                  "活动表.xlsx 第7行「仅限学生」：填“是”或留空，现在是“也许”",
                  "活动表.xlsx 第7行「每周」：“八”不是星期几",
                  "活动表.xlsx 第8行「编号」：编号 elder-a 和第2行重复"):
        assert words in html, words
    assert Events(redis_client).upcoming(0) == []  # the good rows were not loaded either


def test_headers_are_matched_as_staff_write_them_and_a_missing_column_is_named(tmp_path):
    headers = ["活动编号", "名称", "地点", "开始时间", "结束时间", "人数", "报名截止(小时)"]
    up = sheets.read_events(sheet(tmp_path / "a.xlsx", [["x1", "标题", "地点", f"{day(2)} 9:00", "10:00", 5, 1]],
                                  headers))
    assert up.errors == [] and up.records[0].start - up.records[0].signup_deadline == 3600
    up = sheets.read_events(sheet(tmp_path / "b.xlsx", [["x1", "标题", f"{day(2)} 9:00"]], ["编号", "活动名称", "开始"]))
    assert up.errors == ["b.xlsx：第一行（表头）缺少「地点」「结束」「名额」列；表头应为：" + " ".join(HEADERS)]
    csv = tmp_path / "c.csv"
    columns = [named(EVENT_FIELDS, k).label for k in ("id", "title", "category", "place", "start", "end", "capacity")]
    csv.write_text(",".join(columns) + "\n" + f"x2,敬老,敬老,养老院,{day(2).replace('-', '/')} 09:00,11:00,8\n",
                   encoding="utf-8-sig")
    up = sheets.read_events(csv)
    assert up.errors == [] and up.records[0].category == "敬老"
    (tmp_path / "d.csv").write_bytes("编号,活动名称\n1,敬老".encode("gbk"))
    assert "不是 UTF-8 编码" in sheets.read_events(tmp_path / "d.csv").errors[0]
    (tmp_path / "e.xlsx").write_bytes(b"not a workbook")
    assert "无法读取这个文件" in sheets.read_events(tmp_path / "e.xlsx").errors[0]
    assert sheets.read_events(tmp_path / "f.pdf").errors == ["f.pdf：请上传 .xlsx 或 .csv 表格"]


def test_a_reloaded_sheet_updates_its_events_tells_those_signed_up_and_promotes_the_waitlist(
        console, tmp_path, redis_client, bot):
    rows = good_rows()[:1]
    rows[0]["capacity"] = 1
    assert upload(console, sheet(tmp_path / "s.xlsx", rows)).status_code == 200
    events = Events(redis_client)
    occ = events.upcoming(0)[0]
    events.sign_up(occ, "o_a")
    events.sign_up(occ, "o_b")  # waitlisted
    rows[0]["start"], rows[0]["capacity"] = f"{day(5)} 10:00", 2  # an hour later, one more place
    resp = upload(console, sheet(tmp_path / "s.xlsx", rows))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "将通知" in html and "候补的1人转为正式报名" in html
    moved = events.get(occ.id)
    assert moved.number == occ.number and moved.start == occ.start + 3600 and events.confirmed(occ.id) == ["o_a", "o_b"]
    told = {(p["openid"], p["kind"]) for p in Outbox(redis_client).pending()}
    assert {("o_a", "event_moved"), ("o_b", "event_moved"), ("o_b", "waitlist_promotion")} <= told
    rows[0]["capacity"] = 1  # fewer places than the two signed up: refused, nothing changed
    resp = upload(console, sheet(tmp_path / "s.xlsx", rows))
    assert resp.status_code == 400 and "已有2人报名，名额不能少于2" in resp.get_data(as_text=True)
    assert events.get(occ.id).capacity == 2


def test_an_organiser_uploads_their_own_events_and_cannot_change_others(console_as, tmp_path, redis_client):
    admin, organiser = console_as("admin"), console_as("organiser")
    assert upload(admin, sheet(tmp_path / "admin.xlsx", good_rows()[:1])).status_code == 200
    rows = good_rows()
    rows[0]["title"] = "改名"
    resp = upload(organiser, sheet(tmp_path / "mine.xlsx", rows))
    assert resp.status_code == 400 and "编号 elder-a 是别人负责的活动" in resp.get_data(as_text=True)
    rows[0]["start"] = f"{day(9)} 09:00"  # the same 编号 on another date is still someone else's event
    resp = upload(organiser, sheet(tmp_path / "mine.xlsx", rows))
    assert resp.status_code == 400 and "编号 elder-a 是别人负责的活动" in resp.get_data(as_text=True)
    assert len(Events(redis_client).upcoming(0)) == 1
    resp = upload(organiser, sheet(tmp_path / "mine.xlsx", good_rows()[1:]))
    assert resp.status_code == 200
    staff = Staff(redis_client)
    assert staff.runs(staff.get("organiser1"), "tutor-a") and not staff.runs(staff.get("organiser1"), "elder-a")
    assert "四点半课堂" in organiser.page("/admin/events/")
    assert console_as("jobs").client.get("/admin/events/template.xlsx").status_code == 403


def test_the_events_template_loads_as_it_is(console, tmp_path, redis_client):
    resp = console.client.get("/admin/events/template.xlsx")
    path = tmp_path / "模板.xlsx"
    path.write_bytes(resp.data)
    assert [c.value for c in load_workbook(path).active[1]] == HEADERS
    up = sheets.read_events(path, redis_client)
    assert up.errors == [] and {o.event_id for o in up.records} == {"elder-0704", "tutoring-july"}


def test_content_load_takes_event_and_branch_sheets_with_every_error(cli, tmp_path, redis_client):
    content = tmp_path / "content"
    (content / "events").mkdir(parents=True)
    (content / "branches").mkdir()
    sheet(content / "events" / "活动.xlsx", good_rows())
    sheet(content / "branches" / "支部.xlsx", [["b1", "街道机关团支部"], ["b2", "白石坡社区团支部"]], ["编号", "名称"])
    code, out = cli("content", "load", str(content))
    assert code == 0 and "2 branches" in out and "11 events" in out, out
    assert Profiles(redis_client).branches() == [("b1", "街道机关团支部"), ("b2", "白石坡社区团支部")]
    sheet(content / "events" / "活动.xlsx", good_rows() + [dict(id="x", start="明天", capacity=0)])
    code, out = cli("content", "load", str(content))
    assert code != 0
    for words in ("活动.xlsx 第4行「活动名称」：没有填写", "活动.xlsx 第4行「地点」：没有填写", "活动.xlsx 第4行「结束」：没有填写"):
        assert words in out, out


def test_the_branches_page_lists_members_adds_and_renames(console, redis_client, wechat):
    redis_client.hset(BRANCHES, mapping={"b1": "街道机关团支部", "b2": "白石坡社区团支部"})
    profiles = Profiles(redis_client)
    for openid in ("m1", "m2", "m3"):
        profiles.set_branch(openid, "b1")
    html = console.page("/admin/branches/")
    assert "街道机关团支部" in html and '<td class="num">3</td>' in html and "合计" in html
    resp = console.post("/admin/branches/", {"name": "凯旋城社区团支部"}, token_from="/admin/branches/")
    assert resp.status_code == 302 and ("b3", "凯旋城社区团支部") in profiles.branches()
    resp = console.post("/admin/branches/b1/rename", {"name": "街道机关第一团支部"}, token_from="/admin/branches/")
    assert resp.status_code == 302 and dict(profiles.branches())["b1"] == "街道机关第一团支部"
    assert profiles.branch_size("b1") == 3  # members stay with the branch
    assert "3. 凯旋城社区团支部" in wechat.send("支部") and "街道机关第一团支部" in wechat.send("支部")
    for path, data, words in (("/admin/branches/", {"name": ""}, "没有填写"),
                              ("/admin/branches/", {"name": "白石坡社区团支部"}, "已经是编号 b2 的支部名称"),
                              ("/admin/branches/b2/rename", {"name": "长" * 31}, "最多30个字"),
                              ("/admin/branches/b2/rename", {"name": "凯旋城社区团支部"}, "已经是编号 b3 的支部名称")):
        resp = console.post(path, data, token_from="/admin/branches/")
        assert resp.status_code == 400 and words in resp.get_data(as_text=True), (path, data)
    assert console.post("/admin/branches/b9/rename", {"name": "新"}, token_from="/admin/branches/").status_code == 404
    assert len(profiles.branches()) == 3


def test_a_branches_sheet_is_all_or_nothing(console, tmp_path, redis_client):
    redis_client.hset(BRANCHES, mapping={"b1": "街道机关团支部", "b2": "白石坡社区团支部"})
    bad = sheet(tmp_path / "支部.xlsx", [["b3", "凯旋城社区团支部"], ["b 4", "医院团支部"], ["b5", ""],
                                        ["b3", "又一个"], ["b6", "白石坡社区团支部"]], ["编号", "名称"])
    resp = upload(console, bad, "/admin/branches/upload", "/admin/branches/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for words in ("支部.xlsx 第3行「编号」：“b 4”只能用字母、数字、- 和 _", "支部.xlsx 第4行「名称」：没有填写",
                  "支部.xlsx 第5行「编号」：编号 b3 和第2行重复", "支部.xlsx 第6行「名称」：“白石坡社区团支部”已经是编号 b2 的支部名称"):
        assert words in html, words
    assert len(Profiles(redis_client).branches()) == 2
    # renaming b2 and giving its old name to a new branch in the same sheet is fine
    good = sheet(tmp_path / "支部.xlsx", [["b2", "白石坡社区第一团支部"], ["b6", "白石坡社区团支部"]], ["编号", "名称"])
    resp = upload(console, good, "/admin/branches/upload", "/admin/branches/")
    assert resp.status_code == 200 and "已导入 2 个支部" in resp.get_data(as_text=True)
    assert dict(Profiles(redis_client).branches()) == {"b1": "街道机关团支部", "b2": "白石坡社区第一团支部",
                                                      "b6": "白石坡社区团支部"}


def test_an_events_sheet_takes_dates_times_and_places_the_chinese_way(console, tmp_path, redis_client):
    """Issue 21 item 15: 2026年12月15日 8:00 and 2026/12/15 8:00 in 开始, 11：30 (the IME's colon) in 结束, 20人 in 名额,
    and headers written with spaces and variants (开始时间, 活动 名称)."""
    year = clock.local(time.time()).year + 1
    headers = ["编号", "活动 名称", "地点", "开始时间", "结束时间", "名额"]
    rows = [["cn-a", "敬老", "养老院", f"{year}年12月15日 8:00", "11：30", "20人"],
            ["cn-b", "护河", "三干渠", f"{year}/12/16 9:00", f"{year}/12/16 11:00", "１５"]]
    resp = upload(console, sheet(tmp_path / "活动表.xlsx", rows, headers))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    a = [o for o in Events(redis_client).upcoming(0) if o.event_id == "cn-a"][0]
    b = [o for o in Events(redis_client).upcoming(0) if o.event_id == "cn-b"][0]
    assert f"{clock.local(a.start):%Y-%m-%d %H:%M}-{clock.local(a.end):%H:%M}" == f"{year}-12-15 08:00-11:30"
    assert a.capacity == 20 and b.capacity == 15 and b.minutes == 120
