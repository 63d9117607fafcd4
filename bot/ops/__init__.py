"""Running youthbot for real: health, metrics, logs, doctor, backups."""
from domain.keys import key

SCHEDULER_SEEN = key("scheduler", "seen")  # the scheduler leader's heartbeat {"who", "at"}, for /readyz


def pushes_configured(s) -> bool:
    """Real credentials are set: pushes go out, so the shared token must be kept fresh."""
    from bot.config import Settings

    d = Settings()
    return s.wechat_appid != d.wechat_appid and s.wechat_secret != d.wechat_secret
