"""The operators' commands: `youthbot backup`, `restore`, `doctor`."""
from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import pass_bot


@click.command()
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the archive to write (.tar.gz; mode 0600: it holds personal data)")
@click.option("--scan", is_flag=True,
              help="read the keys one batch at a time instead of a snapshot (for a Redis that forbids SYNC; "
                   "not a point-in-time copy)")
@click.option("--no-content", is_flag=True, help="leave the content folder out")
def backup(out, scan, no_content):
    """Write a consistent snapshot of the store and the content folder to OUT."""
    from bot.ops.backup import WORK, BackupError, backup as run_backup
    from bot.runtime.serving import resolve_redis_url

    settings = resolve_redis_url()
    try:
        result = run_backup(settings.redis_url, out, None if no_content else settings.content_dir, scan=scan,
                            work_root=Path(settings.data_dir) / WORK)
    except BackupError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{result.path}: {result.keys} keys ({result.method}), {result.content_files} content files, "
               f"{result.seconds:.1f} s — it holds names and phone numbers: keep it safe")


@click.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="empty a store that holds keys before restoring")
@click.option("--content-to", type=click.Path(file_okay=False, path_type=Path),
              help="also unpack the backed-up content folder here")
@click.option("--staging-db", type=int, default=None,
              help="the Redis database the keys are staged in before the switch (default: the server's last)")
def restore(archive, force, content_to, staging_db):
    """Restore ARCHIVE into an empty store (stop the web and scheduler services first).

    The whole archive is checked before anything changes; the keys are then staged and
    switched in at once: an interrupted restore leaves the old store or the new one."""
    from bot.ops.backup import BackupError, restore as run_restore
    from bot.runtime.serving import resolve_redis_url

    settings = resolve_redis_url()
    try:
        done = run_restore(settings.redis_url, archive, force=force, content_to=content_to,
                           staging_db=staging_db)
    except BackupError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"restored {done['keys']} keys from the backup of {done['created']}"
               + (f", {done['content_files']} content files to {content_to}" if content_to else ""))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="one JSON object per finding")
@click.option("--unit", "unit_file", type=click.Path(dir_okay=False, path_type=Path),
              help="take the settings a systemd unit gives its process (Environment=, EnvironmentFile=) and, "
                   "run as root, check as its User=: sudo youthbot doctor --unit /etc/systemd/system/youthbot-web.service")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="read settings from this file, parsed as systemd's EnvironmentFile= (may be repeated)")
def doctor(as_json, unit_file, env_files):
    """Check settings, Redis, disk, clock, WeChat credentials, menu and content; exit 1 on a problem."""
    import json
    import os

    from bot.ops.envfile import EnvFileError, read_environment_file, read_unit

    try:
        user, given = "", {}
        if unit_file:
            unit = read_unit(unit_file)
            given.update(unit.environment)
            user = unit.user
        for path in env_files:
            given.update(read_environment_file(path))
    except (EnvFileError, OSError) as exc:
        raise click.ClickException(str(exc))
    from bot.config import Settings  # loaded before switching user: the code's files need not be the user's
    from bot.ops.doctor import FAIL, run_all
    from bot.runtime.services import build_bot

    if user and os.geteuid() == 0:
        _become(user)

    saved = dict(os.environ)
    os.environ.update(given)  # what the unit's process would have, for this command only
    try:
        findings = run_all(Settings.from_env(), build_bot)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    for f in findings:
        click.echo(json.dumps(f.__dict__, ensure_ascii=False) if as_json else f.line())
    failed = [f for f in findings if f.status == FAIL]
    if not as_json:
        click.echo(f"\n{len(failed)} problem(s) to fix" if failed else "\nnothing to fix")
    raise SystemExit(1 if failed else 0)


def _become(user: str) -> None:
    """Root has read the settings file; the checks (DATA_DIR writable, the embedded store) run as the unit's user."""
    import os
    import pwd

    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise click.ClickException(f"the unit runs as {user}, which does not exist: useradd --system {user}")
    os.setgroups([])
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
    os.environ["HOME"] = account.pw_dir



@click.command()
@pass_bot
def indexes(bot):
    """Build the indexes a store from an earlier version lacks (people by name and phone digits, retention dates,
    pushes by person, open quiz sessions, live postings). Starting the service does it too; safe to run again,
    and a run stopped half-way carries on where it stopped."""
    from domain import indexes as store_indexes

    built = store_indexes.ensure(bot.redis, say=click.echo)
    click.echo(f"built: {', '.join(built)}" if built else "every index is there; nothing to build")
