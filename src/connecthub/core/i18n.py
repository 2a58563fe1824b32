"""The server's own words in the reader's language: gettext catalogs made with Babel.

English is the source language (the msgids); every other locale has a catalog in
`connecthub/locale/<locale>/LC_MESSAGES/messages.po`, compiled to the `.mo` next to it
(`make translations` extracts, updates and compiles; both files are committed, and
tests/core/test_i18n.py fails when they disagree or a message is missing or untranslated).

The locale in effect is a context variable: a page sets it around its rendering
(http/pages.py), a mail around its composition (`using`), so concurrent requests never see
each other's language. `N_` marks a message for extraction where it is defined and is
translated where it is shown.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

DEFAULT_LOCALE = "en"
# The locales the server's pages and mails are written in, the source language first.
LOCALES = ("en", "id")
DOMAIN = "messages"
CATALOG_DIR = Path(__file__).resolve().parent.parent / "locale"

# Tags that name a supported locale other than by its own code ("in" is Indonesian's
# withdrawn ISO 639 code, still sent by older Android browsers).
_ALIASES = {"in": "id"}

_current: ContextVar[str] = ContextVar("connecthub_locale", default=DEFAULT_LOCALE)


def supported(tag: str | None) -> str | None:
    """The supported locale a language tag (`id-ID`, `en_GB`, `ID`) names, or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    primary = _ALIASES.get(primary, primary)
    return primary if primary in LOCALES else None


def from_accept_language(header: str | None) -> str | None:
    """The supported locale the browser prefers most (`Accept-Language`, with q-values), or
    None when it names none of them."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = supported(tag)
        if locale is not None and quality > 0:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None


def choose(account_locale: str | None, accept_language: str | None) -> str:
    """The account's locale when it is signed in and supported, else the browser's, else
    the default."""
    return supported(account_locale) or from_accept_language(accept_language) or DEFAULT_LOCALE


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalog of `locale` (the source language needs none)."""
    if locale == DEFAULT_LOCALE or locale not in LOCALES:
        return _gettext.NullTranslations()
    with (CATALOG_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as file:
        return _gettext.GNUTranslations(file)


def current() -> str:
    return _current.get()


@contextmanager
def using(locale: str) -> Iterator[str]:
    """Messages translated into `locale` (a supported one, else the default) inside."""
    chosen = supported(locale) or DEFAULT_LOCALE
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


class Deferred(str):
    """A message with values filled in, in English (it is a `str`: the API answers it as it
    is), that remembers its msgid and values so a page can show it translated."""

    msgid: str
    values: dict[str, object]

    def __new__(cls, msgid: str, values: dict[str, object]) -> Deferred:
        made = super().__new__(cls, msgid % values)
        made.msgid = msgid
        made.values = values
        return made

    def translated(self) -> str:
        return gettext(self.msgid) % self.values


def deferred(msgid: str, **values: object) -> Deferred:
    """`msgid % values` in English now, translatable later (`Deferred`). Mark `msgid` with
    `N_` where it is written."""
    return Deferred(msgid, values)


def N_(message: str) -> str:
    """Marks `message` for extraction; translated later, where it is shown."""
    return message
