"""The process: the store connection (embedded server or REDIS_URL), serving, gunicorn's settings."""
