"""The learner's language, and the translation of the course's messages (standard library only).

Messages are English; ``locale/<lang>/LC_MESSAGES/course.mo`` holds their translations (written by
``python dev.py messages`` from ``course.po``). The course's content (titles, hints, properties,
diagnoses) is translated whole with :func:`translate` and never formatted (a hint may contain
``y_{t-1}``). The grader's own sentences are written ``message("template {name}", name=value)``
(``dev.py messages`` extracts every such call with a literal): the template is translated first and
formatted after, so a translation may put the placeholders in any order.
"""

from __future__ import annotations

import argparse
import gettext
import os
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache

from course.info import ROOT

LOCALE_DIR = ROOT / "locale"
DOMAIN = "course"
ENGLISH = "en"
LANGUAGES = (ENGLISH, "ko")  # English is the source; the others have a catalogue in LOCALE_DIR
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order of precedence
# argparse's own words (its usage line, headings and errors, as in Python 3.11 to 3.13), which it asks
# gettext.gettext for in the global text domain: course.po translates them like the grader's sentences
# (``dev.py messages`` extracts this list). Its plurals ("expected %s arguments") are left out: no
# option of ours takes a fixed number of values.
ARGPARSE_MESSAGES = (
    "usage: ", "positional arguments", "options", "show this help message and exit",
    "%(prog)s: error: %(message)s\n", "argument %(argument_name)s: %(message)s",
    "the following arguments are required: %s", "one of the arguments %s is required",
    "expected one argument", "expected at most one argument", "expected at least one argument",
    "ambiguous option: %(option)s could match %(matches)s", "unrecognized arguments: %s",
    "invalid %(type)s value: %(value)r", "invalid choice: %(value)r (choose from %(choices)s)",
    "not allowed with argument %s", "ignored explicit argument %r", "unexpected option string: %s",
    "%(heading)s:", "%(prog)s: warning: %(message)s\n",  # Python 3.13
)


def language(cli: str | None, environ: Mapping[str, str]) -> str:
    """The language to speak: ``--lang`` when given, else the first locale variable that is set
    (``ko_KR.UTF-8`` is Korean; ``LANGUAGE`` may list several, ``ko:en``), else English."""
    if cli:
        return cli if cli in LANGUAGES else ENGLISH
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if value:
            for wanted in value.split(":"):
                code = wanted.split("_")[0].split(".")[0].lower()
                if code in LANGUAGES:
                    return code
            return ENGLISH
    return ENGLISH


@cache
def _catalogue(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True)


@contextmanager
def argparse_speaking(lang: str) -> Iterator[None]:
    """argparse says its own words (:data:`ARGPARSE_MESSAGES`) in ``lang`` inside the block: the
    global text domain is the course's, and ``LANGUAGE`` says ``lang`` when the locale does not
    already; both are as before after it. For the command line's entry points only."""
    domain, variable = gettext.textdomain(), os.environ.get("LANGUAGE")
    korean = lang != ENGLISH
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN if korean else "messages")  # gettext's default, which has no catalogue here
    if korean and language(None, os.environ) != lang:
        os.environ["LANGUAGE"] = lang
    try:
        yield
    finally:
        gettext.textdomain(domain)
        if variable is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = variable


def lang_option(lang: str = ENGLISH,
                parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """``parser`` (else a new parent parser) with the ``--lang`` option of every command, its help in
    ``lang``."""
    parser = parser or argparse.ArgumentParser(add_help=False)
    parser.add_argument("--lang", choices=LANGUAGES, help=message(
        "the language to speak (default: from LANGUAGE, LC_ALL or LANG, else English)", lang))
    return parser


def command_language(argv: list[str], environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """The language of the command line ``argv`` (its ``--lang``, else the locale's) and ``argv``
    without ``--lang``."""
    with argparse_speaking(language(None, environ)):  # a wrong --lang is told in the locale's language
        chosen, rest = lang_option().parse_known_args(argv)
    return language(chosen.lang, environ), rest


def translate(text: str, lang: str) -> str:
    """``text`` in ``lang``; English, "" (whose gettext is the catalogue's header), or a message the
    catalogue lacks, comes back unchanged."""
    return text if lang == ENGLISH or not text else _catalogue(lang).gettext(text)


def translate_plural(singular: str, plural: str, n: int, lang: str) -> str:
    """The form of ``singular``/``plural`` for ``n`` in ``lang`` (Korean has one form)."""
    if lang == ENGLISH:
        return singular if n == 1 else plural
    return _catalogue(lang).ngettext(singular, plural, n)


class Message(str):
    """A sentence of the grader's, in English or once said in some language, that keeps its template
    and values so that :func:`localize` can say it again in another language."""

    template: str
    named: dict[str, object]
    lang: str = ""  # the language it was said in ("" until then)


def message(template: str, /, lang: str = ENGLISH, **named: object) -> Message:
    """``template`` in ``lang`` with its ``{placeholders}`` filled from ``named`` (text values are
    localized too: a note may name a title or hold another message)."""
    text = translate(template, lang).format(**{k: localize(v, lang) if isinstance(v, str) else v
                                               for k, v in named.items()})
    said = Message(text)
    said.template, said.named, said.lang = template, named, lang
    return said


def joined(separator: str, parts: list[str]) -> Message:
    """``parts`` joined by ``separator``, each part localized when the whole is."""
    template = separator.join(f"{{part{k}}}" for k in range(len(parts)))
    return message(template, **{f"part{k}": part for k, part in enumerate(parts)})


def localize(text: str, lang: str) -> str:
    """``text`` in ``lang``: a :class:`Message` is said again, anything else translated whole."""
    if isinstance(text, Message):
        return text if text.lang == lang else message(text.template, lang, **text.named)
    return translate(text, lang)


def doc_parts(doc: str) -> tuple[str, str]:
    """The two messages of a test's docstring, (property, hint), as the grader shows them: the first
    paragraph not starting with ``Hint:``, its lines joined by single spaces, and the ``Hint:``
    paragraphs without the prefix ("" when there is none)."""
    paragraphs = [" ".join(line.strip() for line in p.splitlines())
                  for p in textwrap.dedent(doc).strip().split("\n\n") if p.strip()]
    prop = next((p for p in paragraphs if not p.startswith("Hint:")), "")
    hint = " ".join(p.removeprefix("Hint:").strip() for p in paragraphs if p.startswith("Hint:"))
    return prop, hint
