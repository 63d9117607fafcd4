"""Gunicorn settings for the web process (Procfile `web:` and `youthbot serve`).

The embedded Redis must be started once, in the master, before any worker
exists: workers that each started their own would make several servers on one
data file (docs/platform.md, the embedded Redis, trap 1). The master publishes the socket as REDIS_URL,
which the workers inherit.

Metrics: prometheus_client's multi-process mode needs PROMETHEUS_MULTIPROC_DIR
before it is first imported, so it is set here, when gunicorn reads this file
(METRICS_DIR/web), emptied when the master starts, and a dead worker's live
gauges are dropped in child_exit.

Stopping (SIGTERM): workers finish the request they are serving (up to
graceful_timeout), then wait for handlers still running past the reply budget,
whose replies go to the outbox.
"""
import os

# Sync workers. gthread (8 threads), which lets concurrent messages share Redis's
# fsyncs, was measured against them in the same runs twice on a shared machine
# and the two runs disagreed (docs/notes-issue-14.md): not switched on that.
worker_class = "sync"
timeout = 30
graceful_timeout = 25
accesslog = None
# gunicorn's own lines as JSON like the rest (LOG_FORMAT), and into LOG_DIR
logger_class = "bot.ops.logs.GunicornLogger"


def _role(name: str) -> str:
    return name if name in ("web", "console") else "web"


if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    from bot.config import Settings as _Settings

    _settings = _Settings.from_env()  # the web's and the console's gunicorn each their own folder (SERVE_ROLE)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_settings.metrics_path / _role(_settings.serve_role))


def _control_socket():
    # One per instance (the Procfile's gunicorn; `youthbot serve` passes its own per port):
    # gunicorn's default is one path per user, which two instances on a machine would share.
    from bot.config import Settings
    from bot.runtime.serving import control_socket_path

    return control_socket_path(Settings.from_env().data_dir, f"pid{os.getpid()}")


control_socket = _control_socket()


def on_starting(server):
    import shutil

    from bot.runtime.serving import prepare_master

    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(metrics_dir, ignore_errors=True)  # the counters of an earlier run
    os.makedirs(metrics_dir, exist_ok=True)
    from bot.runtime import storage

    embedded = not os.environ.get("REDIS_URL")
    settings = prepare_master()
    client = storage.connect(settings.redis_url, settings.data_dir)
    server.log.info("youthbot: store at %s (%s)", os.environ["REDIS_URL"], storage.describe_server(client, embedded))
    durable, said = storage.durability(client)
    (server.log.info if durable else server.log.warning)("youthbot: %s", said)
    from domain import indexes

    try:  # before any worker serves: a store from an earlier version gets the indexes requests read
        indexes.ensure(client, say=lambda text: server.log.info("youthbot: %s", text))
    except Exception as exc:  # noqa: BLE001 - the workers build them (or say why) when they start
        server.log.warning("youthbot: store indexes not built: %s", exc)
    client.close()


def child_exit(server, worker):
    from bot.ops.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def worker_exit(server, worker):
    from bot.web import handling

    finished, running = handling.drain(timeout=max(1.0, graceful_timeout - 5))
    if finished or running:
        server.log.info("youthbot: %d late handler(s) finished on the way out, %d still running", finished, running)


def on_exit(server):
    from bot.runtime.serving import stop_master

    stop_master()
