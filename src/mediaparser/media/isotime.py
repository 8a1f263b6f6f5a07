"""How a time leaves the program as text: two spellings, kept apart on purpose.

The database holds two kinds of naive datetime (docs/capture-time.md,
"Stored UTC, shown local"):

- bookkeeping times (a job's start, a heartbeat, a review batch) are UTC;
  `iso_utc` writes them with a trailing "Z" so a reader converts them;
- a capture time is the local wall-clock time where the picture was taken;
  `iso_local` writes it with no zone at all, so nobody shifts it again.

Both give whole seconds and None for no time. This is in the pure layer so
the analysis output and every layer above share the same spelling.
"""
from __future__ import annotations

from datetime import datetime

__all__ = ["iso_local", "iso_utc"]


def iso_utc(dt: datetime | None) -> str | None:
    """A stored (naive) UTC time as ISO 8601 with 'Z', e.g. 2024-05-01T09:30:00Z."""
    return dt.isoformat(timespec="seconds") + "Z" if dt else None


def iso_local(dt: datetime | None) -> str | None:
    """A local wall-clock time as ISO 8601 without a zone, e.g. 2024-05-01T11:30:00."""
    return dt.isoformat(timespec="seconds") if dt else None
