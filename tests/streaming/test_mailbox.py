"""The connection mailbox: bounded, in order, and woken only once what its reader would
wait for (visibility answer, filter rules) is known."""

from __future__ import annotations

import asyncio

from connecthub.streaming.session import Mailbox


def _event(n: int) -> dict[str, object]:
    return {"event": "update", "payload": {"id": str(n)}}


async def test_an_event_waiting_for_answers_wakes_the_reader_only_when_they_are_in() -> None:
    mailbox = Mailbox(10, lambda: None)
    visibility: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    rules: asyncio.Future[list[object]] = asyncio.get_running_loop().create_future()
    reader = asyncio.create_task(mailbox.take())
    await asyncio.sleep(0)
    mailbox.offer("public", _event(1), [visibility, rules])
    await asyncio.sleep(0.01)
    assert not reader.done()
    visibility.set_result(True)
    await asyncio.sleep(0.01)
    assert not reader.done()  # the rules are still being fetched
    rules.set_result([])
    assert await asyncio.wait_for(reader, 1) == [("public", _event(1))]


async def test_a_ready_event_behind_a_waiting_one_keeps_the_order() -> None:
    mailbox = Mailbox(10, lambda: None)
    pending: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    mailbox.offer("public", _event(1), [pending])
    mailbox.offer("public", {"event": "delete", "payload": "1"})
    batch = await asyncio.wait_for(mailbox.take(), 1)
    assert [event["event"] for _, event in batch] == ["update", "delete"]


async def test_overflow_drops_the_backlog_and_tells_the_owner_once() -> None:
    overflows: list[bool] = []
    mailbox = Mailbox(2, lambda: overflows.append(True))
    for n in range(5):
        mailbox.offer("public", _event(n))
    assert mailbox.overflowed
    assert overflows == [True]
