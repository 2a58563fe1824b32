"""`connecthub flags …` as an operator runs it: every change audited (actor `cli`), bad
input one line and exit 2."""

from __future__ import annotations

import json
from typing import Any

from tests.cli_runner import CliResult, run_cli


def run(test_env: Any, *args: str) -> CliResult:
    return run_cli(test_env.environ(), "flags", *args)


def test_create_roll_out_kill_and_read_back(test_env: Any) -> None:
    assert run(test_env, "list").stdout.strip() == "No feature flags."
    created = run(
        test_env, "create", "new_thing", "--kind", "boolean", "--default", "false",
        "--json", '{"description": "Try it", "client_visible": true}',
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert '"client_visible": true' in created.stdout
    widened = run(test_env, "rollout", "new_thing", "10")
    assert widened.returncode == 0, widened.stderr
    assert '"percentage": 10.0' in widened.stdout
    assert run(test_env, "kill", "new_thing").returncode == 0
    listed = run(test_env, "list").stdout
    assert "new_thing  boolean  KILLED  v3  1 rule(s)" in listed
    shown = run(test_env, "show", "new_thing")
    entity = json.loads(shown.stdout[shown.stdout.index("{") :])
    assert (entity["enabled"], entity["version"]) == (False, 3)
    audit = [json.loads(line) for line in created.stdout.splitlines() if '"admin.cli"' in line]
    assert audit
    assert audit[0]["actor"] == "cli"
    assert audit[0]["action"] == "flag.create"
    assert run(test_env, "delete", "new_thing").stdout.strip().endswith("Deleted new_thing.")


def test_bad_input_is_one_line_and_exit_2(test_env: Any) -> None:
    bad_kind = run(test_env, "create", "k", "--kind", "colour", "--default", "1")
    assert (bad_kind.returncode, bad_kind.stderr.strip()) == (
        2,
        "Validation failed: kind: must be one of boolean, string, number, json",
    )
    not_json = run(test_env, "create", "k", "--kind", "boolean", "--default", "nope")
    assert not_json.returncode == 2
    assert "not JSON" in not_json.stderr
    missing = run(test_env, "kill", "nothing_here")
    assert missing.returncode == 2
    assert "No feature flag" in missing.stderr
    assert run(test_env, "rollout", "nothing_here", "120").returncode == 2
    assert run(test_env, "readout", "nothing_here").returncode == 2
