"""Certificates in the console: a volunteer found on the people page, their service record, and the numbered
certificate the chat's 志愿证明 gives (the same handler and numbering), each view and issue audited."""
from __future__ import annotations

import re

from domain.audit import Audit
from domain.profiles import Profiles
from tests.helpers import served




def test_an_admin_finds_a_volunteer_and_gives_the_certificate_the_chat_gives(console, redis_client, wechat):
    river, elder = served(redis_client)
    found = console.page("/admin/people/?q=8001")
    assert "王*红" in found or "王小红" in found
    person = console.page("/admin/people/o_vol")
    assert "志愿服务证明" in person and "/admin/people/o_vol/certificate" in person
    record = console.page("/admin/people/o_vol/certificate")
    assert "活动river" in record and "2.0" in record and "不足规定时长" in record and "合计 1 次" in record
    entries = Audit(redis_client).recent(5)
    assert entries[0].action == "view" and entries[0].what == "人员 #o_vol 的志愿服务记录" and entries[0].people == 1

    resp = console.post("/admin/people/o_vol/certificate", token_from="/admin/people/o_vol/certificate")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    text = re.search(r'<pre class="certificate" id="certificate-text">(.*?)</pre>', html, re.S).group(1)
    number = re.search(r"编号：(\S+)", text).group(1)
    assert "兹证明 王小红 同志参加我街道团委组织的志愿服务活动1次，累计服务2小时" in text and "活动river（2小时）" in text
    assert "活动elder" not in text  # no credited hours, as in chat
    issued = Audit(redis_client).recent(1)[0]
    assert issued.action == "certificate" and issued.what == f"为 #o_vol 开具志愿服务证明 {number}"  # no name

    # the chat gives the same text under the same number: one number per service record
    chat = wechat.send("志愿证明", openid="o_vol")
    chat_number = re.search(r"编号：(\S+)", chat).group(1)
    # the check link's token holds its expiry in seconds: issued a second apart, the two links differ there only
    token = re.compile(r"=\d+-[0-9a-f]+")
    assert token.search(chat) and token.search(text)
    assert token.sub("=T", chat.replace(chat_number, number)).strip() == \
        token.sub("=T", text.strip().replace("&#34;", '"'))
    assert chat_number == number


def test_no_certificate_without_credited_hours_or_a_name(console, redis_client):
    Profiles(redis_client).save_contact("o_new", "李雷", "13900139000")
    Profiles(redis_client).set_branch("o_new", "b1")
    page = console.page("/admin/people/o_new/certificate")
    assert "没有签到签退的记录" in page and "开具志愿服务证明</button>" not in page
    resp = console.post("/admin/people/o_new/certificate", token_from="/admin/people/o_new/certificate")
    assert resp.status_code == 302 and "没有计入时长" in console.page("/admin/people/o_new/certificate")
    # a volunteer who deleted their name keeps their hours but gets no certificate here
    served(redis_client, "o_gone", "张三", "13700137000")
    Profiles(redis_client).forget_contact("o_gone")
    Profiles(redis_client).set_branch("o_gone", "b1")
    page = console.page("/admin/people/o_gone/certificate")
    assert "没有登记真实姓名" in page
    resp = console.post("/admin/people/o_gone/certificate", token_from="/admin/people/o_gone/certificate")
    assert resp.status_code == 302
    tries = [e for e in Audit(redis_client).recent(20) if e.action == "certificate"]  # both refused, and said why
    assert [e.refused[:6] for e in tries] == ["没有登记真实", "没有计入时长"]
    assert console.client.get("/admin/people/o_nobody/certificate").status_code == 404


def test_only_admins_open_certificates(console_as, redis_client):
    served(redis_client)
    for role in ("organiser", "jobs"):
        c = console_as(role)
        assert c.client.get("/admin/people/o_vol/certificate").status_code == 403
        assert c.post("/admin/people/o_vol/certificate", token_from="/admin/").status_code == 403
