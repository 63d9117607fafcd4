"""Running the service: the webhook, the scheduler, the terminal chat and the fake WeChat API."""
from __future__ import annotations

import signal
import sys
import threading

import click

from bot.config import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--app", "app_spec", default="bot.app:create_app()", hidden=True, help="the WSGI app (tests)")
def serve(host, port, workers, app_spec):
    """Run the webhook with gunicorn (embedded Redis unless REDIS_URL is set)."""
    from gunicorn.app.wsgiapp import WSGIApplication

    from bot.runtime.serving import control_socket_path

    for line in startup_lines(host, port):
        click.echo(line)
    data_dir = Settings.from_env().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    sys.argv = ["gunicorn", "-c", "python:bot.runtime.gunicorn_conf", "-b", f"{host}:{port}",
                "--control-socket", control_socket_path(data_dir, f"{host}-{port}"),
                "-w", str(workers), app_spec]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()


def startup_lines(host: str, port: int) -> list[str]:
    """What `serve` says first: where it listens, how to chat with it, and what needs the scheduler."""
    s = Settings.from_env()
    return [
        f"youthbot on http://{host}:{port}/wechat"
        + (f" (demo mode: {s.demo_reason}; remove the made-up people with `youthbot demo clear`)"
           if s.demo_mode else ""),
        f"  chat with it from another terminal: youthbot chat --url http://{host}:{port}/wechat",
        "  pushes (waitlist promotions, event changes, late replies, reminders) go out only while "
        "`youthbot scheduler` runs",
    ]


@click.command()
@click.option("--url", default="http://127.0.0.1:8000/wechat", show_default=True,
              help="the webhook to talk to (serve --port N listens on http://127.0.0.1:N/wechat)")
@click.option("--openid", default="o_demo_user_0001", show_default=True, help="who you are to the bot")
@click.option("--pushes", "fake_base", default=None,
              help="fake WeChat API to show pushes from (default: WECHAT_API_BASE_URL when it is local)")
def chat(url, openid, fake_base):
    """Chat with a running webhook in the terminal, as WeChat would send your messages."""
    from bot.wechat import chat as chat_mod
    from bot.wechat.simulator import WeChatSimulator

    s = Settings.from_env()
    api = s.wechat_api_base_url
    if fake_base is None and api.startswith(("http://127.0.0.1", "http://localhost")):
        fake_base = api.split("/cgi-bin")[0]
    chat_mod.run(url, openid, WeChatSimulator(s.wechat_token, s.wechat_aes_key, s.wechat_appid),
                 fake_base=fake_base)


@click.command()
def scheduler():
    """Run the scheduler: reminders, digests, the outbox (one leader among any started)."""
    import os

    settings = Settings.from_env()
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # before prometheus_client is imported
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(settings.metrics_path / "scheduler")
    from bot.pushes import scheduler as sched
    from bot.ops import logs, metrics
    from bot.runtime.serving import resolve_redis_url

    metrics.prepare_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"], wipe=False)
    metrics.forget_dead_processes(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    logs.setup(settings, role="scheduler")
    resolve_redis_url()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sched.run(stop)
    except KeyboardInterrupt:
        stop.set()


@click.command("fake-wechat")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
def fake_wechat(host, port):
    """Serve a fake WeChat API (for demos and tests); point WECHAT_API_BASE_URL at it."""
    from bot.wechat.fake_api import serve as serve_fake

    click.echo(f"fake WeChat API on http://{host}:{port}/cgi-bin/ — "
               f"export WECHAT_API_BASE_URL=http://{host}:{port}/cgi-bin/")
    serve_fake(host, port)
