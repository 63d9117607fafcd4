"""The real app with one extra, slow command, for the graceful-stop tests (gunicorn loads it by name)."""
import os
import time


def create_app():
    from bot.app import create_app as real_create_app

    app = real_create_app()

    @app.extensions["youthbot"].router.keyword("慢")
    def slow(ctx):
        time.sleep(float(os.environ.get("SLOW_SECONDS", "2")))
        return "慢慢来，想好了"

    return app
