"""Imports every domain's `tasks.py` so their job handlers are registered by name.

Domains are found, not listed: any `connecthub.<domain>.tasks` module is loaded, so a domain
that gains background work needs no edit here. Operators and plugins add modules with
`TASK_MODULES` (a comma list), loaded by `connecthub worker` and the embedded server alike.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from collections.abc import Iterable

import connecthub
from connecthub.config import ConfigurationError


@functools.cache
def domain_task_modules() -> tuple[str, ...]:
    """Found once per process: the scan of the package's folders cost ~1.5 ms on every app's
    start (each test's)."""
    names = []
    for module in pkgutil.iter_modules(connecthub.__path__):
        if not module.ispkg:
            continue
        candidate = f"connecthub.{module.name}.tasks"
        if importlib.util.find_spec(candidate) is not None:
            names.append(candidate)
    return tuple(sorted(names))


def register_all(extra_modules: Iterable[str] = ()) -> None:
    """Import the domains' task modules, then `extra_modules` (from `TASK_MODULES`)."""
    for name in domain_task_modules():
        importlib.import_module(name)
    for name in extra_modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigurationError(f"TASK_MODULES: cannot import {name!r} ({exc})") from None
