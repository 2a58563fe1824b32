"""`connecthub emoji add <shortcode> <file>`: an operator adds a custom emoji."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.cli_runner import run_cli
from tests.media import files


async def test_the_command_adds_an_emoji(
    test_env: Any, app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    image = tmp_path / "blob.png"
    image.write_bytes(files.png())
    result = await asyncio.to_thread(
        run_cli, test_env.environ(), "emoji", "add", "blob", str(image), "--category", "Blobs"
    )
    assert result.returncode == 0, result.stderr
    assert "Added :blob:." in result.stdout
    [emoji] = (await client.get("/api/v1/custom_emojis")).json()
    assert (emoji["shortcode"], emoji["category"]) == ("blob", "Blobs")

    again = await asyncio.to_thread(run_cli, test_env.environ(), "emoji", "add", "blob", str(image))
    assert again.returncode == 2
    assert "shortcode" in again.stderr
    assert "Traceback" not in again.stderr
    text = tmp_path / "note.txt"
    text.write_text("not an image")
    refused = await asyncio.to_thread(run_cli, test_env.environ(), "emoji", "add", "x1", str(text))
    assert refused.returncode == 2
    missing = await asyncio.to_thread(
        run_cli, test_env.environ(), "emoji", "add", "x2", str(tmp_path / "absent.png")
    )
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
