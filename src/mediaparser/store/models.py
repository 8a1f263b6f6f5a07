"""SQLAlchemy models: the only schema. Migrations live in `migrations/`.

Times are stored as naive UTC datetimes (`utcnow()`): SQLite has no time-zone
type and PostgreSQL's `timestamp without time zone` then behaves the same.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from mediaparser.media.tags import tag_key
from mediaparser.store.db import db

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


class ChunkStatus:
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"


class ChunkKind:
    WORK = "work"  # a range of the job's items, processed by whichever worker takes it
    FINAL = "final"  # the step that needs every item (an import's duplicate grouping), run once at the end


class JobChunk(db.Model):
    """One piece of a chunked job (runtime/chunks.py): its own lease, heartbeat and fenced commit.

    A WORK chunk covers the job's items with first_id <= id <= last_id (files of an import);
    the FINAL chunk (one per job, seq = number of work chunks) becomes claimable once every
    work chunk is DONE. `committed_by` is the lease owner whose commit finished the chunk.
    """

    __tablename__ = "job_chunks"
    __table_args__ = (
        UniqueConstraint("job_id", "seq", name="uq_job_chunks_job_seq"),
        Index("ix_job_chunks_status", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default=ChunkKind.WORK)
    first_id: Mapped[int | None] = mapped_column(Integer)
    last_id: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=ChunkStatus.PENDING)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    done_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    committed_by: Mapped[str | None] = mapped_column(String(128))
    # Not claimable before this time (a chunk that raised waits retry_delay); NULL: at once.
    available_at: Mapped[datetime | None] = mapped_column(DateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_MESSAGE_MAX))


class MediaFile(db.Model):
    """One row per file of an import, created when the source is enumerated."""

    __tablename__ = "media_files"
    __table_args__ = (
        UniqueConstraint("job_id", "source_path", name="uq_media_files_job_path"),
        Index("ix_media_files_job_status", "job_id", "status"),
        Index("ix_media_files_captured", "captured_at", "id"),
        Index("ix_media_files_confidence", "confidence"),
        Index("ix_media_files_path", "source_path", "size"),
        # The review grid (0003): keyset paging by capture time with every
        # filter column in the index, so filtered pages, counts and the month
        # histogram read the index alone; and paging by name and by size.
        Index("ix_media_files_grid_time", "captured_at", "id", "status", "confidence", "review_state", "kind",
              "job_id", "group_id", "model"),
        # Counts per review state (library.queries.summary): a seek on
        # (review_state, confidence), a range of capture times, the other
        # filter columns read from the index.
        Index("ix_media_files_review_time", "review_state", "confidence", "captured_at", "status", "kind",
              "job_id", "model", "group_id"),
        # One camera (0014): the review index's cells within one model, so a camera's pages,
        # day counts and histogram seek to its files instead of testing every file's model.
        Index("ix_media_files_camera_time", "model", "review_state", "confidence", "captured_at", "id", "status",
              "kind", "job_id", "group_id"),
        Index("ix_media_files_rel_path", "rel_path", "id"),
        Index("ix_media_files_size", "size", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    source_path: Mapped[str] = mapped_column(Text, nullable=False)
    rel_path: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=FileStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)  # why it failed, in plain words (media/errors.py)
    error_detail: Mapped[str | None] = mapped_column(Text)  # the technical detail behind it (0009; NULL before)
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

    # --- review (usecases.review; migration 0003) --------------------------
    # NULL: no person has looked at the capture time yet; ReviewState.REVIEWED:
    # a person confirmed or set it. Whether an unreviewed file *needs* review
    # follows from its confidence (see library.filters.needs_review_clause).
    review_state: Mapped[str | None] = mapped_column(String(16))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What the person did, in words ("Typed 2019-08-12 14:30", "Shifted by +1 h 12 min").
    review_note: Mapped[str | None] = mapped_column(Text)
    # Hook for duplicate/similar groups (issue 4): the group this file belongs
    # to, NULL when it is in none. The review grid's "in a group" filter reads it.
    # usecases.duplicates sets it to the file's exact group (byte-identical
    # copies) and `similar_group_id` to its near-duplicate group.
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)

    # --- duplicates (usecases.duplicates; migration 0004) -------------------
    # pHash/dHash of the oriented thumbnail turned 90° and 180°, so copies whose
    # pixels were rotated are recognised (media.similarity).
    phash90: Mapped[int | None] = mapped_column(BigInteger)
    dhash90: Mapped[int | None] = mapped_column(BigInteger)
    phash180: Mapped[int | None] = mapped_column(BigInteger)
    dhash180: Mapped[int | None] = mapped_column(BigInteger)
    has_gps: Mapped[bool | None] = mapped_column(Boolean)
    bit_depth: Mapped[int | None] = mapped_column(Integer)
    # (Whether the file has been through duplicate grouping is kept apart, in
    # UngroupedFile: setting a flag here rewrote a million wide rows.)
    similar_group_id: Mapped[int | None] = mapped_column(Integer, index=True)

    # --- stacks (migration 0010) ----------------------------------------------
    # Files that belong together: a Live Photo's still and clip, a RAW and its
    # JPEG, the frames of a burst, an edited copy and its original. stack_id is
    # the lead file's id (its own on the lead), stack_kind one of StackKind,
    # stack_role the member's part (StackRole). The review shows a stack as one
    # tile; the export names its members together.
    stack_id: Mapped[int | None] = mapped_column(Integer, index=True)
    stack_kind: Mapped[str | None] = mapped_column(String(12))
    stack_role: Mapped[str | None] = mapped_column(String(12))
    # Pairing facts read by the analysis: Apple's ContentIdentifier (Live
    # Photo still ↔ clip), a burst's key (BurstUUID or the name's), and where
    # a Motion Photo's appended video starts (NULL when it has none).
    content_id: Mapped[str | None] = mapped_column(String(64), index=True)
    burst_id: Mapped[str | None] = mapped_column(String(64), index=True)
    motion_offset: Mapped[int | None] = mapped_column(BigInteger)

    # --- Google Takeout (migration 0011) --------------------------------------
    # What the file's Takeout JSON and folder say (media/takeout.py
    # `takeout_facts`), and the one flag the review filters by: 'locked',
    # 'trash' or 'archive'.
    takeout: Mapped[dict | None] = mapped_column(JSON)
    takeout_flag: Mapped[str | None] = mapped_column(String(12), index=True)

    # --- source identity (usecases.source_access; migration 0007) -----------
    # The device and inode the import saw for this path (signed 64-bit, see
    # to_signed64). A source is read or served only while it is still that
    # file: one swapped for a link or another file after the import is not.
    dev: Mapped[int | None] = mapped_column(BigInteger)
    inode: Mapped[int | None] = mapped_column(BigInteger)


# The catalogue's counts (migration 0012; library.counts reads them): how many
# analysed files share each (month, review state, confidence, kind, status),
# so the review's month histogram and state counts add up a few
# thousand rows instead of counting a million. Database triggers on
# media_files append every change to `file_count_changes` (+1 for a file's new
# key, -1 for its old one) in the writer's own transaction, whichever code
# writes; library.counts.fold moves them into `file_counts` now and then.
# Absent values are stored as '' (a key column is never NULL): month is
# "YYYY-MM" of the capture time, '' for files without one. PENDING files
# (found, not analysed yet) are not counted: the grid does not show them.
# A migration that rebuilds media_files on SQLite (batch "move and copy")
# drops its triggers: it must create them again (see 0012).


class FileCount(db.Model):
    __tablename__ = "file_counts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    review_state: Mapped[str] = mapped_column(String(16), primary_key=True)
    confidence: Mapped[str] = mapped_column(String(8), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)


class FileCountChange(db.Model):
    __tablename__ = "file_count_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), nullable=False)
    review_state: Mapped[str] = mapped_column(String(16), nullable=False)
    confidence: Mapped[str] = mapped_column(String(8), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class HashBlock(db.Model):
    """The grouping columns of the grouped files of one block of file ids, packed (library.hash_blocks).

    Triggers (migration 0015) delete a block when a grouped file in it changes or goes; `token`
    marks a block a regrouping means to write back (it writes only where its token still is).
    """

    __tablename__ = "hash_blocks"

    block: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    files: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    token: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The largest file id in `data` (NULL: none): a file that gets an UngroupedFile row drops the
    # block only at or below it, so new files (ids only grow) leave their block's data alone (0016).
    last_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class UngroupedFile(db.Model):
    """A file that has not been through duplicate grouping yet: the next regrouping compares
    exactly these files against the library, and deletes their rows (library.hash_blocks).

    A trigger gives every file inserted into media_files its row here (migration 0016), whichever
    code inserts it; a narrow row per file, so grouping a million files rewrites no wide row.
    """

    __tablename__ = "ungrouped_files"

    file_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


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


class StackKind:
    LIVE = "live"  # a Live Photo: still + clip
    RAW_JPEG = "raw_jpeg"  # a RAW and the camera's JPEG of the same shot
    BURST = "burst"  # the frames of one burst
    EDITED = "edited"  # an original and its edited copy


class StackRole:
    STILL = "still"
    CLIP = "clip"
    RAW = "raw"
    JPEG = "jpeg"
    COVER = "cover"
    FRAME = "frame"
    ORIGINAL = "original"
    EDITED = "edited"


class ReviewState:
    REVIEWED = "reviewed"


class ReviewBatch(db.Model):
    """One person's action on one or many files: the unit of undo.

    `action` is confirm / clear / set_date / shift / pick / undo; an undo is a
    batch of its own (`undoes` names the batch it reverted), so the history
    is never rewritten and an undo can itself be undone.
    """

    __tablename__ = "review_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    file_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)
    undone_by: Mapped[int | None] = mapped_column(Integer)
    undoes: Mapped[int | None] = mapped_column(Integer)


class ReviewDecision(db.Model):
    """What one batch did to one file: the review fields before and after."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        Index("ix_review_decisions_file", "file_id", "id"),
        Index("ix_review_decisions_batch", "batch_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("review_batches.id", ondelete="CASCADE"), nullable=False)
    file_id: Mapped[int] = mapped_column(ForeignKey("media_files.id", ondelete="CASCADE"), nullable=False)
    before: Mapped[dict] = mapped_column(JSON, nullable=False)
    after: Mapped[dict] = mapped_column(JSON, nullable=False)


class HistoryItem(db.Model):
    """What one batch did to one thing other than a capture time (usecases/history.py).

    `kind` says which thing: "tag" (tag_id), "link" (a file's tag: file_id,
    tag_id), "member" (a file's decision in a duplicate group: group_id,
    file_id), "group" (group_id) or "choice" (a file's machine-chosen capture
    time and candidates: file_id). `before` and `after` are its state (None:
    the row did not exist / no longer exists). `unit` names what an undo puts
    back together or not at all ("file:12", "group:3", "batch", "tags").
    The ids are plain numbers, not foreign keys: the history outlives the rows.
    """

    __tablename__ = "history_items"
    __table_args__ = (Index("ix_history_items_batch", "batch_id", "id"),
                      Index("ix_history_items_file", "file_id", "batch_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("review_batches.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    unit: Mapped[str] = mapped_column(String(32), nullable=False)
    file_id: Mapped[int | None] = mapped_column(Integer)
    tag_id: Mapped[int | None] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class UploadStatus:
    OPEN = "open"  # receiving files
    STARTING = "starting"  # the import job is being created
    IMPORTED = "imported"  # an import job runs over the uploaded folder
    DISCARDED = "discarded"


class Upload(db.Model):
    """A batch of files sent from a browser; becomes one import job.

    The id is a random token chosen by the server; with a file's relative
    path, size and modification time it makes every upload request
    idempotent (usecases.uploads).
    """

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=UploadStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    file_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    declared_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class UploadFile(db.Model):
    __tablename__ = "upload_files"
    __table_args__ = (
        UniqueConstraint("upload_id", "client_path", "size", "last_modified", name="uq_upload_files_key"),
        UniqueConstraint("upload_id", "stored_path", name="uq_upload_files_stored"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), nullable=False)
    client_path: Mapped[str] = mapped_column(Text, nullable=False)  # cleaned relative path as sent
    stored_path: Mapped[str] = mapped_column(Text, nullable=False)  # relative path on disk (renamed on clash)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_modified: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)  # ms since epoch
    complete: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class AppSetting(db.Model):
    """Settings edited in the web UI that the instance config.json cannot hold."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | list | str | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class GroupKind:
    EXACT = "exact"
    SIMILAR = "similar"
    # A burst's frames a person chose among (usecases.stacks.keep_burst_frames): a group whose set-aside
    # members leave the export like set-aside duplicates, never one media.similarity found.
    BURST = "burst"
    DUPLICATES = (EXACT, SIMILAR)  # the groups duplicate grouping owns


class GroupStatus:
    OPEN = "open"  # a person has not decided yet
    RESOLVED = "resolved"


class DupGroup(db.Model):
    """A group of exact or near duplicates (media.similarity), kept in step by usecases.duplicates.

    A group is identified by its kind and representative. A later import
    can make another copy the representative (the best connected one); the
    stored group that shares most members follows it, so a group keeps its
    id (and any decision about it) while later imports add members.
    """

    __tablename__ = "dup_groups"
    # AUTOINCREMENT on SQLite (0008), as on PostgreSQL: an id is never given to a second row, so the
    # history (usecases/history.py) can tell a group, a tag or a file's tag by its id.
    __table_args__ = (UniqueConstraint("kind", "representative_id", name="uq_dup_groups_kind_rep"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    representative_id: Mapped[int] = mapped_column(ForeignKey("media_files.id", ondelete="CASCADE"), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    confidence_label: Mapped[str] = mapped_column(String(8), nullable=False, default="high")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=GroupStatus.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class DupMember(db.Model):
    __tablename__ = "dup_members"
    __table_args__ = (
        UniqueConstraint("group_id", "file_id", name="uq_dup_members_group_file"),
        Index("ix_dup_members_file", "file_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("dup_groups.id", ondelete="CASCADE"), nullable=False)
    file_id: Mapped[int] = mapped_column(ForeignKey("media_files.id", ondelete="CASCADE"), nullable=False)
    distance: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # pHash + dHash to the representative
    phash_distance: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    dhash_distance: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rotation: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # degrees relative to the representative
    decision: Mapped[str | None] = mapped_column(String(16))  # None, "keep" or "discard" (a person's click)


class ManifestEntry(db.Model):
    """One verified file in the archive: written by the export, read by duplicate detection.

    Mirrors `manifest.jsonl` in the output folder, so a later import knows
    which files are already archived (by SHA-256).
    """

    __tablename__ = "manifest_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("media_files.id", ondelete="SET NULL"))
    export_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    source_path: Mapped[str] = mapped_column(Text, nullable=False)
    output_root: Mapped[str] = mapped_column(Text, nullable=False)
    destination: Mapped[str] = mapped_column(Text, nullable=False)  # relative to output_root
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    # The archive file's own hash: differs from `sha256` (the source's) once
    # the export wrote the corrected date and tags into the copy (0006).
    final_sha256: Mapped[str | None] = mapped_column(String(64))
    captured_at: Mapped[datetime | None] = mapped_column(DateTime)
    utc_offset: Mapped[int | None] = mapped_column(Integer)
    time_source: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list | None] = mapped_column(JSON)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    exported_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class Tag(db.Model):
    """A tag: its name as first typed or found (trimmed, case kept), unique by its case-folded key."""

    __tablename__ = "tags"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (see DupGroup)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    # media.tags.tag_key(name): "Holiday 2019" and "holiday 2019" are one tag (0009).
    key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True,
                                     default=lambda ctx: tag_key(ctx.get_current_parameters()["name"]))


class FileTag(db.Model):
    __tablename__ = "file_tags"
    __table_args__ = (
        UniqueConstraint("file_id", "tag_id", name="uq_file_tags_file_tag"),
        Index("ix_file_tags_tag", "tag_id", "file_id"),
        {"sqlite_autoincrement": True},  # ids are never reused (see DupGroup)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("media_files.id", ondelete="CASCADE"), nullable=False)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), nullable=False)
    # Where the tag came from: "folder", "filename", "user" or "carried" (from a discarded duplicate).
    origin: Mapped[str] = mapped_column(String(16), nullable=False, default="user")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class ExportItemStatus:
    PENDING = "PENDING"
    DONE = "DONE"  # copied, verified and renamed into place
    PRESENT = "PRESENT"  # identical content already at the destination: not copied twice
    SKIPPED = "SKIPPED"  # not exported, with the reason (set aside, failed analysis)
    FAILED = "FAILED"  # this file could not be exported (the error says why); the export goes on


class ExportItem(db.Model):
    """One file of an export job: where it goes and what happened (usecases/export/).

    The plan is stored as these rows when the export job starts, so a
    restarted job (pause, crash, kill -9, disk full) resumes with the same
    destinations and processes only the PENDING rows.
    """

    __tablename__ = "export_items"
    __table_args__ = (
        UniqueConstraint("job_id", "file_id", name="uq_export_items_job_file"),
        Index("ix_export_items_job_status", "job_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    file_id: Mapped[int] = mapped_column(ForeignKey("media_files.id", ondelete="CASCADE"), nullable=False)
    destination: Mapped[str | None] = mapped_column(Text)  # relative to the output folder
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=ExportItemStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(Text)  # why skipped / what failed
    final_sha256: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
