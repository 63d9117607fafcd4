"""The push seam: messages that go to a user outside a webhook reply.

Anything that must reach a user later (a reply that missed WeChat's 5-second
window, a waitlist promotion, an event change) is enqueued here with an
idempotency key; enqueuing the same key twice queues it once. The scheduler
drains the queue through bot.pushes (every few seconds).
"""
from __future__ import annotations

import json
import time

from domain.keys import key

QUEUE = key("{outbox}", "queue")
TAKEN = key("{outbox}", "taken")  # items being delivered; put back if the drainer died

# Mark the key seen and queue the item in one atomic step (both keys share the
# {outbox} hash tag, so this also runs on a Redis Cluster).
_ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


class Outbox:
    def __init__(self, redis, seen_ttl: int = 30 * 24 * 3600):
        self._redis = redis
        self._seen_ttl = seen_ttl
        self._enqueue_once = redis.register_script(_ENQUEUE_ONCE)

    def enqueue(self, openid: str, text: str, kind: str, idem_key: str) -> bool:
        """Queue a text for openid once per idem_key; return False if it was queued before."""
        item = {"openid": openid, "text": text, "kind": kind, "key": idem_key, "at": int(time.time())}
        seen = key("{outbox}", "seen", idem_key)
        payload = json.dumps(item, ensure_ascii=False)
        return bool(self._enqueue_once(keys=[seen, QUEUE], args=[self._seen_ttl, payload]))

    def pending(self) -> list[dict]:
        return [json.loads(raw) for raw in self._redis.lrange(QUEUE, 0, -1)]

    def drain(self, deliver, limit: int = 1000) -> dict[str, int]:
        """Hand queued items to deliver(item) -> status name; items held by quiet hours ("quiet") go back."""
        while self._redis.lmove(TAKEN, QUEUE, "RIGHT", "LEFT"):  # left by a drainer that died
            pass
        counts: dict[str, int] = {}
        held = []
        for _ in range(limit):
            raw = self._redis.lmove(QUEUE, TAKEN, "LEFT", "RIGHT")
            if raw is None:
                break
            status = deliver(json.loads(raw))  # "sent", "skipped", ..., "quiet"
            counts[status] = counts.get(status, 0) + 1
            if status == "quiet":
                held.append(raw)
            self._redis.lrem(TAKEN, 1, raw)
        if held:
            self._redis.rpush(QUEUE, *held)
        return counts
