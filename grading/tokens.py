"""The tests of one run as numbered tokens in a pipe, which the run's children claim in turn.

The parent fills the pipe with the indices 0, 1, 2, ... (in the order pytest collects the tests)
and closes its writing end before any child starts. Each child reads one token before each test it
may run: a read of a few bytes from a pipe is atomic, so every index goes to exactly one child, in
increasing order, and a child that finds the pipe empty has nothing left to run. Several children
then share one exercise's tests, each taking the next test as soon as it is free, and a child that
replaces one that died takes up where the tests stopped.
"""

from __future__ import annotations

import array
import fcntl
import os
import struct
import termios

TOKEN = struct.Struct("<I")
HANDED_OUT = 4096  # tests of one run the parent hands out at most


def hand_out(count: int = HANDED_OUT) -> tuple[int, int]:
    """A pipe that holds the indices ``0 .. count - 1``, its writing end closed: its reading end,
    and how many indices it holds (fewer than ``count`` where the system's pipes are smaller)."""
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    try:
        written = os.write(wfd, b"".join(TOKEN.pack(i) for i in range(count)))
    except BlockingIOError:
        written = 0
    finally:
        os.close(wfd)
    return rfd, written // TOKEN.size


def claim(fd: int) -> int | None:
    """The next index in the pipe ``fd``, or None when none is left."""
    data = os.read(fd, TOKEN.size)
    return TOKEN.unpack(data)[0] if len(data) == TOKEN.size else None


def unclaimed(fd: int) -> int | None:
    """How many indices are left in the pipe ``fd``, or None where the system cannot say."""
    count = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, count)  # fills `count` in place
    except OSError:
        return None
    return count[0] // TOKEN.size


def withdraw(fd: int) -> None:
    """Empty the pipe ``fd``: its children run no further test once theirs ends."""
    while os.read(fd, 1 << 16):
        pass
