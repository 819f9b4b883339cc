"""Guards around untrusted learner code: a static policy, an audit hook, and resource limits.

Three layers, each cheap:

1. :func:`check_policy` reads a learner module (without running it) and refuses imports other than
   :data:`ALLOWED_IMPORTS` and sibling exercises, the names that only serve to escape (``open``,
   ``exec``, ``__import__``, ``sys``...), and what would monkeypatch a module (``np.allclose = ...``,
   ``setattr(np, ...)``, ``np.__dict__``). On the learner's own objects ``setattr``, ``vars`` and
   ``__dict__`` are fine, and a function's own variable named like a module (``copy = h.copy()``)
   is not the module.
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
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "breakpoint",
    "input", "__builtins__", "__loader__", "__spec__", "sys", "os",
    "importlib", "builtins", "gc", "inspect", "ctypes", "subprocess", REFERENCE_PACKAGE, TARGET_PACKAGE,
})
# Builtins that change or expose any object's attributes: refused on a module (and where the object
# cannot be told, as in ``vars()`` or ``f = setattr``), fine on the learner's own objects.
ATTRIBUTE_BUILTINS = frozenset({"setattr", "delattr", "vars"})
FORBIDDEN_ATTRIBUTES = frozenset({
    "__globals__", "__code__", "__subclasses__", "__builtins__", "__closure__",
    "__bases__", "__mro__", "f_back", "f_globals", "f_locals", "tb_frame", "gi_frame",
    "modules", "__import__", "_getframe", "__loader__",
})
MODULE_NAMESPACE = "__dict__"  # a module's namespace: refused on a module, fine on other objects
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
    patches = _Patches(module_aliases)
    patches.visit(tree)
    return sorted(dict.fromkeys(found + patches.found), key=lambda v: v.line)


def _node_violations(node: ast.AST, siblings: set[str]) -> list[Violation]:
    """An import, a name, an attribute or a string constant the policy refuses."""
    if isinstance(node, ast.Import):
        return [_violation(node, message("imports `{name}`", name=alias.name), alias.name)
                for alias in node.names
                if alias.name.split(".")[0] not in ALLOWED_IMPORTS and alias.name not in ALLOWED_IMPORTS]
    if isinstance(node, ast.ImportFrom):
        name = node.module or ""
        modules = [name] if name else [a.name for a in node.names]  # from .ex05 import f; from . import ex05
        if node.level == 1 and all(m in siblings for m in modules):
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


class _Patches(ast.NodeVisitor):
    """What would monkeypatch a module: an assignment into it (``np.allclose = ...``), ``setattr``,
    ``delattr`` or ``vars`` called on it, its ``__dict__``. Inside a function, a name the function
    binds itself (``copy = h.copy()``) is its own variable there, as Python reads it, not the module."""

    def __init__(self, modules: set[str]) -> None:
        self.modules = modules  # the names bound to a module where the visit is
        self.called: set[ast.AST] = set()  # the names called directly: setattr(...), not f = setattr
        self.found: list[Violation] = []

    def _module(self, node: ast.AST) -> str | None:
        """The module alias at the root of ``node`` (``np`` for ``np.linalg``), if any."""
        while isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        return node.id if isinstance(node, ast.Name) and node.id in self.modules else None

    def _refuse(self, node: ast.AST, what: str, named: str) -> None:
        self.found.append(_violation(node, what, named))

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            outer = self.modules
            self.modules = outer - _bound_in(node)
            self.generic_visit(node)
            self.modules = outer
            return
        self._check(node)
        self.generic_visit(node)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(t, ast.Attribute | ast.Subscript) and (name := self._module(t)):
                    self._refuse(node, message("assigns into the module `{name}`", name=name), name)
        elif isinstance(node, ast.Call) and _is_attribute_builtin(node.func):
            self.called.add(node.func)
            if not node.args or (name := self._module(node.args[0])):
                more = ", ..." if len(node.args) > 1 else ""
                what = f"{node.func.id}({name}{more})" if node.args else node.func.id  # setattr(np, ...)
                self._refuse(node, message("uses `{name}`", name=what), what)
        elif _is_attribute_builtin(node) and node not in self.called:
            self._refuse(node, message("uses `{name}`", name=node.id), node.id)
        elif isinstance(node, ast.Attribute) and node.attr == MODULE_NAMESPACE and self._module(node.value):
            self._refuse(node, message("uses `.{name}`", name=MODULE_NAMESPACE), MODULE_NAMESPACE)


def _is_attribute_builtin(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ATTRIBUTE_BUILTINS


_OWN_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)  # bind their own names


def _bound_in(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """The names ``function`` binds itself (its parameters and what it assigns), not those of the
    scopes inside it and not those it declares ``global``: an ``import`` binds a module, not counted."""
    a = function.args
    bound = {arg.arg for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if arg}
    declared: set[str] = set()
    todo = list(function.body) if isinstance(function.body, list) else [function.body]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)  # defined here; its body is a scope of its own
        elif not isinstance(node, _OWN_SCOPES):
            todo.extend(ast.iter_child_nodes(node))
    return bound - declared


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
