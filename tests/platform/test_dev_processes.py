"""How the dev runner and the test platform stop the processes they start (crm_dev.infra): every
process is told at once, and none outlives a runner that was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg

from crm_dev.infra import EmbeddedPostgres, free_port, terminate_all

# Notes when SIGTERM arrives, takes a moment to shut down (as a service drains), notes its exit.
SLOW_TO_STOP = textwrap.dedent("""
    import os, signal, sys, time
    log = sys.argv[1]
    def stop(*_):
        with open(log, "a") as f: f.write(f"term {os.getpid()}\\n")
        time.sleep(0.5)
        with open(log, "a") as f: f.write(f"exit {os.getpid()}\\n")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    with open(log, "a") as f: f.write(f"ready {os.getpid()}\\n")
    while True: time.sleep(1)
""")

# A runner in miniature: starts one child the way the platform does, prints its pid, waits.
RUNNER = textwrap.dedent("""
    import subprocess, sys, time
    from crm_dev.infra import die_with_parent
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                             start_new_session=True, preexec_fn=die_with_parent)
    print(child.pid, flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state  # a zombie has finished; only its parent's reaping is left


def test_every_process_is_told_to_stop_before_any_is_waited_for(tmp_path: Path) -> None:
    log = tmp_path / "log"
    processes = [subprocess.Popen([sys.executable, "-c", SLOW_TO_STOP, str(log)]) for _ in range(3)]
    deadline = time.monotonic() + 30
    while (log.read_text().count("ready") if log.exists() else 0) < 3:
        assert time.monotonic() < deadline, "children did not start"
        time.sleep(0.05)
    terminate_all(processes, timeout=20)
    events = [line.split()[0] for line in log.read_text().splitlines() if not line.startswith("ready")]
    # One at a time would read term, exit, term, exit, ...: stopping would cost the sum of them.
    assert events == ["term"] * 3 + ["exit"] * 3
    assert all(process.returncode == 0 for process in processes)


def test_a_process_that_ignores_sigterm_is_killed_at_the_deadline() -> None:
    stubborn = subprocess.Popen([sys.executable, "-c",
                                 "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                 "print('ready', flush=True); time.sleep(120)"], stdout=subprocess.PIPE)
    assert stubborn.stdout is not None and stubborn.stdout.readline().strip() == b"ready"
    terminate_all([stubborn], timeout=0.5)
    assert stubborn.returncode == -signal.SIGKILL


def test_children_do_not_outlive_a_killed_runner() -> None:
    runner = subprocess.Popen([sys.executable, "-c", RUNNER], stdout=subprocess.PIPE)
    assert runner.stdout is not None
    child = int(runner.stdout.readline())
    assert _alive(child)
    os.kill(runner.pid, signal.SIGKILL)  # no finally, no signal handler runs
    runner.wait(10)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the child outlived its killed parent"


def test_postgres_stops_at_once_with_a_client_still_connected(tmp_path: Path) -> None:
    """A fast shutdown: a connection left open (a test's forgotten engine) is ended and PostgreSQL
    stops cleanly, instead of waiting for the client until the stop's timeout and being killed."""
    postgres = EmbeddedPostgres(tmp_path / "pg", free_port(), tmp_path / "postgres.log")
    postgres.start()
    left_open = psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres dbname=postgres")
    try:
        process = postgres.process
        assert process is not None
        postgres.stop()
        log = (tmp_path / "postgres.log").read_text()
        assert "received fast shutdown request" in log and "database system is shut down" in log
        assert process.returncode == 0  # exited by itself, not killed
        assert left_open.closed or left_open.broken or _server_gone(left_open)
    finally:
        left_open.close()


def _server_gone(connection: psycopg.Connection[tuple[object, ...]]) -> bool:
    try:
        connection.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False
