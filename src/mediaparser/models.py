"""SQLAlchemy models: the only schema. Migrations live in `migrations/`.

Times are stored as naive UTC datetimes (`utcnow()`): SQLite has no time-zone
type and PostgreSQL's `timestamp without time zone` then behaves the same.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from .db import db

ERROR_MESSAGE_MAX = 500


def to_signed64(h: int | None) -> int | None:
    """Unsigned 64-bit hash → the signed value a BIGINT column can hold."""
    return None if h is None else (h - (1 << 64) if h >= (1 << 63) else h)


def to_unsigned64(v: int | None) -> int | None:
    return None if v is None else v & 0xFFFFFFFFFFFFFFFF


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class JobStatus:
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    FINISHED = (COMPLETED, FAILED, CANCELLED)
    ALL = (PENDING, RUNNING, PAUSED, COMPLETED, FAILED, CANCELLED)


class JobType:
    IMPORT = "import"
    EXPORT = "export"
    ALL = (IMPORT, EXPORT)


class FileStatus:
    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


class Job(db.Model):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_type: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=JobStatus.PENDING, index=True)
    options: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    progress_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress_current: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Non-media entries found while enumerating, by reason: {reason: {"count": n, "examples": [...]}}
    skipped: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    current_item: Mapped[str | None] = mapped_column(Text)
    enumerated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Time spent RUNNING, summed over runs; with progress it gives a rate that
    # ignores pauses and restarts.
    run_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    run_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    run_progress_start: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_message: Mapped[str | None] = mapped_column(String(ERROR_MESSAGE_MAX))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    task_id: Mapped[str | None] = mapped_column(String(64))
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def source_path(self) -> str | None:
        return (self.options or {}).get("path")


class MediaFile(db.Model):
    """One row per file of an import, created when the source is enumerated."""

    __tablename__ = "media_files"
    __table_args__ = (
        UniqueConstraint("job_id", "source_path", name="uq_media_files_job_path"),
        Index("ix_media_files_job_status", "job_id", "status"),
        Index("ix_media_files_captured", "captured_at", "id"),
        Index("ix_media_files_confidence", "confidence"),
        Index("ix_media_files_path", "source_path", "size"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    source_path: Mapped[str] = mapped_column(Text, nullable=False)
    rel_path: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=FileStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    file_type: Mapped[str | None] = mapped_column(String(16))
    mime: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)

    # --- analysis (media.analyze.AnalysisResult) --------------------------
    kind: Mapped[str | None] = mapped_column(String(8))  # image / video / other
    extension: Mapped[str | None] = mapped_column(String(16))  # corrected, lower case
    extension_ok: Mapped[bool | None] = mapped_column(Boolean)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    make: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    orientation: Mapped[int | None] = mapped_column(Integer)
    # Local wall-clock capture time (naive) and its UTC offset in minutes.
    captured_at: Mapped[datetime | None] = mapped_column(DateTime)
    utc_offset: Mapped[int | None] = mapped_column(Integer)
    offset_assumed: Mapped[bool | None] = mapped_column(Boolean)
    precision: Mapped[str | None] = mapped_column(String(8))
    time_source: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[str | None] = mapped_column(String(8))
    reasons: Mapped[list | None] = mapped_column(JSON)
    candidates: Mapped[list | None] = mapped_column(JSON)
    # 64-bit perceptual hashes stored as signed BIGINT (two's complement).
    phash: Mapped[int | None] = mapped_column(BigInteger)
    dhash: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[float | None] = mapped_column(Float)
    low_detail: Mapped[bool | None] = mapped_column(Boolean)
    thumbnail: Mapped[str | None] = mapped_column(Text)
    sidecars: Mapped[list | None] = mapped_column(JSON)
    warnings: Mapped[list | None] = mapped_column(JSON)


class WorkerBeat(db.Model):
    """A row per running worker process, refreshed every few seconds.

    `/api/health` and the UI's "no worker" banner read it: a worker is alive
    when its beat is recent.
    """

    __tablename__ = "worker_beats"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
