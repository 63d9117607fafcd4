"""The stateful peer for the webhook benchmark: WeRoBot 1.13 with its RedisStorage session.

What a Python developer would otherwise build a WeChat bot with: WeRoBot's own
WSGI app (bottle), a Redis-backed session per sender (one GET before the
handler, one SET after it), and a handler that keeps the last message in the
session and echoes it. It runs from the bench's own virtualenv (WeRoBot is not
a youthbot dependency), against a Redis server the bench starts with the fsync
policy being measured (REDIS_SOCKET).
"""
import os

import redis
import werobot
from werobot.session.redisstorage import RedisStorage

robot = werobot.WeRoBot(token=os.environ.get("WECHAT_TOKEN", "benchtoken"),
                        session_storage=RedisStorage(redis.Redis(unix_socket_path=os.environ["REDIS_SOCKET"])))


@robot.text
def echo(message, session):
    session["last"] = message.content
    session["count"] = session.get("count", 0) + 1
    return message.content


app = robot.wsgi
