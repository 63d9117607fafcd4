"""Running youthbot for real: health, metrics, logs, doctor, backups."""
from domain.keys import key

SCHEDULER_SEEN = key("scheduler", "seen")  # the scheduler leader's heartbeat {"who", "at"}, for /readyz
