"""The process: the store connection (embedded server or REDIS_URL) and its topology (every primary,
checked), serving, gunicorn's settings, work that must land whole (staged), private working folders."""
