"""What the service runs on: the store and its topology, serving, the gunicorn settings, write tracking."""
