"""The learner's language, and the translation of the course's messages (standard library only).

Messages are English; ``locale/<lang>/LC_MESSAGES/course.mo`` holds their translations (written by
``python dev.py messages`` from ``course.po``). Placeholders are ``{name}`` (``str.format``), so a
translation may put them in any order: translate first, format after.
"""

from __future__ import annotations

import gettext
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
