"""Gunicorn settings for the web process (Procfile `web:` and `youthbot serve`).

The embedded Redis must be started once, in the master, before any worker
exists: workers that each started their own would make several servers on one
data file (docs/platform.md, the embedded Redis, trap 1). The master publishes the socket
as REDIS_URL, which the workers inherit.
"""
import os

worker_class = "sync"
timeout = 30
accesslog = None


def on_starting(server):
    from bot.serving import prepare_master

    prepare_master()
    server.log.info("youthbot: store at %s", os.environ["REDIS_URL"])


def on_exit(server):
    from bot.config import Settings
    from bot.storage import stop_embedded

    stop_embedded(Settings.from_env().data_dir)
