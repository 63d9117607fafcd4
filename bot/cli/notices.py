"""What the CLI says after queuing notices: they go out only while a scheduler runs."""
from __future__ import annotations

from bot.pushes import scheduler


def scheduler_note(bot) -> str:
    if scheduler.alive(bot.redis):
        return "(the scheduler is running: the notices go out within seconds)"
    return ("(no scheduler is running: the notices wait in the outbox until `youthbot scheduler` runs, "
            "or send them now with `youthbot pushes run drain_outbox`)")
