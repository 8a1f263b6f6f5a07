"""What the web and the CLI ask of the job engine besides `tasks.submit`:
pause / resume / cancel a job, and the engine's health.

Use cases only create and read job rows; moving a job through its states and
putting it back in the queue is the runtime's business, so these live here
(web and CLI may call the runtime; a use case may not).
"""
from __future__ import annotations

from typing import Any

from mediaparser.runtime import lifecycle
from mediaparser.runtime.queue import huey
from mediaparser.runtime.tasks import enqueue_job
from mediaparser.store.models import Job
from mediaparser.usecases import jobs as job_service

ACTIONS = ("pause", "resume", "cancel")


def control(job_id: int, action: str) -> Job:
    """pause / resume / cancel; raises LookupError or lifecycle.InvalidTransition."""
    if action == "pause":
        return lifecycle.pause(job_id)
    if action == "cancel":
        return lifecycle.cancel(job_id)
    if action == "resume":
        return lifecycle.resume(job_id, enqueue_job)
    raise ValueError(f"unknown action {action!r}")


def health() -> tuple[bool, dict[str, Any]]:
    """Database reachable, queue reachable, and at least one live worker."""
    return job_service.health(queue_size=lambda: huey.storage.queue_size(), live_workers=lifecycle.live_workers)
