"""The password policy (NIST SP 800-63B style): 8 to 256 characters, no composition rules,
none of the commonly used passwords — also when dressed up with a trailing number or
symbol ("password1234", "Qwerty!") — and nothing that zxcvbn's estimator finds easy to
guess (repeats, sequences, keyboard walks, dates, dictionary words with small changes).

`check_password` is the one policy: sign-up, password change and reset, and users made by
an administrator all go through it. The common list is zxcvbn's, built from passwords
published in breaches; no maintained package ships a larger breached-password list for
offline use."""

from __future__ import annotations

import re
from functools import lru_cache

from connecthub.core.i18n import N_, deferred
from connecthub.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 256
# zxcvbn's score 3 is "safely unguessable": about 10^8 guesses or more, which resists an
# offline attack on a slow hash such as ours. Random characters reach it from 9 on.
MIN_SCORE = 3
# The estimator is slow on long input (it refuses over 72 characters): only the start is
# scored; a start that is hard to guess makes the whole so.
SCORED_LENGTH = 64
# Stripping decorations can leave a fragment too short to judge ("ab" of "ab!8x7…").
_MIN_STEM = 4
_DECORATION = re.compile(r"[\W\d_]+$")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # Imported when first needed: zxcvbn's lists are 15 MiB, which a server process that
    # never checks a password (one holding streaming sockets, say) need not carry.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(FREQUENCY_LISTS["passwords"])


def _guessability_problem(password: str, personal: tuple[str, ...]) -> str | None:
    """Why zxcvbn finds `password` easy to guess (its own hint), or None when it does not."""
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]

    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=[p for p in personal if p])
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    hints = [hint for hint in (feedback["warning"], *feedback["suggestions"]) if hint]
    hints = hints or ["Add another word or two, or make it longer."]
    return "is too easy to guess: " + " ".join(hints)


def _stem(password: str) -> str:
    return _DECORATION.sub("", password.lower())


def check_password(
    password: str, *, field: str = "password", personal: tuple[str, ...] = ()
) -> None:
    """Raise ValidationFailed naming `field` when `password` breaks the policy. `personal`
    holds the username and e-mail, which must not serve as the password either."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            field, deferred(N_("is too short (minimum is %(count)s characters)"), count=MIN_LENGTH)
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(
            field, deferred(N_("is too long (maximum is %(count)s characters)"), count=MAX_LENGTH)
        )
    lowered = password.lower()
    stem = _stem(password)
    common = _common_passwords()
    if lowered in common or (len(stem) >= _MIN_STEM and stem in common):
        raise ValidationFailed(field, N_("is too common; choose a less guessable password"))
    for value in personal:
        value = value.lower()
        candidates = {value, value.split("@", 1)[0]} if value else set()
        if lowered in candidates or stem in candidates:
            raise ValidationFailed(field, N_("must not be your username or e-mail address"))
    problem = _guessability_problem(password, personal)
    if problem is not None:
        raise ValidationFailed(field, problem)
