"""The systemd units in deploy/systemd: systemd itself accepts them (when `systemd-analyze`
is installed), their commands are real `connecthub` commands and options, and the
environment file names only real settings."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connecthub.cli import app as cli
from connecthub.config import Settings

SYSTEMD = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
ENV_EXAMPLE = SYSTEMD / "connecthub.env.example"
INSTALLED = "/opt/connecthub/.venv/bin/connecthub"


def unit(path: Path) -> configparser.ConfigParser:
    # systemd allows a key more than once (SystemCallFilter=): keep the last, as a check.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def test_both_units_are_shipped() -> None:
    assert [path.name for path in UNITS] == [
        "connecthub-web.service",
        "connecthub-worker.service",
    ]


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_units_restart_and_run_a_real_command(path: Path) -> None:
    service = unit(path)["Service"]
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"] == "/etc/connecthub/connecthub.env"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert unit(path)["Unit"]["StartLimitIntervalSec"] == "0"
    program, *arguments = shlex.split(service["ExecStart"])
    assert program == INSTALLED
    # Click refuses an unknown command or option before it looks at --help.
    result = CliRunner().invoke(cli, [*arguments, "--help"])
    assert result.exit_code == 0, result.output


def test_the_environment_file_names_only_settings() -> None:
    names = re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M)
    assert "DATABASE_URL" in names
    unknown = {name for name in names if name.lower() not in Settings.model_fields}
    assert not unknown


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    here = Path(sys.executable).parent / "connecthub"
    for path in UNITS:
        text = path.read_text().replace(INSTALLED, str(here))
        text = text.replace("/etc/connecthub/connecthub.env", str(ENV_EXAMPLE))
        (tmp_path / path.name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(map(str, tmp_path.iterdir()))],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    # systemd ignores an unknown key or a bad value with a warning, and exits 0.
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
