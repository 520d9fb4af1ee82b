"""A loopback TCP proxy that delays every chunk by a fixed time in each direction, so a
local MongoDB behaves like a remote cluster (default 20 ms each way). Given a `WireLog`, it
also records every command that passes, with when it was sent and answered."""

import asyncio
import contextlib
import threading
from collections.abc import Callable

from bench.wire_log import WireLog

DRAIN_SECONDS = 10.0


class LatencyProxy:
    """Runs on an event loop in a thread of its own, so the bot's loop cannot slow it."""

    def __init__(
        self, target_port: int, delay_seconds: float = 0.020, log: WireLog | None = None
    ) -> None:
        self._target = target_port
        self._delay = delay_seconds
        self._log = log
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    def __enter__(self) -> "LatencyProxy":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _stop(self) -> None:
        """Stop accepting, give the connections still open `DRAIN_SECONDS` to end, then cut
        what is left. A closed MongoClient may still be finishing a connection it began
        in the background (filling its pool to minPoolSize); cutting that one at once
        makes pymongo print a traceback for a run that went well."""
        if self._server is not None:
            self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if others:
            _, pending = await asyncio.wait(others, timeout=DRAIN_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _connect(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # cancelled when the proxy stops
            try:
                server_r, server_w = await asyncio.open_connection("127.0.0.1", self._target)
            except OSError:  # the server is gone: so is this connection, as a client sees it
                client_w.close()
                return
            sent = answered = None
            if self._log is not None:
                wire = self._log.connection()
                sent, answered = wire.sent, wire.answered
            await asyncio.gather(
                self._pipe(client_r, server_w, sent, 0.0),
                self._pipe(server_r, client_w, answered, self._delay),
            )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        observe: Callable[[bytes, float], None] | None,
        observed_after: float,
    ) -> None:
        """Forward in order, each chunk `delay` after it arrived (a link, not a queue);
        `observe` sees each chunk with its arrival time plus `observed_after`."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await chunks.get()
                if not data:
                    writer.close()
                    return
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(data)
                await writer.drain()

        delivery = asyncio.create_task(deliver())
        try:
            while data := await reader.read(65536):
                arrived = loop.time()
                if observe is not None:
                    observe(data, arrived + observed_after)
                chunks.put_nowait((arrived + self._delay, data))
        except ConnectionError:
            pass
        chunks.put_nowait((0.0, b""))
        await delivery
