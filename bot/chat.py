"""`youthbot chat`: talk to a running webhook exactly as WeChat does."""
from __future__ import annotations

import requests

from bot.simulator import WeChatSimulator, event_xml, text_xml

HELP = """Type a message and press Enter. Commands:
  /follow        send a subscribe event        /unfollow   an unsubscribe event
  /click KEY     a menu click (e.g. /click QUIZ_START)
  /quit          leave"""


class ChatSession:
    def __init__(self, url: str, openid: str, sim: WeChatSimulator, timeout: float = 10):
        self.url, self.openid, self.sim, self.timeout = url, openid, sim, timeout

    def send_xml(self, xml: str) -> str | None:
        params, body = self.sim.request(xml)
        resp = requests.post(self.url, params=params, data=body, timeout=self.timeout,
                             headers={"Content-Type": "text/xml"})
        if resp.status_code != 200:
            return f"[HTTP {resp.status_code}] {resp.text[:200]}"
        return self.sim.reply_text(resp.content)

    def say(self, line: str) -> str | None:
        """Turn one typed line into the message WeChat would send, and return the reply."""
        if line.startswith("/follow"):
            return self.send_xml(event_xml(self.openid, "subscribe"))
        if line.startswith("/unfollow"):
            return self.send_xml(event_xml(self.openid, "unsubscribe"))
        if line.startswith("/click "):
            return self.send_xml(event_xml(self.openid, "CLICK", line.split(None, 1)[1].strip()))
        return self.send_xml(text_xml(self.openid, line))


def run(url: str, openid: str, sim: WeChatSimulator, input_fn=input, print_fn=print) -> None:
    session = ChatSession(url, openid, sim)
    print_fn(f"Chatting with {url} as {openid}{' (AES safe mode)' if sim.aes_key else ''}.")
    print_fn(HELP)
    while True:
        try:
            line = input_fn("你> ").strip()
        except (EOFError, KeyboardInterrupt):
            print_fn("")
            return
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        try:
            reply = session.say(line)
        except requests.RequestException as exc:
            print_fn(f"[cannot reach {url}: {exc.__class__.__name__}; is `youthbot serve` running?]")
            continue
        print_fn("团委> " + (reply if reply is not None else "（无回复）"))
