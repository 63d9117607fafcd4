"""Running youthbot for real: health, metrics, logs, doctor, backups."""
