"""A throwaway PostgreSQL server for a benchmark: its own cluster in a temporary folder, on a
free port of 127.0.0.1, with the settings a production server for bulk loads would have
(:data:`SETTINGS`), stopped and removed afterwards.

The shared server this machine runs for the tests keeps its defaults (``shared_buffers``
128 MB, ``max_wal_size`` 1 GB, autovacuum off) and every earlier benchmark's dead rows: there
a bulk load's backends write out dirty pages themselves and checkpoint about every half
gigabyte of WAL, and the same load measured 112-155 s from run to run (docs/ingestion.md,
session 12). A fresh cluster per run measures the code, not the state the server was left in.

    with private_server() as url:   # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        ...

Needs the server's binaries (``pg_config --bindir``, or /usr/lib/postgresql/*/bin); run as
root, the server runs as the ``postgres`` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

# What a server sized for this 2-core, 24 GB machine and for bulk loads sets (the reasons:
# docs/ingestion.md, "PostgreSQL server settings").
SETTINGS = {
    "shared_buffers": "2GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "autovacuum": "on",
}


def _bindir() -> str:
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                               check=True).stdout.strip()
        if os.path.exists(os.path.join(found, "initdb")):
            return found
    except (OSError, subprocess.CalledProcessError):
        pass
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise SystemExit("no PostgreSQL server binaries (initdb) found: install the server "
                         "package, or benchmark against a server with --url")
    return os.path.dirname(candidates[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def private_server(settings: dict[str, str] | None = None) -> Iterator[str]:
    """Start a fresh cluster with ``settings`` (default :data:`SETTINGS`); yields its URL."""
    bindir = _bindir()
    root = tempfile.mkdtemp(prefix="tablero-bench-pg-")
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(root, "data"), _free_port()
    options = " ".join(f"-c {k}={v}" for k, v in {
        "listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": root,
        **(SETTINGS if settings is None else settings),
    }.items())
    log = os.path.join(root, "server.log")

    def run(what: str, *args: str) -> None:
        done = subprocess.run([*run_as, os.path.join(bindir, args[0]), *args[1:]],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:  # say why, with the server's own log when it has one
            server_log = open(log).read()[-2000:] if os.path.exists(log) else ""
            raise SystemExit(f"the private PostgreSQL server could not {what} "
                             f"({args[0]} exited with {done.returncode}):\n"
                             f"{done.stderr.strip()}\n{server_log}".rstrip())

    try:
        run("be created", "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
        run("start", "pg_ctl", "-D", data, "-w", "-l", log, "-o", options, "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*run_as, os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "fast",
                            "stop"], check=False, capture_output=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
