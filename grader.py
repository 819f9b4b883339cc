"""The front door: grade the exercises, show hints, watch files.

    python grader.py                      grade exercises/ (all exercises)
    python grader.py ex05                 grade one exercise (also: 05, 5, ex05_qkv_attention)
    python grader.py --target DIR         grade any directory laid out like exercises/
    python grader.py hint ex05            the next hint of an exercise
    python grader.py watch [ex05]         re-grade the exercise you are editing on every save
    python grader.py show ex06            draw your function on a fixed example (a PNG with matplotlib)
    python grader.py --lang ko            in Korean (so does a Korean locale, LANG=ko_KR.UTF-8);
                                          --lang en for English; on every command

For instructors:
    python grader.py release OUT_DIR                       a student copy without reference code
    python grader.py batch SUBMISSIONS --out RESULTS_DIR   grade a class (directories or .zip files);
                                                           also writes RESULTS_DIR/index.html
    python grader.py batch SUBMISSIONS --out PART --shard K/N   only the K-th of N slices of the class
    python grader.py batch merge RESULTS_DIR PART...       join the shards' results into one
    python grader.py batch SUBMISSIONS --out RESULTS_DIR --dask tcp://HOST:8786   each submission a task
                                                           on a Dask cluster (--dask local: this machine)
    python grader.py gradescope-bundle OUT.zip             Gradescope's autograder zip
    python grader.py classroom-workflow                    a GitHub Classroom workflow, on stdout

Output: the table (default), --json [FILE], --gradescope [FILE], --junit [FILE].
Exit status: 0 when grading completed, 1 with --strict unless every point was earned,
2 for a usage error, 3 when the grader itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from course.i18n import ENGLISH, argparse_speaking, command_language, lang_option, localize, message
from course.info import ROOT, Exercise, find_exercise, load_course
from grading import protocol, show
from grading import report as rp
from grading.batch import SubmissionError, batch, in_process, locate
from grading.bundle import classroom_workflow, gradescope_bundle
from grading.cluster import DaskMissingError, on_dask
from grading.engine import Options, grade
from grading.pictures import save_png
from grading.release import ReleaseError, release
from grading.runner import Limits, RunKey, default_jobs
from grading.shards import MergeError, Shard, merge

HINT_STATE = ROOT / ".grader" / "hints.json"
SHOW_PNG = HINT_STATE.with_name("show-{id}.png")  # where `show` writes its picture, with matplotlib


def _parser(lang: str = ENGLISH) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grader.py",
                                description=message("Grade the Transformer exercises.", lang),
                                epilog=message("Other commands: `hint EXERCISE`, `watch`.", lang),
                                parents=[lang_option(lang)])
    p.add_argument("exercises", nargs="*",
                   help=message("exercises to grade (default: all), e.g. ex05 or 05", lang))
    p.add_argument("--target", default="exercises",
                   help=message("directory to grade (default: exercises)", lang))
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help=message("the engine's JSON report", lang))
    p.add_argument("--gradescope", nargs="?", const="results.json", metavar="FILE",
                   help=message("Gradescope results.json (default FILE: results.json)", lang))
    p.add_argument("--junit", nargs="?", const="-", metavar="FILE", help=message("JUnit XML", lang))
    p.add_argument("--verbose", "-v", action="store_true",
                   help=message("every failure, with tracebacks", lang))
    p.add_argument("--strict", action="store_true",
                   help=message("exit 1 unless every point was earned", lang))
    p.add_argument("--jobs", "-j", type=int, default=default_jobs(),
                   help=message("parallel test processes", lang))
    p.add_argument("--test-timeout", type=float, default=Limits.test_seconds,
                   help=message("seconds per test", lang))
    p.add_argument("--exercise-timeout", type=float, default=Limits.exercise_seconds,
                   help=message("seconds per exercise", lang))
    p.add_argument("--memory-gb", type=float, default=Limits.memory_bytes / 2**30,
                   help=message("memory limit per test process, in GiB", lang))
    p.add_argument("--hidden", metavar="DIR",
                   help=message("a folder of extra test_<module>*.py files, run when grading, never released",
                                lang))
    p.add_argument("--no-integrated", action="store_true",
                   help=message("skip re-running exercises with the learner's own earlier exercises", lang))
    p.add_argument("--quiet", "-q", action="store_true", help=message("no progress line", lang))
    return p


class Progress:
    """One line on stderr that says what is being graded, rewritten in place on a terminal."""

    def __init__(self, total: int, enabled: bool, lang: str = ENGLISH) -> None:
        self.total, self.done, self.tests = total, 0, 0
        self.enabled, self.lang = enabled, lang
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()

    def __call__(self, key: RunKey, event: protocol.Event) -> None:
        if not self.enabled:
            return
        done = isinstance(event, protocol.Done)
        if isinstance(event, protocol.Finished):
            self.tests += 1
        elif done and not key.integrated:
            self.done += 1
        else:
            return
        line = message("grading: {done}/{total} exercises, {tests} tests run, {seconds} s",
                       self.lang, done=self.done, total=self.total, tests=self.tests,
                       seconds=f"{time.monotonic() - self.start:.1f}") + f"  [{key}]"
        if self.tty:
            sys.stderr.write("\r" + line.ljust(78)[:100])
        elif done:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


def _emit(dest: str, text: str) -> None:
    if dest == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        rp.write_atomically(Path(dest), text)


class UsageError(Exception):
    """A command line that cannot be graded, with what to do instead."""


def _target(given: str, lang: str, course: list[Exercise] | None = None) -> Path:
    """The folder of exercise files that ``given`` names; :class:`UsageError` when there is none."""
    target = ROOT / given if given in ("exercises", "solutions") else Path(given)
    if not target.is_dir():
        raise UsageError(message("{target} is not a directory; pass --target with a folder laid out "
                                 "like exercises/", lang, target=given))
    try:
        return locate(target, course or load_course())  # a submission may nest its files in a folder
    except (SubmissionError, OSError):
        raise UsageError(message("{target} holds no exercise files; pass --target with a folder laid "
                                 "out like exercises/", lang, target=given)) from None


def _options(args: argparse.Namespace, course: list[Exercise], lang: str) -> Options:
    """What the command line asks to grade; :class:`UsageError` when it cannot be."""
    try:
        chosen = [find_exercise(course, key) for key in args.exercises] or None
    except KeyError as e:
        raise UsageError(localize(e.args[0], lang)) from None
    target = _target(args.target, lang, course)
    limits = Limits(test_seconds=args.test_timeout, exercise_seconds=args.exercise_timeout,
                    memory_bytes=int(args.memory_gb * 2**30))
    return Options(target=target, exercises=chosen, jobs=args.jobs, limits=limits,
                   hidden=Path(args.hidden) if args.hidden else None,
                   integrated=not args.no_integrated)


def cmd_grade(argv: list[str], lang: str = ENGLISH) -> int:
    args = _parser(lang).parse_args(argv)
    course = load_course()
    try:
        options = _options(args, course, lang)
    except UsageError as e:
        print(f"grader.py: {e}", file=sys.stderr)
        return rp.EXIT_USAGE
    machine = [(args.gradescope, lambda r: json.dumps(rp.to_gradescope(r, lang), indent=2)),
               (args.json, lambda r: rp.to_json(r, lang)), (args.junit, lambda r: rp.to_junit(r, lang))]

    def checkpoint(partial: rp.Report) -> None:  # a crash half way still leaves a results file
        for dest, render in machine:
            if dest and dest != "-":
                _emit(dest, render(partial))

    progress = Progress(len(options.exercises or course), enabled=not args.quiet, lang=lang)
    try:
        report = grade(options, progress=progress, checkpoint=checkpoint)
    finally:
        progress.close()
    for dest, render in machine:
        if dest:
            _emit(dest, render(report))
    if not any(dest == "-" for dest, _ in machine):
        print(rp.render_text(report, verbose=args.verbose, color=sys.stdout.isatty(), lang=lang))
    return rp.exit_code(report, args.strict)


def cmd_hint(argv: list[str], lang: str = ENGLISH) -> int:
    p = argparse.ArgumentParser(prog="grader.py hint", parents=[lang_option(lang)],
                                description=message("The next hint of an exercise: first those of the "
                                                    "properties that fail now, then the exercise's own.",
                                                    lang))
    p.add_argument("exercise", help=message("e.g. ex05 or 05", lang))
    p.add_argument("--target", default="exercises",
                   help=message("directory to grade (default: exercises)", lang))
    args = p.parse_args(argv)
    course = load_course()
    try:
        target = _target(args.target, lang)
        e = find_exercise(course, args.exercise)
    except (UsageError, KeyError) as err:
        print(f"grader.py: {localize(err.args[0], lang)}", file=sys.stderr)
        return rp.EXIT_USAGE
    result = grade(Options(target=target, exercises=[e], integrated=False)).exercises[0]
    state = json.loads(HINT_STATE.read_text()) if HINT_STATE.is_file() else {}
    shown = state.get(e.id) if isinstance(state.get(e.id), list) else []
    print(rp.render_hint(result, shown, lang))
    unseen = [hint for hint, _ in result.ordered_hints() if hint not in shown]
    state[e.id] = [*shown, unseen[0]] if unseen else []  # all seen: the next run starts over
    rp.write_atomically(HINT_STATE, json.dumps(state))
    return rp.EXIT_OK


def cmd_watch(argv: list[str], lang: str = ENGLISH) -> int:
    p = argparse.ArgumentParser(prog="grader.py watch", parents=[lang_option(lang)],
                                description=message("Grade, then grade again each exercise file you save "
                                                    "(Ctrl-C stops).", lang))
    p.add_argument("exercises", nargs="*",
                   help=message("exercises to watch (default: all), e.g. ex05 or 05", lang))
    p.add_argument("--target", default="exercises",
                   help=message("directory to watch (default: exercises)", lang))
    args = p.parse_args(argv)
    folders = [a for a in args.exercises if "/" in a or os.sep in a or Path(a).is_dir()]
    if folders:  # `watch DIR`, the older spelling of `watch --target DIR`
        args.target, args.exercises = folders[-1], [a for a in args.exercises if a not in folders]
    course = load_course()
    try:
        target = _target(args.target, lang, course)
        chosen = [find_exercise(course, key) for key in args.exercises] or course
    except (UsageError, KeyError) as e:
        print(f"grader.py watch: {localize(e.args[0], lang)}", file=sys.stderr)
        return rp.EXIT_USAGE
    return _watch(target, chosen, lang)


def _watch(target: Path, chosen: list[Exercise], lang: str) -> int:
    """Grade ``chosen`` in ``target``, then each of them again whenever its file changes."""
    def stamps() -> dict[str, float]:
        return {e.id: (target / e.file_name).stat().st_mtime
                for e in chosen if (target / e.file_name).is_file()}

    report = grade(Options(target=target, exercises=chosen, integrated=False))
    print(rp.render_text(report, color=sys.stdout.isatty(), lang=lang))
    seen = stamps()
    watching = "\n" + message("Watching for changes (Ctrl-C to stop)...", lang)
    print(watching)
    try:
        while True:
            time.sleep(0.5)
            now = stamps()
            changed = [e for e in chosen if now.get(e.id) != seen.get(e.id)]
            seen = now
            if changed:
                report = grade(Options(target=target, exercises=changed, integrated=False))
                print("\n" + rp.render_text(report, color=sys.stdout.isatty(), lang=lang))
                print(watching)
    except KeyboardInterrupt:
        return rp.EXIT_OK


def cmd_show(argv: list[str], lang: str = ENGLISH) -> int:
    p = argparse.ArgumentParser(prog="grader.py show", parents=[lang_option(lang)],
                                description=message("Draw your function on a fixed example, beside the "
                                                    "expected.", lang))
    p.add_argument("exercise", help=message("the exercise, e.g. ex06 or 06", lang))
    p.add_argument("--target", default="exercises",
                   help=message("directory of your code (default: exercises)", lang))
    p.add_argument("--terminal", action="store_true",
                   help=message("draw in the terminal even with matplotlib", lang))
    args = p.parse_args(argv)
    course = load_course()
    try:  # the exercise and the target, checked as for grading
        options = _options(_parser().parse_args([args.exercise, "--target", args.target]), course, lang)
    except UsageError as err:
        print(f"grader.py show: {err}", file=sys.stderr)
        return rp.EXIT_USAGE
    e, directory = options.exercises[0], options.target
    if e.id not in show.EXAMPLES:
        print(message("{id} has nothing to draw: show draws masks, attention weights and the positional "
                      "encoding ({ids}).", lang, id=e.id, ids=", ".join(show.EXAMPLES)))
        return rp.EXIT_OK
    shown = show.shown_for(e, directory, course)
    path = SHOW_PNG.with_name(SHOW_PNG.name.format(id=e.id))
    try:
        written = None if args.terminal or not shown.pictures else save_png(shown.pictures, path, e.id)
    except ImportError:
        written = None
    if written:
        notes = show.render(show.Shown(notes=shown.notes), lang)
        print(message("Wrote {path}", lang, path=written) + ("\n\n" + notes if notes else ""))
    else:
        print(show.render(shown, lang))
    return rp.EXIT_OK if not shown.notes else rp.EXIT_NOT_FULL


def cmd_release(argv: list[str], lang: str = ENGLISH) -> int:
    p = argparse.ArgumentParser(prog="grader.py release",
                                description=message("Write a student copy: stubs, tests, grader, no "
                                                    "reference code.", lang))
    p.add_argument("out", help=message("a new (or empty) folder", lang))
    args = p.parse_args(argv)
    try:
        out = release(Path(args.out))
    except ReleaseError as e:
        print("grader.py release: " + localize(e.args[0] if e.args else "", lang), file=sys.stderr)
        return rp.EXIT_GRADER_FAILED
    print(message("Wrote a student release to {out}. Students run: python -m pip install -e . && "
                  "python grader.py", lang, out=out))
    return rp.EXIT_OK


def cmd_batch_merge(argv: list[str], lang: str = ENGLISH) -> int:
    p = argparse.ArgumentParser(prog="grader.py batch merge", parents=[lang_option(lang)],
                                description=message("Join the results of batch --shard K/N into one.", lang))
    p.add_argument("out", help=message("folder for the merged grades.csv, feedback/ and index.html", lang))
    p.add_argument("parts", nargs="+", help=message("the --out folders of every shard", lang))
    args = p.parse_args(argv)
    try:
        rows = merge(Path(args.out), [Path(part) for part in args.parts], lang=lang)
    except MergeError as e:
        print(f"grader.py batch merge: {localize(e.args[0], lang)}", file=sys.stderr)
        return rp.EXIT_USAGE
    print(message("Merged {count} students: {path}", lang, count=len(rows),
                  path=Path(args.out) / "grades.csv"))
    return rp.EXIT_OK


def _shard(text: str, lang: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(localize(e.args[0], lang)) from e


def _batch_parser(lang: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grader.py batch",
                                description=message("Grade every submission in a folder.", lang),
                                parents=[lang_option(lang)],
                                                     epilog=message("Also: batch merge OUT PARTS...", lang))
    p.add_argument("submissions",
                   help=message("folder of submissions: one directory or .zip per student", lang))
    p.add_argument("--out", required=True,
                   help=message("folder for grades.csv, feedback/ and index.html", lang))
    p.add_argument("--jobs", "-j", type=int,
                   help=message("tests run side by side per submission (default: every core; 1 with --dask)",
                                lang))
    p.add_argument("--shard", type=lambda text: _shard(text, lang), metavar="K/N",
                   help=message("grade only the K-th of N slices of the class; join them with batch merge",
                                lang))
    p.add_argument("--dask", metavar="SCHEDULER",
                   help=message("grade each submission as a task on this Dask scheduler (tcp://host:8786), "
                                "or on a cluster of this machine's cores with local", lang))
    return p


def cmd_batch(argv: list[str], lang: str = ENGLISH) -> int:
    if argv[:1] == ["merge"]:
        return cmd_batch_merge(argv[1:], lang)
    args = _batch_parser(lang).parse_args(argv)
    submissions = Path(args.submissions)
    if not submissions.is_dir():
        print("grader.py batch: " + message("{path} is not a folder of submissions", lang, path=submissions),
              file=sys.stderr)
        return rp.EXIT_USAGE
    try:
        runner = on_dask(args.dask) if args.dask else in_process
    except DaskMissingError as e:
        print(f"grader.py batch: {localize(e.args[0], lang)}", file=sys.stderr)
        return rp.EXIT_USAGE
    jobs = args.jobs or (1 if args.dask else default_jobs())
    start = time.monotonic()

    def progress(done: int, total: int, student: str) -> None:
        bar = "#" * (30 * done // total)
        sys.stderr.write(f"\r[{bar:30}] {done}/{total} {student[:30]:30} {time.monotonic() - start:6.0f} s")
        sys.stderr.flush()

    rows = batch(submissions, Path(args.out), jobs=jobs, progress=progress, lang=lang, shard=args.shard,
                 runner=runner)
    sys.stderr.write("\n")
    not_graded = sum(bool(r.reason) for r in rows)
    flagged = sum(bool(r.flags) for r in rows)
    print(message("Graded {graded} of {count} submissions ({flagged} flagged) in {seconds} s: {path}", lang,
                  graded=len(rows) - not_graded, count=len(rows), flagged=flagged,
                  seconds=f"{time.monotonic() - start:.0f}", path=Path(args.out) / "grades.csv"))
    return rp.EXIT_OK


def cmd_gradescope_bundle(argv: list[str], lang: str = ENGLISH) -> int:
    if len(argv) != 1 or not argv[0].endswith(".zip"):
        print(message("usage: python grader.py gradescope-bundle OUT.zip", lang), file=sys.stderr)
        return rp.EXIT_USAGE
    try:
        out = gradescope_bundle(Path(argv[0]))
    except ReleaseError as e:
        print("grader.py gradescope-bundle: " + localize(e.args[0] if e.args else "", lang),
              file=sys.stderr)
        return rp.EXIT_GRADER_FAILED
    print(message("Wrote {out}: upload it as the autograder of a Gradescope programming assignment.", lang,
                  out=out))
    return rp.EXIT_OK


def cmd_classroom_workflow(argv: list[str], lang: str = ENGLISH) -> int:
    sys.stdout.write(classroom_workflow())
    return rp.EXIT_OK


COMMANDS = {"hint": cmd_hint, "watch": cmd_watch, "show": cmd_show, "release": cmd_release,
            "batch": cmd_batch, "gradescope-bundle": cmd_gradescope_bundle,
            "classroom-workflow": cmd_classroom_workflow}


def main(argv: list[str]) -> int:
    lang, argv = command_language(argv, os.environ)  # --lang goes with every command
    command = COMMANDS.get(argv[0]) if argv else None
    try:
        with argparse_speaking(lang):
            return command(argv[1:], lang) if command else cmd_grade(argv, lang)
    except KeyboardInterrupt:
        print("\ngrader.py: " + message("interrupted", lang), file=sys.stderr)
        return rp.EXIT_GRADER_FAILED
    except Exception as e:
        print("grader.py: " + message("the grader itself failed: {error}: {detail}\nNothing was graded. "
                                      "Re-run with a fresh clone, or report this with the command you ran.",
                                      lang, error=type(e).__name__, detail=str(e)), file=sys.stderr)
        return rp.EXIT_GRADER_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
