"""Every string a user reads goes through ``_()``: English msgid in, the chosen language out.

The translations are a gettext catalogue, ``kopflow/locale/<lang>/LC_MESSAGES/kopflow.mo``,
compiled from the ``.po`` beside it (docs/translating.md). English needs none: the msgid is the
English text. This module imports only the standard library: it runs before ``--help`` is
printed.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
DOMAIN = "kopflow"
LOCALEDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")

_current: str | None = None
# One catalogue per language, read from its .mo on first use: after that each _() is a dict
# lookup (bulk commands translate per row).
_catalogues: dict[str, gettext.NullTranslations] = {}


def detect_language() -> str:
    """Language from ``KOPFLOW_LANG``, else ``LANG`` (``en_US.UTF-8`` -> ``en``), else Indonesian."""
    for var in ("KOPFLOW_LANG", "LANG"):
        value = os.environ.get(var, "")
        code = value.split("_")[0].split(".")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def set_language(lang: str | None) -> str:
    """Choose the language for this process; ``None`` means detect it from the environment."""
    global _current
    _current = lang if lang in LANGUAGES else detect_language()
    return _current


def get_language() -> str:
    """The language in force (detected on first use)."""
    return _current or set_language(None)


def catalogue(lang: str) -> gettext.NullTranslations:
    """The translations into ``lang``; English (no ``.mo``) gives the msgids back unchanged."""
    found = _catalogues.get(lang)
    if found is None:
        found = gettext.translation(DOMAIN, LOCALEDIR, languages=[lang], fallback=True)
        _catalogues[lang] = found
    return found


def _(msgid: str, **params: object) -> str:
    """Translate ``msgid`` (English) and fill ``{name}`` placeholders from ``params``."""
    lang = _current or set_language(None)
    # gettext answers "" with the catalogue's header, never what a caller means.
    text = (_catalogues.get(lang) or catalogue(lang)).gettext(msgid) if msgid else msgid
    return text.format(**params) if params else text


def N_(msgid: str) -> str:
    """Mark ``msgid`` for translation later, when it is shown (click help, module constants)."""
    return msgid


def install_for_click(lang: str) -> None:
    """Make the standard gettext functions, which click's own texts go through, speak ``lang``.

    Click marks its messages ("Usage:", "Show this message and exit.", error wording) with
    ``gettext.gettext``: the default text domain, in the language the environment names. So
    kopflow's catalogue, which holds click's messages too, becomes the default domain, and
    ``LANGUAGE``, the first variable gettext reads, names the language. It is process-wide,
    child processes inherit it: only the ``kopflow`` command calls this, never the library.
    """
    gettext.bindtextdomain(DOMAIN, LOCALEDIR)
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = lang


@contextmanager
def click_msgids() -> Iterator[None]:
    """Inside, the standard gettext functions give the English msgid back, whatever the language.

    For a text click translates once and keeps (the help option's help): kept as the msgid, it
    can be translated each time it is shown, in the language in force then.
    """
    before = os.environ.get("LANGUAGE")
    os.environ["LANGUAGE"] = "en"  # the msgids are English: no catalogue, nothing to look up
    try:
        yield
    finally:
        if before is None:
            del os.environ["LANGUAGE"]
        else:
            os.environ["LANGUAGE"] = before


def label(texts: dict[str, str] | None, fallback: str = "") -> str:
    """Pick the current language from a ``{"id": ..., "en": ...}`` label found in data files."""
    if not texts:
        return fallback
    return texts.get(get_language()) or texts.get("en") or texts.get("id") or fallback


class Named(str):
    """An id (a stage's, an event's, a step's) that a sentence shows as its label in the
    language in force, the id in brackets: ``Pembentukan (formation)``.

    It is the id itself everywhere else (comparisons, JSON, ``str()``); only formatting into a
    message (``{stage}``) shows the label, so an error raised in one language and shown in
    another still reads right.
    """

    texts: dict[str, str] | None

    def __new__(cls, ident: str, texts: dict[str, str] | None) -> Named:
        obj = super().__new__(cls, ident)
        obj.texts = texts
        return obj

    def __format__(self, spec: str) -> str:
        ident = str.__str__(self)
        text = label(self.texts, ident)
        # A label that already ends with its id ("... (Musdesus)") does not repeat it.
        shown = text == ident or text.lower().endswith(f"({ident.lower()})")
        return format(text if shown else f"{text} ({ident})", spec)


class Word(str):
    """A msgid given as a message's parameter (``kind=Word(N_("province"))``): translated
    when the message is shown, so an error raised in one language reads right in another."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return format(_(str(self)), spec)


def listed(items: object) -> str:
    """``a, b, c`` with each item formatted (a :class:`Named` shows its label)."""
    return ", ".join(format(item) for item in items) if isinstance(items, list | tuple) else "-"
