"""`youthbot chat`: talk to a running webhook exactly as WeChat does."""
from __future__ import annotations

import threading

import requests

from bot.wechat.simulator import WeChatSimulator, event_xml, text_xml

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


def watch_pushes(fake_base: str, openid: str, print_fn, stop: threading.Event) -> threading.Thread:
    """Print what the bot pushes to openid through the fake WeChat API, as it arrives."""
    def fetch() -> list[dict] | None:
        try:
            return requests.get(f"{fake_base}/_fake/messages", params={"touser": openid}, timeout=5).json()["messages"]
        except (requests.RequestException, ValueError, KeyError):
            return None

    already = fetch()
    seen = len(already) if already else 0  # only what arrives from now on

    def loop():
        nonlocal seen
        while not stop.wait(1.0):
            messages = fetch()
            for message in (messages or [])[seen:]:
                print_fn("\n团委(推送)> " + message["text"])
            seen = len(messages) if messages is not None else seen
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def run(url: str, openid: str, sim: WeChatSimulator, input_fn=input, print_fn=print,
        fake_base: str | None = None) -> None:
    session = ChatSession(url, openid, sim)
    print_fn(f"Chatting with {url} as {openid}{' (AES safe mode)' if sim.aes_key else ''}.")
    print_fn(HELP)
    stop = threading.Event()
    if fake_base:
        watch_pushes(fake_base, openid, print_fn, stop)
        print_fn(f"(pushes to you from the fake WeChat API at {fake_base} show up here)")
    try:
        _loop(session, url, input_fn, print_fn)
    finally:
        stop.set()


def _loop(session, url, input_fn, print_fn) -> None:
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
