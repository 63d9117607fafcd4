"""The `youthbot` command. One module per command group; this lists them."""
from __future__ import annotations

import click

from bot.cli import content, events, hours, jobs, ops, pushes, quiz, report, service, staff


@click.group()
@click.version_option(package_name="youthbot")
def main():
    """youthbot: the Youth League committee's WeChat official account."""


for command in (service.serve, service.chat, service.scheduler, service.fake_wechat,
                content.content, content.demo, quiz.quiz, events.events, jobs.jobs, pushes.pushes, pushes.menu,
                report.report, hours.hours, staff.staff, ops.backup, ops.restore, ops.doctor, ops.indexes):
    main.add_command(command)
