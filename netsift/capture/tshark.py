"""Running tshark on a hostile capture: argument lists, a deadline, bounded output.

tshark is Wireshark's engine and its dissectors are large C code fed by
attackers, so it runs as a subprocess that can crash or hang without taking
netsift down: never through a shell, with name resolution off (`-n`, no DNS
lookups of attacker addresses), killed at a deadline, its lines read with a
length limit and its stderr kept to a bounded tail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

_NOISE = ("Running as user", "This could be dangerous")
_TRUNCATED = ("cut short in the middle of a packet", "appears to be damaged or corrupt")


class CaptureError(ValueError):
    """This capture cannot be dissected: not a capture, or tshark crashed or hung."""


@dataclass
class TsharkRun:
    """What one tshark pass said besides its rows."""

    partial: str | None = None  # tshark's own words when the capture is cut short
    stderr_tail: list[str] = field(default_factory=list)


def tshark_binary() -> str:
    found = shutil.which("tshark")
    if not found:
        raise CaptureError("tshark is not installed (Debian package tshark; `make setup`)")
    return found


def field_args(fields: Sequence[str]) -> list[str]:
    """`-T fields` with tab-separated fields and every occurrence, joined by
    the unit separator: a character no field text carries unescaped."""
    args = ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
            "-E", "aggregator=\x1f", "-E", "quote=n"]  # fmt: skip
    for name in fields:
        args += ["-e", name]
    return args


def tshark_lines(
    capture: Path,
    args: Sequence[str],
    run: TsharkRun,
    *,
    timeout: float,
    max_line_bytes: int,
) -> Iterator[bytes]:
    """tshark's stdout lines for `-r capture ARGS`, newline stripped.

    A line over `max_line_bytes` is skipped whole (never held in memory).
    Raises CaptureError when tshark fails; a truncated capture is not an
    error: its rows come out and `run.partial` says why it stopped.
    """
    command = [tshark_binary(), "-r", str(capture), "-n", *args]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    timed_out = threading.Event()

    def kill_at_deadline() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(timeout, kill_at_deadline)
    stderr_lines: list[str] = []
    reader = threading.Thread(target=_tail_of, args=(process.stderr, stderr_lines), daemon=True)
    timer.start()
    reader.start()
    try:
        stdout = process.stdout
        while True:
            line = stdout.readline(max_line_bytes + 1)
            if not line:
                break
            if len(line) > max_line_bytes and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of it
                    line = stdout.readline(max_line_bytes + 1)
                continue
            yield line.rstrip(b"\n")
        process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)
    run.stderr_tail = stderr_lines
    message = " ".join(line for line in stderr_lines if not line.startswith(_NOISE)).strip()
    if timed_out.is_set():
        raise CaptureError(f"tshark did not finish within {timeout:.0f} s; stopped")
    if any(marker in message for marker in _TRUNCATED):
        run.partial = message.removeprefix("tshark: ")
        return
    if process.returncode != 0:
        reason = message.removeprefix("tshark: ") or f"exit status {process.returncode}"
        raise CaptureError(f"tshark failed: {reason}")


def _tail_of(stream, lines: list[str], keep: int = 50, max_chars: int = 2000) -> None:
    for raw in iter(stream.readline, b""):
        lines.append(raw[:max_chars].decode("utf-8", "replace").rstrip())
        del lines[:-keep]
