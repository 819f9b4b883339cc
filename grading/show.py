"""``grader.py show``: the learner's function drawn on a fixed example, beside the reference's.

The learner's code runs as the grader runs it: in a forked child with the sandbox and the resource
limits (:mod:`grading.sandbox`), every call through the tests' seam (:mod:`tests.support.target`,
which stops a call past its CPU budget), the child saying what it drew on a pipe
(:mod:`grading.protocol`). The parent kills a child that runs past the time limit, so an endless
loop, a crash or a stub each give one sentence and never a hang.
"""

from __future__ import annotations

import dataclasses
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course.i18n import localize, message
from course.info import ROOT, Exercise
from course.params import init_multi_head
from grading import protocol, sandbox
from grading.model import Picture
from grading.pictures import heatmap, picture
from grading.runner import WALL_FACTOR, Limits, signal_name

# CPU seconds the child may spend (then the kernel stops it); it is killed past WALL_FACTOR times that
# in wall-clock time (a child that waits, or a machine busy with other work).
LIMITS = Limits(test_seconds=6.0)


@dataclass(frozen=True)
class Example:
    """A fixed call of a learner's function, and the part of its result that is drawn."""

    function: str
    name: str  # the call, as code, shown as the picture's title
    args: Callable[[], tuple]
    part: Callable[[Any], Any] = lambda result: result
    rows: str = "queries"
    columns: str = "keys"


def _qkv(seed: int, T: int, d_k: int, d_v: int) -> tuple[np.ndarray, ...]:
    g = np.random.default_rng(seed)
    return g.normal(size=(T, d_k)), g.normal(size=(T, d_k)), g.normal(size=(T, d_v))


def _scores_and_values() -> tuple[np.ndarray, np.ndarray]:
    """6 decoder steps attending over 7 encoder states: the dot-product scores, and the values."""
    g = np.random.default_rng(3)
    query, keys, values = g.normal(size=(6, 4)), g.normal(size=(7, 4)), g.normal(size=(6, 7, 3))
    return query @ keys.T, values


TOKENS = np.array([[5, 3, 4, 2, 6, 1, 0, 0]])  # one sentence of 6 tokens, padded with 0 to 8
CAUSAL_6 = np.tril(np.ones((6, 6), dtype=bool))
PADDED_6 = CAUSAL_6 & np.array([True] * 5 + [False])  # the last key is padding


def _heads(h: int) -> Example:
    return Example("multi_head_attention", f"multi_head_attention(x, x, p, causal mask)[1][0, {h}]",
                   lambda: (np.random.default_rng(7).normal(size=(1, 6, 4)),) * 2
                   + (init_multi_head(np.random.default_rng(8), 4, 2), CAUSAL_6),
                   lambda result: result[1][0, h])


EXAMPLES: dict[str, list[Example]] = {
    "ex03": [Example("attend", "attend(scores [6, 7], values)[1]", _scores_and_values,
                     lambda result: result[1])],
    "ex04": [Example("self_attention", "self_attention(X [6, 4])[1]",
                     lambda: (np.random.default_rng(4).normal(size=(6, 4)),), lambda result: result[1])],
    "ex05": [Example("scaled_dot_product_attention", "scaled_dot_product_attention(Q, K, V, mask)[1]",
                     lambda: (*_qkv(5, 6, 4, 3), PADDED_6), lambda result: result[1])],
    "ex06": [Example("causal_mask", "causal_mask(8)", lambda: (8,)),
             Example("decoder_self_mask", "decoder_self_mask([[5 3 4 2 6 1 0 0]], 0)[0]",
                     lambda: (TOKENS, 0), lambda result: result[0])],
    "ex07": [_heads(0), _heads(1)],
    "ex08": [Example("sinusoidal_encoding", "sinusoidal_encoding(12, 16)", lambda: (12, 16),
                     rows="positions", columns="dimensions")],
}


@dataclass
class Shown:
    """What ``show`` drew, and what kept it from drawing the rest."""

    pictures: list[Picture] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    done: bool = False  # the child finished


def _draw(module: str, example: Example) -> Picture | str:
    """The picture of ``example`` run by the learner's code (inside the child), or why there is none."""
    from tests.support import target
    from tests.support.pictures import Drawing

    said = {"function": example.function, "module": module}
    try:
        got = example.part(getattr(target.module(module), example.function)(*example.args()))
    except target.NotStarted:
        return message("{function} is not implemented yet: replace its `raise NotImplementedError` in "
                       "{module}.py, then run this again", **said)
    except target.DoesNotReturn:
        return message("{function} did not return within {seconds} s of CPU time (an endless loop?)",
                       seconds=f"{target.CALL_SECONDS:g}", **said)
    except Exception as e:
        return message("your {function} raised {error}: {detail}", error=type(e).__name__,
                       detail=str(e)[:200], **said)
    try:
        expected = example.part(getattr(target.reference(module), example.function)(*example.args()))
    except Exception:  # a student release has no reference code: the learner's matrix alone
        expected = None
    try:
        drawn = picture(Drawing(example.name, got, got if expected is None else expected, example.rows,
                                example.columns))
    except Exception:
        drawn = None
    if drawn is None:
        return message("your {function} returned {what}, which cannot be drawn: the example expects "
                       "a small matrix", what=f"{type(got).__name__} {np.shape(got)}", **said)
    return drawn if expected is not None else dataclasses.replace(drawn, expected=[], differing=[])


def _child(e: Exercise, directory: Path, limits: Limits, fd: int) -> None:
    """Body of the forked child: load the learner's module in the sandbox, draw, report; never returns."""
    code = 70
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for out in (0, 1, 2):
            os.dup2(devnull, out)
        sys.stdout, sys.stderr = open(1, "w", closefd=False), open(2, "w", closefd=False)  # noqa: SIM115
        from tests.support import target

        def send(event: protocol.Event) -> None:
            os.write(fd, protocol.encode(event))

        sandbox.limit_resources(limits.memory_bytes, int(limits.test_seconds), limits.file_bytes)
        target.set_target(directory)
        target.load_reference()
        sandbox.install_audit_hook([ROOT / "solutions", ROOT / "catalogue"], readable=[directory])
        try:
            target.load(e.module)
        except BaseException as error:
            send(protocol.Note(message("{module}.py could not be imported: {error}: {detail}",
                                       module=e.module, error=type(error).__name__, detail=str(error)[:200])))
        else:
            drawn = [_draw(e.module, example) for example in EXAMPLES[e.id]]
            for note in (d for d in drawn if isinstance(d, str)):
                send(protocol.Note(note))
            send(protocol.Drawn([d for d in drawn if isinstance(d, Picture)]))
        send(protocol.Done())
        code = 0
    finally:
        os._exit(code)


def _listen(fd: int, shown: Shown, deadline: float) -> bool:
    """Read the child's events into ``shown`` until it closes the pipe; False if the deadline came first."""
    selector, buffer = selectors.DefaultSelector(), b""
    selector.register(fd, selectors.EVENT_READ)
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=min(0.1, max(0.0, deadline - time.monotonic()))):
                continue
            data = os.read(fd, 65536)
            if not data:
                return True
            *lines, buffer = (buffer + data).split(b"\n")
            for event in filter(None, map(protocol.decode, lines)):
                if isinstance(event, protocol.Note):
                    shown.notes.append(event.text)
                elif isinstance(event, protocol.Drawn):
                    shown.pictures.extend(event.pictures)
                shown.done = shown.done or isinstance(event, protocol.Done)
        return False
    finally:
        selector.close()


def show(e: Exercise, directory: Path, limits: Limits | None = None) -> Shown:
    """Run ``e``'s examples (:data:`EXAMPLES`) with the learner's modules in ``directory`` and return
    what was drawn; a child that overruns ``limits.test_seconds`` is stopped."""
    limits = limits or LIMITS
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(rfd)
        _child(e, directory, limits, wfd)
    os.close(wfd)
    shown = Shown()
    try:
        finished = _listen(rfd, shown, time.monotonic() + WALL_FACTOR * limits.test_seconds)
    finally:
        os.close(rfd)
    if not finished:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if not finished or (os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGKILL, signal.SIGXCPU)):
        shown.notes.append(message("your code ran past its time limit of {seconds} s (an endless loop?) and "
                                   "was stopped: nothing more was drawn", seconds=f"{limits.test_seconds:g}"))
    elif not shown.done:
        shown.notes.append(message("the process that ran your code {how}", how=signal_name(status)))
    return shown


def shown_for(e: Exercise, directory: Path, course: list[Exercise], limits: Limits | None = None) -> Shown:
    """:func:`show`, unless the learner's file is missing or the sandbox refuses it (then why)."""
    path = directory / e.file_name
    if not path.is_file():
        return Shown(notes=[message("{file} is missing from the target: copy it from exercises/",
                                    file=e.file_name)])
    violations = sandbox.check_policy(path, [m.module for m in course])
    if violations:
        return Shown(notes=[message("{file} was not run: it uses what no exercise needs ({reasons}). "
                                    "Exercises may import {allowed} only.", file=e.file_name,
                                    reasons="; ".join(str(v) for v in violations[:3]),
                                    allowed=sandbox.allowed_imports())])
    return show(e, directory, limits)


def render(shown: Shown, lang: str) -> str:
    """What was drawn, as text in ``lang``: each picture, then what kept the rest from being drawn."""
    parts = [heatmap(p, lang) for p in shown.pictures]
    parts += ["! " + localize(note, lang) for note in shown.notes]
    return "\n\n".join(parts)
