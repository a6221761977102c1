"""Rasa's conversation-changing API requests run to the end once begun (bot/rasa_server.py):
Sanic cancels a handler whose caller hangs up, and Rasa's tracker/events delivers a bot
message before it saves the tracker (the kill -9 test, tests/integration/test_desk_restart.py,
proves the whole of it over the real processes)."""
import asyncio

import pytest

from bot.rasa_server import run_to_the_end


def test_a_request_whose_caller_hangs_up_still_finishes():
    async def scenario():
        delivered, saved = asyncio.Event(), asyncio.Event()

        async def append_events(request):
            delivered.set()  # the customer has the message...
            await asyncio.sleep(0.01)
            saved.set()  # ...and the tracker records it
            return "ok"

        handling = asyncio.ensure_future(run_to_the_end(append_events)("request"))
        await delivered.wait()
        handling.cancel()  # what Sanic does when the connection drops
        with pytest.raises(asyncio.CancelledError):
            await handling
        await asyncio.wait_for(saved.wait(), 5)

    asyncio.run(scenario())


def test_without_it_the_save_is_lost():
    """The defect itself: a cancelled handler stops between delivering and saving."""
    async def scenario():
        delivered, saved = asyncio.Event(), asyncio.Event()

        async def append_events(request):
            delivered.set()
            await asyncio.sleep(0.01)
            saved.set()

        handling = asyncio.ensure_future(append_events("request"))
        await delivered.wait()
        handling.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handling
        assert not saved.is_set()

    asyncio.run(scenario())
