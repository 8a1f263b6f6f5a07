"""The Huey instance, configured from Settings.

Huey's task decorator needs an instance at import time, while the storage
(SQLite file or Redis URL) is only known once Settings are loaded. So the
module holds one `Huey` named `mediaparser-tasks` and `configure()` swaps its
storage in place: SqliteHuey's storage in its own file in the instance folder
(never the application database — the two would fight over one write lock),
or Huey's Redis storage for several machines.

Results are off: the application database holds every job's status.
"""
from __future__ import annotations

from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from mediaparser.config import Settings

QUEUE_NAME = "mediaparser-tasks"

huey = Huey(QUEUE_NAME, results=False, utc=True, immediate=False, storage_class=MemoryStorage)

_configured_for: tuple[str, bool] | None = None


def configure(settings: Settings, *, immediate: bool = False) -> Huey:
    """Point the shared Huey instance at the configured queue storage."""
    global _configured_for
    key = (settings.queue_url, immediate)
    if _configured_for == key:
        return huey
    if settings.queue_is_redis:
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": settings.queue_url}
    else:
        path = settings.queue_path
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        huey.storage_class = SqliteStorage
        # Huey's fsync=False would mean synchronous=OFF; leaving it unset keeps
        # SQLite's default, so a power cut cannot lose or corrupt queued tasks.
        huey.storage_kwargs = {"filename": str(path), "timeout": 15}
    huey._immediate = immediate
    huey.storage = huey.create_storage()
    _configured_for = key
    return huey
