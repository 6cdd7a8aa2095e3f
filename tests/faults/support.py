"""What the fault tests share: queueing outbox messages, `paht worker` processes, polling.

Messages are numbered per citizen (`"<chat id>#<n>"` is the text), so the provider's record
tells which message each delivery was and in which order a citizen got them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import utcnow
from backend.notifications.models import OUTBOX_PENDING, OUTBOX_SENT, OutboxMessage
from bot.messages import Reply
from tests.faults.worker_main import LEASE_ENV

ROOT = Path(__file__).resolve().parents[2]
CHAT_BASE = 7_100_000_000


def queue(factory: sessionmaker[Session], citizens: int, each: int) -> list[str]:
    """`each` messages for each of `citizens` citizens, interleaved; their texts, in order.

    The rows are what `notifications.service.enqueue` writes, added in one go."""
    texts = [f"{CHAT_BASE + c}#{n}" for n in range(each) for c in range(citizens)]
    now = utcnow()
    with factory.begin() as session:
        session.add_all(
            OutboxMessage(
                idempotency_key=f"faults:{text}",
                channel="telegram",
                recipient=text.split("#")[0],
                kind="reply",
                payload=Reply(text=text).model_dump(mode="json"),
                status=OUTBOX_PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for text in texts
        )
    return texts


def expected_by_chat(texts: list[str]) -> dict[str, list[str]]:
    ordered: dict[str, list[str]] = {}
    for text in texts:
        ordered.setdefault(text.split("#")[0], []).append(text)
    return ordered


def count(factory: sessionmaker[Session], status: str) -> int:
    with factory() as session:
        query = select(func.count()).select_from(OutboxMessage)
        return session.scalar(query.where(OutboxMessage.status == status)) or 0


def all_sent(factory: sessionmaker[Session], total: int) -> bool:
    return count(factory, OUTBOX_SENT) == total and count(factory, OUTBOX_PENDING) == 0


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@dataclass(frozen=True)
class WorkerConfig:
    """The PAHT_* settings every worker of a test gets (each may have its own bot token)."""

    database_url: str
    api_base: str
    model_dir: Path
    home: Path  # working directory: var/ (media, NLU corrections) lands here
    lease_seconds: float = 3.0

    def env(self, token: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAHT_")}
        env.update(
            PYTHONPATH=str(ROOT),
            PAHT_CONFIG=str(ROOT / "paht.toml"),
            PAHT_ENV="test",
            PAHT_DATABASE_URL=self.database_url,
            PAHT_PIPELINE="worker",
            PAHT_NLU__MODEL_DIR=str(self.model_dir),
            PAHT_NLU__CORRECTIONS_DIR=str(self.home / "nlu-corrections"),  # none: no retraining
            PAHT_TELEGRAM__BOT_TOKEN=token,
            PAHT_TELEGRAM__SECRET_TOKEN="faults-secret",
            PAHT_TELEGRAM__API_BASE=self.api_base,
            # Telegram's flood limits (30/s, 1/s per chat) would only slow these tests down
            PAHT_OUTBOX__TELEGRAM__PER_SECOND="10000",
            PAHT_OUTBOX__TELEGRAM__PER_RECIPIENT_PER_SECOND="10000",
        )
        env[LEASE_ENV] = str(self.lease_seconds)
        return env


class Worker:
    """One `paht worker` process (see `tests.faults.worker_main`), its log in a file."""

    def __init__(self, config: WorkerConfig, name: str) -> None:
        self.name, self.token = name, f"424242:{name}"  # the provider sees who sent what
        self.log_path = config.home / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.faults.worker_main"],
                cwd=config.home,
                env=config.env(self.token),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def claimer_prefix(self) -> str:
        """How its outbox claims start (`dispatcher.dispatcher_id`: host:pid:token)."""
        return f"{socket.gethostname()[:80]}:{self.proc.pid}:"

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def started(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"worker {self.name} exited early:\n{self.log()[-3000:]}")
        return "worker started" in self.log()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        stop_all([self])


def stop_all(workers: list[Worker]) -> None:
    """SIGTERM to each, then wait for them all (killing any that will not stop)."""
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def start_workers(config: WorkerConfig, *names: str, timeout: float = 60) -> list[Worker]:
    workers = [Worker(config, name) for name in names]
    try:
        wait_until(lambda: all(w.started() for w in workers), timeout, "the workers to start")
    except BaseException:
        stop_all(workers)
        raise
    return workers
