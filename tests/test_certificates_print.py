"""Printable certificates (issue 22 #6): the A4 Word document with the full name, activities, hours, number,
issuer and a QR code of its /verify link; from the chat's 志愿证明 by a signed link only its owner gets, and
from the console (audited); /verify/ with a box for a number; its rendering checked through LibreOffice."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import zipfile

import pytest
from docx import Document

from bot.report.certificate import qr_png, verify_link
from domain.audit import Audit
from tests.helpers import served


def _print_link(wechat) -> tuple[str, str]:
    reply = wechat.send("志愿证明", openid="o_vol")
    number = re.search(r"编号：(\S+)", reply).group(1)
    link = re.search(r"打印版（A4，含核验二维码，30天内有效，只发给你本人）：(\S+)", reply).group(1)
    return number, link


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]  # the path and query of the link


def _text_of(docx: bytes) -> str:
    doc = Document(io.BytesIO(docx))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_the_chat_gives_its_owner_a_printable_a4_document_with_a_qr_code_of_the_verify_link(
        wechat, client, bot, redis_client):
    river, _ = served(redis_client)
    number, link = _print_link(wechat)
    resp = client.get(_path(link))
    assert resp.status_code == 200 and resp.mimetype.endswith("wordprocessingml.document")
    assert f"{number}.docx" in resp.headers["Content-Disposition"]
    text = _text_of(resp.data)
    assert "兹证明 王小红 同志" in text and f"编号：{number}" in text and bot.settings.committee_name in text
    assert river.title in text and "累计志愿服务2小时" in text and "合计" in text and "（盖章）" in text
    assert verify_link(bot.settings.public_url, number) in text
    section = Document(io.BytesIO(resp.data)).sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    images = [n for n in zipfile.ZipFile(io.BytesIO(resp.data)).namelist() if n.startswith("word/media/")]
    assert len(images) == 1
    png = zipfile.ZipFile(io.BytesIO(resp.data)).read(images[0])
    assert png == qr_png(verify_link(bot.settings.public_url, number))  # the QR code holds the verify link


def test_a_changed_expired_or_missing_token_gets_no_document_and_is_told_what_to_do(wechat, client, redis_client, bot):
    served(redis_client)
    number, link = _print_link(wechat)
    path, token = _path(link).split("?t=")
    for bad in ("", "123-abc", token[:-1] + ("0" if token[-1] != "0" else "1")):
        resp = client.get(f"{path}?t={bad}")
        assert resp.status_code == 403 and "再发一次「志愿证明」" in resp.get_data(as_text=True), bad
    old = bot.certificates.print_token(number, time.time() - 31 * 86400)
    assert client.get(f"{path}?t={old}").status_code == 403
    assert client.get(f"/verify/TW20990101-00001-XXXX/print.docx?t={token}").status_code == 404
    other = bot.certificates.issue("o_other", "李雷", [(time.time() - 86400, "护河", 120)], "团委", time.time())
    assert client.get(f"/verify/{other.number}/print.docx?t={token}").status_code == 403  # a token is for one record


def test_verify_has_a_box_for_the_number_and_tidies_what_is_typed(wechat, client, redis_client):
    served(redis_client)
    number, _ = _print_link(wechat)
    page = client.get("/verify/")
    assert page.status_code == 200 and 'name="number"' in page.get_data(as_text=True)
    for typed in (number, number.lower(), f"  {number} ", number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})):
        resp = client.get("/verify/", query_string={"number": typed})
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/verify/{number}"), typed
    html = client.get(f"/verify/{number}").get_data(as_text=True)
    assert "王*明" not in html and "王*红" in html
    resp = client.get("/verify/", query_string={"number": "<script>alert(1)</script>"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "编号的格式是" in html and "<script>alert" not in html
    missing = client.get("/verify/", query_string={"number": "TW20990101-00001-XXXX"}, follow_redirects=True)
    assert missing.status_code == 404 and "没有找到" in missing.get_data(as_text=True)


def test_staff_download_the_printable_version_from_the_console_and_it_is_audited(console, redis_client, bot):
    served(redis_client)
    html = console.post("/admin/people/o_vol/certificate", token_from="/admin/people/o_vol/certificate"
                        ).get_data(as_text=True)
    number = re.search(r"编号：(\S+)", html).group(1)
    assert f"/admin/people/o_vol/certificate/{number}.docx" in html
    resp = console.client.get(f"/admin/people/o_vol/certificate/{number}.docx")
    assert resp.status_code == 200 and "兹证明 王小红 同志" in _text_of(resp.data)
    e = Audit(bot.redis).recent(1)[0]
    assert (e.action, e.staff, e.people, e.what) == ("export", "admin1", 1, f"志愿服务证明 {number} 打印版")
    assert console.client.get(f"/admin/people/o_someone/certificate/{number}.docx").status_code == 404


@pytest.mark.slow  # starts LibreOffice
@pytest.mark.skipif(not shutil.which("soffice") or not shutil.which("pdftoppm"),
                    reason="LibreOffice and poppler-utils are not installed")
def test_the_printable_certificate_renders_on_one_page_with_its_chinese_and_its_qr_code(wechat, client, redis_client,
                                                                                       tmp_path):
    served(redis_client)
    number, link = _print_link(wechat)
    (tmp_path / "c.docx").write_bytes(client.get(_path(link)).data)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(tmp_path / "c.docx")], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "c.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+1\b", info) and "(A4)" in info, info  # one A4 page
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert [r[0] for r in rows if re.search(r"CJK|Sim|Song|Hei|Kai|Han|WenQuanYi", r[0])], fonts
    assert all("yes" in r[-5:-2] for r in rows), fonts  # every font embedded
    flat = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)
    for expected in ("志愿服务证明", "兹证明王小红同志", number, "特此证明", "（盖章）", "合计", "核验本证明",
                     "不足活动时长60%的不计入"):  # the last line too: nothing cut off
        assert expected in flat, expected
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert len(images.splitlines()) == 3  # two header lines and the QR code
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    (page,) = tmp_path.glob("page-*.png")
    assert page.stat().st_size > 5000  # a page with text on it, not a blank one
