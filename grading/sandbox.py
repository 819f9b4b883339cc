"""Guards around untrusted learner code: a static policy, an audit hook, and resource limits.

Three layers, each cheap:

1. :func:`check_policy` reads a learner module (without running it) and refuses imports other than
   :data:`ALLOWED_IMPORTS` and sibling exercises, the names that only serve to escape (``open``,
   ``exec``, ``__import__``, ``sys``...), and assignments that would monkeypatch a module
   (``np.allclose = ...``).
2. :func:`install_audit_hook` (inside the child process, once the tests are loaded) refuses, for the
   rest of the process, what no exercise needs: writing, deleting or renaming files, reading the
   reference or the tests, starting processes, sockets, ``ctypes``, signals, walking the garbage
   collector. An audit hook cannot be removed from Python code.
3. :func:`limit_resources` caps memory, CPU time and file size of the child process.

The parent process computes the grade; the child only reports test outcomes.
"""

from __future__ import annotations

import ast
import os
import resource
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from course.i18n import message
from course.info import REFERENCE_PACKAGE, TARGET_PACKAGE

# What exercise code may import (besides its earlier exercises, by a relative import): numpy, the
# course's own modules, and standard modules of pure computation (no files, processes or network).
ALLOWED_IMPORTS = frozenset({
    "numpy", "math", "cmath", "numbers", "typing", "__future__", "abc", "enum", "dataclasses",
    "functools", "itertools", "collections", "operator", "heapq", "bisect", "copy", "warnings", "course",
})
FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "breakpoint",
    "input", "setattr", "delattr", "__builtins__", "__loader__", "__spec__", "sys", "os",
    "importlib", "builtins", "gc", "inspect", "ctypes", "subprocess", REFERENCE_PACKAGE, TARGET_PACKAGE,
})
FORBIDDEN_ATTRIBUTES = frozenset({
    "__globals__", "__code__", "__subclasses__", "__builtins__", "__closure__", "__dict__",
    "__class__", "__bases__", "__mro__", "f_back", "f_globals", "f_locals", "tb_frame", "gi_frame",
    "modules", "__import__", "_getframe", "__loader__",
})
DENIED_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "signal.pthread_kill", "socket.socket", "socket.connect",
    "socket.bind", "ctypes.dlopen", "ctypes.dlsym", "ctypes.addressof", "ctypes.string_at",
    "ctypes.cdata", "gc.get_objects",
    "sys._current_frames", "sys.addaudithook", "os.remove",
    "os.unlink", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
    "os.symlink", "os.link", "shutil.rmtree", "shutil.copyfile",
    "resource.setrlimit", "signal.signal", "fcntl.fcntl",
})
DENIED_IMPORT_PREFIXES = ("solutions", "catalogue", REFERENCE_PACKAGE, "ctypes", "subprocess", "socket",
                          "multiprocessing")
# What only a submission that tries to read the answers or the grader names.
GRADER_WORDS = ("solutions", "tests", REFERENCE_PACKAGE, "grading", "catalogue")
SUSPECT_STRINGS = (REFERENCE_PACKAGE, "solutions/", "__import__")


@dataclass(frozen=True)
class Violation:
    """One thing a learner module does that the sandbox policy refuses."""

    line: int
    what: str  # "imports `shutil`"
    reaches_grader: bool = field(default=False, kw_only=True)  # names the reference, the tests or the grader

    def __str__(self) -> str:
        return message("line {line}: {what}", line=self.line, what=self.what)


def _violation(node: ast.AST, what: str, named: str) -> Violation:
    return Violation(node.lineno, what, reaches_grader=any(w in named for w in GRADER_WORDS))


def allowed_imports() -> str:
    """The allow-list in words, for the learner."""
    modules = sorted(m for m in ALLOWED_IMPORTS if m != "__future__")
    return message("{modules} and your earlier exercises (`from .ex05_... import`)",
                   modules=", ".join(f"`{m}`" for m in modules))


def check_policy(path: Path, sibling_modules: Iterable[str]) -> list[Violation]:
    """What in ``path`` breaks the sandbox policy, by line (empty when it is fine)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=path.name)
    except SyntaxError:
        return []  # reported by the import itself, with the line
    module_aliases = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
                      if isinstance(node, ast.Import) for alias in node.names}
    siblings = set(sibling_modules)
    found = [v for node in ast.walk(tree) for v in _node_violations(node, siblings)]
    found += [v for node in ast.walk(tree) for v in _assignments_into(node, module_aliases)]
    return sorted(dict.fromkeys(found), key=lambda v: v.line)


def _node_violations(node: ast.AST, siblings: set[str]) -> list[Violation]:
    """An import, a name, an attribute or a string constant the policy refuses."""
    if isinstance(node, ast.Import):
        return [_violation(node, message("imports `{name}`", name=alias.name), alias.name)
                for alias in node.names
                if alias.name.split(".")[0] not in ALLOWED_IMPORTS and alias.name not in ALLOWED_IMPORTS]
    if isinstance(node, ast.ImportFrom):
        name = node.module or ""
        if node.level == 1 and name in siblings:
            return []
        if node.level or (name.split(".")[0] not in ALLOWED_IMPORTS):
            return [_violation(node, message("imports from `{name}`", name="." * node.level + name), name)]
    elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
        return [_violation(node, message("uses `{name}`", name=node.id), node.id)]
    elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
        return [_violation(node, message("uses `.{name}`", name=node.attr), "")]
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and any(
        word in node.value for word in SUSPECT_STRINGS
    ):
        return [_violation(node, message("names `{text}`", text=node.value[:40]), node.value[:40])]
    return []


def _assignments_into(node: ast.AST, module_aliases: set[str]) -> list[Violation]:
    """An assignment that would monkeypatch a module (``np.allclose = ...``)."""
    targets = node.targets if isinstance(node, ast.Assign) else (
        [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
    found = []
    for t in targets:
        base = t
        while isinstance(base, ast.Attribute | ast.Subscript):
            base = base.value
        if t is not base and isinstance(base, ast.Name) and base.id in module_aliases:
            found.append(_violation(node, message("assigns into the module `{name}`", name=base.id), base.id))
    return found


def limit_resources(memory_bytes: int, cpu_seconds: int, file_bytes: int) -> None:
    """Cap this process: address space, CPU time, size of any file it writes; no core dumps."""
    for limit, value in (
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_FSIZE, file_bytes),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing too much raises OSError instead


def install_audit_hook(protected: Iterable[Path], readable: Iterable[Path]) -> None:
    """From now on, refuse what learner code never needs (see the module docstring).

    ``protected``: directories nobody may read (the reference, the tests), except files under
    ``readable`` (the code under test).
    """
    protected_dirs = tuple(str(p.resolve()) + os.sep for p in protected)
    readable_dirs = tuple(str(p.resolve()) + os.sep for p in readable)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int):
                return
            write = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND)
            )
            full = os.path.realpath(os.fsdecode(path))
            if write and full != os.devnull:
                raise PermissionError(message("the grader does not let exercise code write files ({path})",
                                              path=full))
            if full.startswith(protected_dirs) and not full.startswith(readable_dirs):
                raise PermissionError(message("the grader does not let exercise code read {path}", path=full))
        elif event == "import":
            name = args[0] or ""
            if name.startswith(DENIED_IMPORT_PREFIXES):
                raise ImportError(message("the grader does not let exercise code import {name}", name=name))
        elif event in DENIED_EVENTS or event.startswith(("os.exec", "os.spawn", "ctypes.")):
            raise PermissionError(message("the grader does not let exercise code use {event}", event=event))

    sys.addaudithook(hook)
