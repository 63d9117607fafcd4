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


def _control_socket():
    # One per instance (the Procfile's gunicorn; `youthbot serve` passes its own per port):
    # gunicorn's default is one path per user, which two instances on a machine would share.
    from bot.config import Settings
    from bot.serving import control_socket_path

    return control_socket_path(Settings.from_env().data_dir, f"pid{os.getpid()}")


control_socket = _control_socket()


def on_starting(server):
    from bot.serving import prepare_master

    prepare_master()
    server.log.info("youthbot: store at %s", os.environ["REDIS_URL"])


def on_exit(server):
    from bot.serving import stop_master

    stop_master()
