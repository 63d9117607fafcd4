"""The console's people pages: find by name or last four digits (audited), delete as `删除我的信息` does."""
from __future__ import annotations

import time

from domain.audit import Audit
from domain.events import Events
from domain.jobs import Jobs
from domain.profiles import Profiles
from tests.helpers import make_morning_event as make_event
from tests.helpers import posting


def test_find_by_name_or_last_four_digits_and_the_search_is_audited(console, bot):
    profiles = Profiles(bot.redis)
    profiles.save_contact("o_a", "张小明", "13800138000")
    profiles.save_contact("o_b", "李小红", "13900001234")
    html = console.page("/admin/people/?q=小明")
    assert "张小明" in html and "138****8000" in html and "李小红" not in html and "13800138000" not in html
    assert "李小红" in console.page("/admin/people/?q=1234")
    assert "至少后四位" in console.page("/admin/people/?q=123")
    assert Audit(bot.redis).recent(1)[0].action == "search"


def test_delete_has_the_same_effect_as_the_chat_command(console, bot, wechat):
    events, jobs = Events(bot.redis), Jobs(bot.redis)
    occ = make_event(events, capacity=1)
    Profiles(bot.redis).save_contact("o_a", "张小明", "13800138000")
    events.sign_up(occ, "o_a")
    events.sign_up(occ, "o_b")
    p = jobs.save(posting("a", "货车司机"))
    jobs.register_interest(p, "o_a", "", time.time())
    console.page("/admin/people/o_a")
    html = console.post("/admin/people/o_a/delete", token_from="/admin/people/", follow_redirects=True).get_data(as_text=True)
    assert "取消了1个未开始的活动报名，撤回了1个岗位意向" in html
    assert not Profiles(bot.redis).get("o_a").has_contact and jobs.interested(p.id) == []
    assert events.status_of(occ.id, "o_b") == ("confirmed", 1)  # the waitlist moved up, as in chat
    assert "已删除" not in console.page("/admin/people/?q=小明") and "没有找到" in console.page("/admin/people/?q=小明")
    assert console.client.get("/admin/people/o_a").status_code == 404
