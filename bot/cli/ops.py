"""The operators' commands: `youthbot backup`, `restore`, `doctor`."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the archive to write (.tar.gz; mode 0600: it holds personal data)")
@click.option("--scan", is_flag=True,
              help="read the keys one batch at a time instead of a snapshot (for a Redis that forbids SYNC; "
                   "not a point-in-time copy)")
@click.option("--no-content", is_flag=True, help="leave the content folder out")
def backup(out, scan, no_content):
    """Write a consistent snapshot of the store and the content folder to OUT."""
    from bot.ops.backup import BackupError, backup as run_backup
    from bot.runtime.serving import resolve_redis_url

    settings = resolve_redis_url()
    try:
        result = run_backup(settings.redis_url, out, None if no_content else settings.content_dir, scan=scan)
    except BackupError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{result.path}: {result.keys} keys ({result.method}), {result.content_files} content files, "
               f"{result.seconds:.1f} s — it holds names and phone numbers: keep it safe")


@click.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="empty a store that holds keys before restoring")
@click.option("--content-to", type=click.Path(file_okay=False, path_type=Path),
              help="also unpack the backed-up content folder here")
def restore(archive, force, content_to):
    """Restore ARCHIVE into an empty store (stop the web and scheduler services first)."""
    from bot.ops.backup import BackupError, restore as run_restore
    from bot.runtime.serving import resolve_redis_url

    settings = resolve_redis_url()
    try:
        done = run_restore(settings.redis_url, archive, force=force, content_to=content_to)
    except BackupError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"restored {done['keys']} keys from the backup of {done['created']}"
               + (f", {done['content_files']} content files to {content_to}" if content_to else ""))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="one JSON object per finding")
def doctor(as_json):
    """Check settings, Redis, disk, clock, WeChat credentials, menu and content; exit 1 on a problem."""
    import json

    from bot.runtime.services import build_bot
    from bot.config import Settings
    from bot.ops.doctor import FAIL, run_all

    findings = run_all(Settings.from_env(), build_bot)
    for f in findings:
        click.echo(json.dumps(f.__dict__, ensure_ascii=False) if as_json else f.line())
    failed = [f for f in findings if f.status == FAIL]
    if not as_json:
        click.echo(f"\n{len(failed)} problem(s) to fix" if failed else "\nnothing to fix")
    raise SystemExit(1 if failed else 0)
