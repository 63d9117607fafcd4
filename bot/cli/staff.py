"""`youthbot staff`: accounts for the staff console (/admin)."""
from __future__ import annotations

import click

from bot.cli.common import pass_bot
from domain.staff import ROLES, Staff, StaffError


@click.group()
def staff():
    """Accounts for the staff console (/admin)."""


@staff.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="admin: everything; organiser: their events; jobs: postings and interest lists")
@pass_bot
def add(bot, name, role):
    """Create a console account and print its one-time password (changed at the first login)."""
    try:
        password = Staff(bot.redis).create(name, role)
    except StaffError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{name} ({role}) created. One-time password: {password}\n"
               f"Log in at /admin/login; the first login asks for a new password.")


@staff.command("reset")
@click.argument("name")
@pass_bot
def reset(bot, name):
    """Give NAME a new one-time password (their open sessions end)."""
    try:
        password = Staff(bot.redis).reset_password(name)
    except StaffError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{name}: new one-time password: {password}")


@staff.command("list")
@pass_bot
def list_accounts(bot):
    """Console accounts and their roles."""
    from bot.cli.export import text_table

    click.echo(text_table(["name", "role", "must change password"],
                          [[a.name, a.role, "yes" if a.must_change else ""] for a in Staff(bot.redis).all()]))
