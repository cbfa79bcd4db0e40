"""`crm dev`'s progress: a bar redrawn in place only on a terminal; a log gets a few plain lines."""

from __future__ import annotations

import io

from crm_dev.progress import ProgressPrinter


def run(printer: ProgressPrinter, total: int = 1000) -> None:
    for done in range(1, total + 1):
        printer(done, total, "customers")


def test_a_log_gets_plain_lines_not_a_thousand_redraws() -> None:
    out = io.StringIO()
    run(ProgressPrinter(out))  # StringIO is not a terminal
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0] == "  customers: 1/1000" and lines[-1] == "  customers: 1000/1000"
    assert len(lines) == 11, lines


def test_a_terminal_gets_one_bar_redrawn_in_place() -> None:
    out = io.StringIO()
    run(ProgressPrinter(out, terminal=True), total=50)
    text = out.getvalue()
    assert text.count("\r") == 50 and text.count("\n") == 1
    assert text.rstrip("\n").rsplit("\r", 1)[-1] == "  customers [" + "#" * 30 + "] 50/50"


def test_an_empty_job_says_so_once() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out)
    printer(0, 0, "export")
    printer(0, 0, "export")
    assert out.getvalue() == "  export: 0/0\n"
