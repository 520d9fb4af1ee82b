"""The process's Prometheus metrics: what happened to updates, how MongoDB and the Bot API
answered, and how busy the MongoDB executor is.

Labels hold kinds, names and outcomes only: never a user id, a name or a message text.
Each container has a registry of its own (not the global one), so tests and benches that
build several bots count separately.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from infrastructure.mongo_executor import MongoExecutor
from presentation.telegram.middlewares.storage_admission import StorageAdmission
from presentation.telegram.middlewares.update_log import UpdateRecord

LEASES = ("conversation", "poller")
"""The `lease` label's values of `profilebot_leases_lost_total`."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            "profilebot_updates",
            "Updates by type and outcome: ok, ignored (not served), duplicate (dropped),"
            " throttled (flood control), refused (the Bot API refused the reply for good: the"
            " user blocked the bot; the step is recorded, not tried again), error:<exception>.",
            ["type", "outcome"],
            registry=r,
        )
        self.update_seconds = Histogram(
            "profilebot_update_duration_seconds",
            "Time from an update's arrival to the end of its handling, replies included.",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.mongo_seconds = Histogram(
            "profilebot_mongo_command_duration_seconds",
            "MongoDB commands by name and outcome (ok or failed), as the driver timed them.",
            ["command", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.executor_busy = Gauge(
            "profilebot_mongo_executor_threads_busy",
            "Executor threads running a MongoDB call.",
            registry=r,
        )
        self.executor_queued = Gauge(
            "profilebot_mongo_executor_calls_queued",
            "MongoDB calls waiting for an executor thread.",
            registry=r,
        )
        self.updates_waiting = Gauge(
            "profilebot_updates_waiting_for_storage",
            "Updates waiting at the door for one of MONGO_EXECUTOR_THREADS places to do their"
            " storage work (a burst larger than the executor queues here).",
            registry=r,
        )
        self.telegram_requests = Counter(
            "profilebot_telegram_requests",
            "Bot API requests (each attempt) by method and outcome: ok, or the error kind.",
            ["method", "status"],
            registry=r,
        )
        self.lock_wait_seconds = Histogram(
            "profilebot_lock_wait_seconds",
            "Waits for a user's conversation lease held by another update (another process's"
            " or this one's), from the first try to acquiring it or giving up.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.lock_timeouts = Counter(
            "profilebot_lock_timeouts",
            "Updates that gave up waiting for their user's conversation lease (answered with"
            " an error status, so that Telegram delivers them again).",
            registry=r,
        )
        self.leases_lost = Counter(
            "profilebot_leases_lost",
            "Leases this process held and lost before it let them go: conversation (a"
            " handler stopped before its lease could run out) or poller (polling stopped).",
            ["lease"],
            registry=r,
        )
        for lease in LEASES:  # from 0, so that the first loss is an increase
            self.leases_lost.labels(lease)
        self.poller_active: Gauge | None = None
        """Registered by the first `set_poller_active`: only a polling process has it, so
        that a deployment's sum says whether any of its pollers polls."""
        self.ready = Gauge(
            "profilebot_ready",
            "1 while /health/ready would answer 200 (MongoDB answered a ping within the"
            " operation timeout, and the process is not draining), else 0, as the last"
            " check found it (each scrape starts the next); NaN before the first.",
            registry=r,
        )
        self.ready.set(float("nan"))
        self.telegram_pending_updates = Gauge(
            "profilebot_telegram_pending_updates",
            "Updates Telegram holds for the bot, not yet delivered (getWebhookInfo's"
            " pending_update_count, asked every half minute while serving).",
            registry=r,
        )

    def observe_lock_wait(self, seconds: float) -> None:
        """A conversation lease that was held elsewhere when first asked for."""
        self.lock_wait_seconds.observe(seconds)

    def count_lock_timeout(self) -> None:
        self.lock_timeouts.inc()

    def count_lease_lost(self, lease: str) -> None:
        self.leases_lost.labels(lease).inc()

    def set_poller_active(self, active: bool) -> None:
        if self.poller_active is None:
            self.poller_active = Gauge(
                "profilebot_poller_active",
                "1 while this process holds the poller lease and polls, 0 while it waits on"
                " standby (only polling processes have it).",
                registry=self.registry,
            )
        self.poller_active.set(1 if active else 0)

    def set_ready(self, ready: bool) -> None:
        self.ready.set(1 if ready else 0)

    def set_telegram_pending_updates(self, count: int) -> None:
        self.telegram_pending_updates.set(count)

    def observe_update(self, record: UpdateRecord) -> None:
        self.updates.labels(record.kind, record.outcome).inc()
        self.update_seconds.labels(record.kind).observe(record.seconds)

    def observe_mongo_command(self, command: str, seconds: float, succeeded: bool) -> None:
        self.mongo_seconds.labels(command, "ok" if succeeded else "failed").observe(seconds)

    def observe_telegram_request(self, method: str, status: str) -> None:
        self.telegram_requests.labels(method, status).inc()

    def watch_executor(self, executor: MongoExecutor) -> None:
        self.executor_busy.set_function(lambda: executor.busy)
        self.executor_queued.set_function(lambda: executor.queued)

    def watch_admission(self, admission: StorageAdmission) -> None:
        self.updates_waiting.set_function(lambda: admission.waiting)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
