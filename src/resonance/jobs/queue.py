"""The queue: huey with the space's job ids as its only messages.

Two modes, chosen by the space's ``queue_url`` (or ``RESONANCE_QUEUE_URL``):

* empty (default): huey's ``SqliteHuey`` in ``<space>/queue.db`` — no server to run;
  ``resonance serve`` starts one worker process on it.
* ``redis://HOST:PORT/DB``: huey's ``RedisHuey`` on a Redis server (Debian's ``redis-server``);
  run ``resonance worker --workers N`` on as many machines as needed.

Messages are JSON (never pickle): a message names the task and carries the space folder and
the job id; everything else about the job is in the space's jobs table.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.registry import Message
from huey.serializer import Serializer

from resonance.domain.errors import InvalidInput
from resonance.services import jobs as jobs_svc
from resonance.services.space import Space

TASK_NAME = "resonance.run_job"
_DATES = ("eta", "expires_resolved")


class JsonSerializer(Serializer):
    """huey messages as JSON: task name, ids and timestamps only (no pickle).

    Refuses anything but a plain message without callbacks, so nothing a queue writer
    controls is ever turned into code.
    """

    def _serialize(self, data: Any) -> bytes:
        if not isinstance(data, Message):
            raise TypeError(f"only task messages go on the resonance queue, not {type(data)}")
        if data.on_complete or data.on_error or data.chord_config:
            raise TypeError("the resonance queue carries no callbacks")
        body = data._asdict()
        for key in _DATES:
            if body[key] is not None:
                body[key] = body[key].isoformat()
        body["args"] = list(body["args"] or ())
        return json.dumps(body).encode()

    def _deserialize(self, data: bytes) -> Message:
        body = json.loads(data)
        if not isinstance(body, dict) or set(body) - set(Message._fields):
            raise ValueError("not a resonance queue message")
        for key in _DATES:
            if body.get(key) is not None:
                body[key] = datetime.fromisoformat(body[key])
        body["args"] = tuple(body.get("args") or ())
        if body.get("on_complete") or body.get("on_error") or body.get("chord_config"):
            raise ValueError("the resonance queue carries no callbacks")
        return Message(**body)


def make_huey(space_root: Path, url: str) -> Huey:
    """The huey instance for a space: SQLite in the space folder, or Redis at ``url``."""
    common: dict[str, Any] = {
        "name": f"resonance-{space_root.name}",
        "results": False,  # results live in the jobs table
        "serializer": JsonSerializer(),
        "utc": True,
    }
    if not url:
        return SqliteHuey(filename=str(space_root / "queue.db"), **common)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(url=url, **common)
    raise InvalidInput(
        "queue_url must be empty (embedded SQLite queue) or redis://HOST:PORT/DB",
        scheme=url.partition("://")[0],
    )


_SPACES: dict[str, Space] = {}
_LOCK = threading.Lock()


def _space(root: str) -> Space:
    """One opened space per worker process and folder."""
    with _LOCK:
        space = _SPACES.get(root)
        if space is None:
            space = _SPACES[root] = Space.open(root)
        return space


def run_job(space_root: str, job_id: str) -> None:
    """The one huey task: run job ``job_id`` of the space at ``space_root``."""
    jobs_svc.run(_space(space_root), job_id)


class JobQueue:
    """The queue of one space: :meth:`enqueue` a job id; workers consume it."""

    def __init__(self, space: Space) -> None:
        self.space_root = space.root
        self.url = space.config.queue_url
        self.huey = make_huey(space.root, self.url)
        self.task = self.huey.task(name=TASK_NAME)(run_job)

    def enqueue(self, job_id: str) -> None:
        """Put ``job_id`` on the queue (a worker will call :func:`run_job`)."""
        self.task(str(self.space_root), job_id)

    def pending(self) -> int:
        """Messages waiting on the queue."""
        return int(self.huey.pending_count())

    def close(self) -> None:
        """Release the queue's connections."""
        self.huey.storage.close()
