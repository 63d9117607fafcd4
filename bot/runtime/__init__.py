"""How the service runs: the store and its embedded server, serving, writes that must land whole."""
