"""Progress of the CLI's long steps (seeding the demo, offboarding a tenant): a bar redrawn in
place on a terminal; plain lines, at most one per tenth of the work, when stdout is a file or a
pipe (a log must not get a thousand carriage-return redraws). No library: the two cases are all
the CLI needs."""

from __future__ import annotations

import sys
from typing import Final, TextIO

BAR_WIDTH: Final = 30
# Without a terminal: one line per this share of the work (and the last one).
LINE_EVERY: Final = 0.1


class ProgressPrinter:
    """Call with (done, total, label) as work finishes; thread-safe use is the caller's (the seeder
    calls it under its lock)."""

    def __init__(self, stream: TextIO | None = None, *, terminal: bool | None = None) -> None:
        self._stream = stream
        self._terminal = terminal
        self._printed: dict[str, int] = {}

    @property
    def stream(self) -> TextIO:
        """The given stream, else stdout as it is when called (not when this was made)."""
        return self._stream or sys.stdout

    @property
    def terminal(self) -> bool:
        return self.stream.isatty() if self._terminal is None else self._terminal

    def __call__(self, done: int, total: int, label: str) -> None:
        if self.terminal:
            self._draw(done, total, label)
        else:
            self._line(done, total, label)

    def _draw(self, done: int, total: int, label: str) -> None:
        filled = int(BAR_WIDTH * done / total) if total else BAR_WIDTH
        self.stream.write(f"\r  {label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()

    def _line(self, done: int, total: int, label: str) -> None:
        step = max(1, int(total * LINE_EVERY)) if total else 1
        last = self._printed.get(label)
        if last is not None and done < total and done - last < step:
            return
        if last == done:
            return
        self._printed[label] = done
        self.stream.write(f"  {label}: {done}/{total}\n")
        self.stream.flush()
