"""What a ConnectHub process loads as it starts. The app's import is paid by every server
process, job worker and command; libraries only some jobs use load where they are first
used, so a web server never holds them (~0.3 s of a start and ~15 MiB of memory for the
three below)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # a new interpreter importing the app (~2 CPU-s)

LOADED_WHERE_USED = {
    "aiohttp": "push/sending.py, by the job that sends a push message",
    "pywebpush": "push/sending.py, by the job that sends a push message",
    "bs4": "cards/page.py, by the job that reads a linked page",
    "dns": "denylists/mx.py, by the first sign-up checked against blocked mail exchangers",
}


def test_the_apps_import_leaves_the_libraries_of_some_jobs_unloaded() -> None:
    code = (
        "import json, sys; import connecthub.app; "
        f"print(json.dumps([m for m in {sorted(LOADED_WHERE_USED)!r} if m in sys.modules]))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(found.stdout.strip().splitlines()[-1])
    assert loaded == [], {name: LOADED_WHERE_USED[name] for name in loaded}
