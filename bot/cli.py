"""The `youthbot` command: serve, chat, content, and the staff's tools."""
from __future__ import annotations

import os
import sys

import click

from bot.config import Settings


@click.group()
def main():
    """youthbot: the Youth League committee's WeChat official account."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host, port, workers):
    """Run the webhook with gunicorn (embedded Redis unless REDIS_URL is set)."""
    from gunicorn.app.wsgiapp import WSGIApplication

    click.echo(f"youthbot on http://{host}:{port}/wechat — in another terminal: youthbot chat --url http://{host}:{port}/wechat")
    sys.argv = ["gunicorn", "-c", "python:bot.gunicorn_conf", "-b", f"{host}:{port}",
                "-w", str(workers), "bot.app:create_app()"]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()


@main.command()
@click.option("--url", default="http://127.0.0.1:8000/wechat", show_default=True)
@click.option("--openid", default="o_demo_user_0001", show_default=True, help="who you are to the bot")
def chat(url, openid):
    """Chat with a running webhook in the terminal, as WeChat would send your messages."""
    from bot import chat as chat_mod
    from bot.simulator import WeChatSimulator

    s = Settings.from_env()
    chat_mod.run(url, openid, WeChatSimulator(s.wechat_token, s.wechat_aes_key, s.wechat_appid))


@main.group()
def content():
    """Import content files (quizzes, events, job postings)."""


@content.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def content_load(directory):
    """Load every content file under DIRECTORY (idempotent)."""
    from bot import content as content_mod

    bot = _bot()
    try:
        report = content_mod.load_dir(bot, directory)
    except content_mod.ContentError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"loaded: {report}")


def _bot():
    """Services for a CLI command, connected to the same store as the web process."""
    from bot.app import build_bot

    return build_bot(Settings.from_env())


if __name__ == "__main__":
    main()
