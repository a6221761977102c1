"""The customers of `make bench-load`: asyncio socket.io clients speaking Rasa's protocol.

Runs in its own virtual environment (.venv-client, bench/requirements-client.lock): python-socketio's
asyncio client needs a newer aiohttp than Rasa 3.6 allows in the project's environment. It imports
nothing of the project; bench/load.py starts it with a JSON job on the command line and reads the
results as JSON from its last line of output.

Job: {"url", "persistent", "script": [[kind, text or [texts]], ...], "customers", "idle", "think"}.
"think" (optional): [shortest, longest] seconds a customer takes to read a reply and type the next
message, drawn uniformly per step from a seeded generator; each customer also starts at a random
moment within the longest think, as people do not all arrive in the same instant. Without it,
customers send as fast as replies come (a saturation test).
With "idle" > 0 it first connects that many silent customers, prints "idle-connected", and waits
for a line on standard input before the active customers start (the caller measures memory then).
"""
from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import socketio

REPLY_DEADLINE = 60.0  # seconds a reply may take before it is counted as lost
QUIET = 1.5  # seconds without a reply that end a message's replies while calibrating

Step = Tuple[str, Union[str, Sequence[str]]]  # (kind, one message or a burst of messages)


@dataclass
class Results:
    latencies: Dict[str, List[float]] = field(default_factory=dict)  # kind -> ms
    burst_gaps: List[float] = field(default_factory=list)  # ms from a burst's first reply to each later one
    lost: int = 0
    sent: int = 0
    seconds: float = 0.0
    disconnected: int = 0  # customers whose connection dropped mid-conversation

    def add(self, kind: str, ms: float) -> None:
        self.latencies.setdefault(kind, []).append(ms)

    def all(self) -> List[float]:
        return [v for vs in self.latencies.values() for v in vs]

    @property
    def throughput(self) -> float:
        """Messages answered per second."""
        return (self.sent - self.lost) / self.seconds if self.seconds else 0.0


class ChatClient:
    """One customer on Rasa's socket.io protocol."""

    def __init__(self, url: str, persistent: bool):
        self.url = url
        self.persistent = persistent
        self.sio = socketio.AsyncClient(reconnection=False)
        self.replies: "asyncio.Queue[float]" = asyncio.Queue()
        self.session_id: Optional[str] = None

    async def connect(self) -> None:
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()

        @self.sio.on("session_confirm")
        async def _confirm(session_id):
            if not confirmed.done():
                confirmed.set_result(session_id)

        @self.sio.on("bot_uttered")
        async def _reply(_message):
            self.replies.put_nowait(time.perf_counter())

        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=REPLY_DEADLINE)
        await self.sio.emit("session_request", {"session_id": None})
        self.session_id = await asyncio.wait_for(confirmed, REPLY_DEADLINE)

    async def say(self, text: str) -> float:
        body = {"message": text}
        if self.persistent:
            body["session_id"] = self.session_id
        sent = time.perf_counter()
        await self.sio.emit("user_uttered", body)
        return sent

    async def next_reply(self, timeout: float = REPLY_DEADLINE) -> float:
        return await asyncio.wait_for(self.replies.get(), timeout)

    async def close(self) -> None:
        await self.sio.disconnect()


async def calibrate(url: str, persistent: bool, script: List[Step]) -> Dict[str, int]:
    """How many replies each message of the script draws, played once by one customer."""
    client = ChatClient(url, persistent)
    await client.connect()
    counts: Dict[str, int] = {}
    try:
        for _kind, texts in script:
            for text in [texts] if isinstance(texts, str) else texts:
                await client.say(text)
                n = 0
                while True:
                    try:
                        await client.next_reply(REPLY_DEADLINE if n == 0 else QUIET)
                        n += 1
                    except asyncio.TimeoutError:
                        break
                counts[text] = n
    finally:
        await client.close()
    if not all(counts.values()):
        raise RuntimeError(f"some messages got no reply while calibrating: {counts}")
    return counts


async def play(client: ChatClient, script: List[Step], counts: Dict[str, int], results: Results,
               think: Optional[Tuple[float, float]] = None, rng: Optional[random.Random] = None) -> None:
    unsent = sum(1 if isinstance(texts, str) else len(texts) for _, texts in script)
    if think:  # customers arrive spread over the first think time, not all in one instant
        await asyncio.sleep(rng.uniform(0, think[1]))
    for step, (kind, texts) in enumerate(script):
        if think and step:  # reading the reply and typing the next message: human pace
            await asyncio.sleep(rng.uniform(*think))
        burst = [texts] if isinstance(texts, str) else list(texts)
        sent_at = []
        try:
            for text in burst:
                sent_at.append(await client.say(text))
                results.sent += 1
                unsent -= 1
        except socketio.exceptions.SocketIOError:  # the connection dropped: what is left is lost
            results.disconnected += 1
            results.sent += unsent
            results.lost += unsent + len(sent_at)
            return
        first_replies = []
        try:
            for i, text in enumerate(burst):
                replies = [await client.next_reply() for _ in range(counts[text])]
                first_replies.append(replies[0])
                results.add(kind, (replies[0] - sent_at[i]) * 1000)
        except asyncio.TimeoutError:
            results.lost += len(burst) - len(first_replies) + unsent
            results.sent += unsent
            return  # the conversation is out of step: stop this customer (the rest counts as lost)
        if len(burst) > 1:
            results.burst_gaps.extend((t - first_replies[0]) * 1000 for t in first_replies[1:])


async def run_customers(url: str, persistent: bool, script: List[Step], counts: Dict[str, int], customers: int,
                        results: Results, think: Optional[Tuple[float, float]] = None) -> None:
    clients = [ChatClient(url, persistent) for _ in range(customers)]
    await asyncio.gather(*(c.connect() for c in clients))
    started = time.perf_counter()
    await asyncio.gather(*(play(c, script, counts, results, think, random.Random(i)) for i, c in enumerate(clients)))
    results.seconds = time.perf_counter() - started
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def connect_idle(url: str, idle: int) -> List[ChatClient]:
    idlers: List[ChatClient] = []
    gate = asyncio.Semaphore(100)  # connections opened at once

    async def open_one() -> None:
        async with gate:
            c = ChatClient(url, True)
            await c.connect()
            idlers.append(c)

    await asyncio.gather(*(open_one() for _ in range(idle)))
    return idlers


async def run(job: dict) -> dict:
    url, persistent, customers = job["url"], job["persistent"], job["customers"]
    script: List[Step] = [(kind, texts if isinstance(texts, str) else tuple(texts)) for kind, texts in job["script"]]
    counts = await calibrate(url, persistent, script)
    idlers: List[ChatClient] = []
    if job.get("idle"):
        idlers = await connect_idle(url, job["idle"])
        print("idle-connected", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    results = Results()
    think = tuple(job["think"]) if job.get("think") else None
    await run_customers(url, persistent, script, counts, customers, results, think)
    await asyncio.gather(*(c.close() for c in idlers), return_exceptions=True)
    return asdict(results)


def main() -> int:
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
