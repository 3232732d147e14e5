"""Every string a user reads goes through ``_()``: English msgid in, the chosen language out.

The Indonesian catalogue lives in :mod:`kopflow._catalog` (one dict, gettext style: the English
text is the key). This module imports nothing heavy: it runs before ``--help`` is printed.
"""

from __future__ import annotations

import os

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"

_current: str | None = None


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


def _(msgid: str, **params: object) -> str:
    """Translate ``msgid`` (English) and fill ``{name}`` placeholders from ``params``."""
    text = msgid
    if get_language() == "id":
        from kopflow._catalog import ID

        text = ID.get(msgid, msgid)
    return text.format(**params) if params else text


def N_(msgid: str) -> str:
    """Mark ``msgid`` for translation later, when it is shown (click help, module constants)."""
    return msgid


def label(texts: dict[str, str] | None, fallback: str = "") -> str:
    """Pick the current language from a ``{"id": ..., "en": ...}`` label found in data files."""
    if not texts:
        return fallback
    return texts.get(get_language()) or texts.get("en") or texts.get("id") or fallback
