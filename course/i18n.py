"""The learner's language, and the translation of the course's messages (standard library only).

Messages are English; ``locale/<lang>/LC_MESSAGES/course.mo`` holds their translations (written by
``python dev.py messages`` from ``course.po``). Placeholders are ``{name}`` (``str.format``), so a
translation may put them in any order: translate first, format after.
"""

from __future__ import annotations

import gettext
import textwrap
from collections.abc import Mapping
from functools import cache

from course.info import ROOT

LOCALE_DIR = ROOT / "locale"
DOMAIN = "course"
ENGLISH = "en"
LANGUAGES = (ENGLISH, "ko")  # English is the source; the others have a catalogue in LOCALE_DIR
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order of precedence


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


def translate(text: str, lang: str) -> str:
    """``text`` in ``lang``; English, or a message the catalogue lacks, comes back unchanged."""
    return text if lang == ENGLISH else _catalogue(lang).gettext(text)


def translate_plural(singular: str, plural: str, n: int, lang: str) -> str:
    """The form of ``singular``/``plural`` for ``n`` in ``lang`` (Korean has one form)."""
    if lang == ENGLISH:
        return singular if n == 1 else plural
    return _catalogue(lang).ngettext(singular, plural, n)


def doc_parts(doc: str) -> tuple[str, str]:
    """The two messages of a test's docstring, (property, hint), as the grader shows them: the first
    paragraph not starting with ``Hint:``, its lines joined by single spaces, and the ``Hint:``
    paragraphs without the prefix ("" when there is none)."""
    paragraphs = [" ".join(line.strip() for line in p.splitlines())
                  for p in textwrap.dedent(doc).strip().split("\n\n") if p.strip()]
    prop = next((p for p in paragraphs if not p.startswith("Hint:")), "")
    hint = " ".join(p.removeprefix("Hint:").strip() for p in paragraphs if p.startswith("Hint:"))
    return prop, hint
