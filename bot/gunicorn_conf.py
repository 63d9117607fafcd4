"""Gunicorn settings for the web process (Procfile `web:` and `youthbot serve`).

The embedded Redis must be started once, in the master, before any worker
exists: workers that each started their own would make several servers on one
data file (docs/platform.md, the embedded Redis, trap 1). The master publishes the socket
as REDIS_URL, which the workers inherit.
"""
import os

# Sync workers. gthread (8 threads), which lets concurrent messages share Redis's
# fsyncs, was measured against them in the same runs twice on a shared machine
# and the two runs disagreed (docs/notes-issue-14.md): not switched on that.
worker_class = "sync"
timeout = 30
accesslog = None


def on_starting(server):
    from bot.serving import prepare_master

    from bot import storage

    settings = prepare_master()
    server.log.info("youthbot: store at %s", os.environ["REDIS_URL"])
    client = storage.connect(settings.redis_url, settings.data_dir)
    durable, said = storage.durability(client)
    (server.log.info if durable else server.log.warning)("youthbot: %s", said)
    client.close()


def on_exit(server):
    from bot.config import Settings
    from bot.storage import stop_embedded

    stop_embedded(Settings.from_env().data_dir)
