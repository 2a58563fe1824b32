"""The server's translations (core/i18n.py): every message the code and templates mark is
in every catalog, translated, with the same placeholders; the committed `.mo` files are the
`.po` files compiled; and the locale is chosen as documented. `make translations` fixes the
first two after a change of wording (then translate what it marks new)."""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from connecthub.core import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str]:
    """The msgids `pybabel extract -F babel.cfg src` finds today (singular forms)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "src"), method_map, options_map
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    path = i18n.CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def _ids(catalog) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


@pytest.mark.slow
def test_every_marked_message_is_in_every_catalog_and_nothing_else() -> None:
    source = _source_messages()
    assert source, "no message extracted: babel.cfg or the markers are broken"
    with (i18n.CATALOG_DIR / "messages.pot").open("rb") as file:
        template = _ids(read_po(file))
    assert sorted(source - template) == [], "run `make translations`"
    assert sorted(template - source) == [], "run `make translations`"
    for locale in i18n.LOCALES[1:]:
        catalog = _ids(_catalog(locale))
        assert sorted(source - catalog) == [], f"missing from {locale}"
        assert sorted(catalog - source) == [], f"obsolete in {locale}"


def test_every_message_is_translated_with_the_same_placeholders() -> None:
    for locale in i18n.LOCALES[1:]:
        for message in _catalog(locale):
            if not message.id:
                continue
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            strings = [message.string] if isinstance(message.string, str) else message.string
            assert all(strings), f"untranslated in {locale}: {ids[0]!r}"
            assert not message.fuzzy, f"fuzzy in {locale}: {ids[0]!r}"
            wanted = set(PLACEHOLDER.findall(ids[0]))
            for text in strings:
                assert set(PLACEHOLDER.findall(text)) == wanted, (locale, ids[0], text)


def test_the_committed_mo_files_are_the_po_files_compiled() -> None:
    for locale in i18n.LOCALES[1:]:
        compiled = io.BytesIO()
        write_mo(compiled, _catalog(locale))
        compiled.seek(0)
        fresh = gettext.GNUTranslations(compiled)
        committed = i18n.CATALOG_DIR / locale / "LC_MESSAGES" / "messages.mo"
        with committed.open("rb") as file:
            shipped = gettext.GNUTranslations(file)
        assert shipped._catalog == fresh._catalog, f"run `make translations` ({locale})"  # type: ignore[attr-defined]


def test_the_locale_is_the_account_s_then_the_browser_s_then_english() -> None:
    assert i18n.choose("id", "en-GB,en;q=0.9") == "id"
    assert i18n.choose("en", "id-ID") == "en"
    assert i18n.choose(None, "fr-FR, id;q=0.8, en;q=0.5") == "id"
    assert i18n.choose(None, "en;q=0.4, id;q=0.9") == "id"
    assert i18n.choose(None, "in") == "id"
    assert i18n.choose("de", "fr, de") == "en"
    assert i18n.choose(None, "id;q=0") == "en"
    assert i18n.choose(None, "id;q=bogus, en") == "en"
    assert i18n.choose(None, None) == "en"


def test_messages_follow_the_locale_in_effect() -> None:
    with i18n.using("id"):
        assert i18n.gettext("Sign in") == "Masuk"
        assert i18n.ngettext("%(count)s reply", "%(count)s replies", 2) == "%(count)s balasan"
        with i18n.using("en"):
            assert i18n.gettext("Sign in") == "Sign in"
        assert i18n.gettext("Sign in") == "Masuk"
    assert i18n.gettext("Sign in") == "Sign in"
    assert i18n.gettext("a message nobody marked") == "a message nobody marked"


def test_a_deferred_message_is_english_now_and_translated_later() -> None:
    message = i18n.deferred(i18n.N_("is too short (minimum is %(count)s characters)"), count=8)
    assert message == "is too short (minimum is 8 characters)"
    assert f"password: {message}" == "password: is too short (minimum is 8 characters)"
    with i18n.using("id"):
        assert message.translated() == "terlalu pendek (minimal 8 karakter)"
