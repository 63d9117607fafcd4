"""What tests share besides fixtures: the test account's credentials and a WeChat that signs requests."""
from __future__ import annotations

import requests

from bot.simulator import WeChatSimulator, event_xml, text_xml

TOKEN = "testtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"



class WeChat:
    """Sends signed, correctly formed WeChat requests to the test client."""

    def __init__(self, client, aes: bool = False):
        self.client = client
        self.sim = WeChatSimulator(TOKEN, AES_KEY if aes else "", APPID)

    def post(self, xml: str, timestamp: int | None = None, **extra_args):
        params, body = self.sim.request(xml, timestamp)
        params.update(extra_args)
        return self.client.post("/wechat", query_string=params, data=body, content_type="text/xml")

    def reply(self, response) -> str | None:
        assert response.status_code == 200, response.data
        return self.sim.reply_text(response.data)

    def send(self, text: str, openid: str = "o_alice", msg_id: int | None = None) -> str | None:
        """Send a text message and return the reply text (None for `success`)."""
        return self.reply(self.post(text_xml(openid, text, msg_id)))

    def event(self, event: str, openid: str = "o_alice", key: str = "", create_time: int | None = None):
        return self.reply(self.post(event_xml(openid, event, key, create_time)))



def post_signed(url: str, sim: WeChatSimulator, xml: str, session=None) -> str | None:
    """POST one signed message over HTTP and return the reply text."""
    params, body = sim.request(xml)
    resp = (session or requests).post(url, params=params, data=body, timeout=30)
    assert resp.status_code == 200, resp.text
    return sim.reply_text(resp.content)


# -- the staff console ------------------------------------------------------------------
STAFF_PASSWORD = "lantern-river-42"


def staff_account(redis, name: str, role: str, password: str = STAFF_PASSWORD) -> str:
    """An account that has already changed its one-time password to `password`."""
    from domain.staff import Staff

    staff = Staff(redis)
    staff.change_password(name, staff.create(name, role), password)
    return name


class Console:
    """Drives the console through Flask's test client, with the CSRF token a browser would send."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path: str = "/admin/login") -> str:
        import re

        html = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def login(self, name: str, password: str = STAFF_PASSWORD, **extra):
        return self.client.post("/admin/login", data={"name": name, "password": password,
                                                      "csrf_token": self.csrf(), **extra})

    def post(self, path: str, data: dict | None = None, token_from: str = "/admin/", **kwargs):
        """POST a console form with a valid CSRF token (taken from a page of the session)."""
        return self.client.post(path, data={"csrf_token": self.csrf(token_from), **(data or {})}, **kwargs)

    def page(self, path: str) -> str:
        resp = self.client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        return resp.get_data(as_text=True)
