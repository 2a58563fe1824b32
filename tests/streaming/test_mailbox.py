"""The connection mailbox: bounded, in order, and woken only once what its reader would
wait for (visibility answer, filter rules) is known — but never starved by a backlog."""

from __future__ import annotations

import asyncio

from connecthub.streaming.session import _EAGER_BACKLOG, Mailbox


def _event(n: int) -> dict[str, object]:
    return {"event": "update", "payload": {"id": str(n)}}


async def _started_reader(mailbox: Mailbox) -> asyncio.Task[list[tuple[str, dict]]]:
    reader = asyncio.create_task(mailbox.take())
    await asyncio.sleep(0)
    return reader


async def test_a_held_event_wakes_the_reader_only_when_every_answer_is_in() -> None:
    mailbox = Mailbox(10, lambda: None)
    reader = await _started_reader(mailbox)
    mailbox.hold()  # its visibility answer...
    mailbox.hold()  # ...and its recipient's filter rules are being fetched
    mailbox.offer("public", _event(1))
    await asyncio.sleep(0.01)
    assert not reader.done()
    mailbox.release()
    await asyncio.sleep(0.01)
    assert not reader.done()  # the rules are still being fetched
    mailbox.release()
    assert await asyncio.wait_for(reader, 1) == [("public", _event(1))]


async def test_an_event_needing_no_answer_wakes_the_reader_at_once() -> None:
    mailbox = Mailbox(10, lambda: None)
    reader = await _started_reader(mailbox)
    mailbox.offer("public", {"event": "delete", "payload": "1"})
    assert await asyncio.wait_for(reader, 1) == [("public", {"event": "delete", "payload": "1"})]


async def test_events_behind_a_held_one_keep_their_order() -> None:
    mailbox = Mailbox(10, lambda: None)
    reader = await _started_reader(mailbox)
    mailbox.hold()
    mailbox.offer("public", _event(1))
    mailbox.offer("public", {"event": "delete", "payload": "1"})
    await asyncio.sleep(0.01)
    assert not reader.done()  # the delete waits its turn behind the held update
    mailbox.release()
    batch = await asyncio.wait_for(reader, 1)
    assert [event["event"] for _, event in batch] == ["update", "delete"]


async def test_a_backlog_wakes_the_reader_even_while_answers_are_outstanding() -> None:
    mailbox = Mailbox(1000, lambda: None)
    reader = await _started_reader(mailbox)
    mailbox.hold()
    for n in range(_EAGER_BACKLOG - 1):
        mailbox.offer("public", _event(n))
    await asyncio.sleep(0.01)
    assert not reader.done()
    mailbox.offer("public", _event(_EAGER_BACKLOG))
    batch = await asyncio.wait_for(reader, 1)
    assert len(batch) == _EAGER_BACKLOG
    # A release with nothing left to read wakes nobody, and the next event still arrives.
    mailbox.release()
    assert mailbox.held == 0
    reader = await _started_reader(mailbox)
    mailbox.offer("public", _event(99))
    assert await asyncio.wait_for(reader, 1) == [("public", _event(99))]


async def test_overflow_drops_the_backlog_and_tells_the_owner_once() -> None:
    overflows: list[bool] = []
    mailbox = Mailbox(2, lambda: overflows.append(True))
    for n in range(5):
        mailbox.offer("public", _event(n))
    assert mailbox.overflowed
    assert overflows == [True]
