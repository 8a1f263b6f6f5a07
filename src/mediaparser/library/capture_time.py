"""The one writer of a file's capture-time fields.

`media.timestamps` decides what a capture time is; this module turns a
decision into the `MediaFile` columns and writes them. Every path that changes
a capture time goes through here:

- the importer: `choice_columns` maps an analysis result (or any
  `timestamps.Decision`) onto the columns of its bulk UPDATE;
- duplicates: `add_evidence` appends candidates carried over from a set-aside
  copy and chooses again — unless a person has decided the time, which no
  machine choice overwrites;
- review: a person's confirm / clear / typed date / shift / picked candidate
  become the values of `DECISION_FIELDS` (`confirmed`, `cleared`, `typed`,
  `shifted`, `picked`), which `snapshot` / `unsnapshot` turn into the JSON a
  `ReviewDecision` keeps for undo, and `write_decisions` writes in bulk.

UTC values become local wall-clock times only through
`timestamps.utc_to_local` (`candidate_local` below uses it for candidates).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping, Protocol, Sequence

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from mediaparser.media.dates import ParsedDate, Precision, format_offset, parse_offset
from mediaparser.media.timestamps import (MIN_YEAR, Candidate, Confidence, choose_capture_time, resolve_zone, utc_to_local,
                                         zone_offset_minutes)
from mediaparser.store.models import MediaFile, ReviewState

# The columns a machine choice writes (media.timestamps.Decision).
CHOICE_FIELDS = ("captured_at", "utc_offset", "offset_assumed", "precision", "time_source", "confidence",
                 "reasons", "candidates")
# The columns a person's decision writes, and what a ReviewDecision records
# before and after (so undo restores exactly these).
DECISION_FIELDS = ("captured_at", "utc_offset", "offset_assumed", "precision", "time_source",
                   "review_state", "reviewed_at", "review_note")


class Choice(Protocol):
    """What `choose_capture_time` answers; `media.analyze.AnalysisResult` carries the same fields."""

    captured_at: datetime | None
    utc_offset: int | None
    offset_assumed: bool
    precision: Precision | None
    source: str | None
    confidence: Confidence
    reasons: list[str]
    candidates: list[Candidate]


# ------------------------------------------------------- machine choices --

def choice_columns(choice: Choice) -> dict[str, Any]:
    """The `CHOICE_FIELDS` values of one machine choice."""
    return {
        "captured_at": choice.captured_at,
        "utc_offset": choice.utc_offset,
        "offset_assumed": choice.offset_assumed,
        "precision": choice.precision.value if choice.precision else None,
        "time_source": choice.source,
        "confidence": choice.confidence.value,
        "reasons": list(choice.reasons),
        "candidates": [c.to_dict() for c in choice.candidates],
    }


def add_evidence(row: MediaFile, added: Sequence[Mapping[str, Any]], zone: str, note: str) -> bool:
    """Append candidates (as stored dicts) to `row` and choose its time again.

    A time a person has reviewed stays as they left it: the new evidence is
    kept for the examination view only. `note` is added to the reasons.
    Returns whether the time was chosen again.
    """
    row.candidates = list(row.candidates or []) + [dict(c) for c in added]
    if row.review_state == ReviewState.REVIEWED:
        return False
    values = choice_columns(choose_capture_time([Candidate.from_dict(c) for c in row.candidates], zone))
    # The stored candidates stay as they were read (the decision's copies carry
    # this run's plausibility marks only).
    del values["candidates"]
    values["reasons"].append(note)
    for name, value in values.items():
        setattr(row, name, value)
    return True


# ------------------------------------------------------ a person's decisions --

def confirmed(now: datetime) -> dict[str, Any]:
    """A person says the time is right as it is."""
    return {"review_state": ReviewState.REVIEWED, "reviewed_at": now}


def cleared() -> dict[str, Any]:
    """Back to "not reviewed" (the machine's time stays)."""
    return {"review_state": None, "reviewed_at": None}


def typed(parsed: ParsedDate, now: datetime, note: str) -> dict[str, Any]:
    """A date a person typed; its offset only replaces the file's when one was typed."""
    new = dict(confirmed(now), captured_at=parsed.value, precision=parsed.precision.value, time_source="person",
               review_note=note)
    if parsed.utc_offset is not None:
        new.update(utc_offset=parsed.utc_offset, offset_assumed=False)
    return new


def shifted(captured_at: datetime | None, seconds: int, now: datetime, note: str) -> dict[str, Any] | None:
    """The time moved by `seconds`; None when there is no time or it would leave the plausible years."""
    if captured_at is None:
        return None
    moved = captured_at + timedelta(seconds=seconds)
    if moved.year < MIN_YEAR or moved.year > now.year + 1:
        return None
    return dict(confirmed(now), captured_at=moved, review_note=note)


def candidate_local(c: Mapping[str, Any], file_offset: int | None,
                    zone: str) -> tuple[datetime | None, int | None, str | None]:
    """The local wall-clock time a stored candidate stands for: (local, offset used, note).

    A local candidate is its own wall clock (offset None). A UTC one is shown
    with its own offset, else the file's, else the default zone's at that
    instant.
    """
    if not c.get("value"):
        return None, None, None
    value = datetime.fromisoformat(c["value"])
    offset = parse_offset(c.get("utc_offset"))
    if c.get("basis") != "utc":
        return value, None, None
    if offset is None and file_offset is not None:
        offset, note = file_offset, f"UTC value shown with this file's offset {format_offset(file_offset)}"
    elif offset is None:
        offset = zone_offset_minutes(resolve_zone(zone), value)
        note = f"UTC value shown in the default time zone {zone} ({format_offset(offset)})"
    else:
        note = f"UTC value shown with offset {format_offset(offset)}"
    return utc_to_local(value, offset), offset, note


def picked(c: Mapping[str, Any], row: MediaFile, zone: str, now: datetime) -> dict[str, Any] | None:
    """A candidate a person picked (without review_note); None when it has no usable date."""
    local, used, _note = candidate_local(c, row.utc_offset, zone)
    if local is None:
        return None
    offset = parse_offset(c.get("utc_offset"))
    assumed = False
    if c.get("basis") == "utc" and offset is None:
        # Shown with the file's offset or the default zone's: only as sure as that offset.
        offset = used
        assumed = row.utc_offset is None or bool(row.offset_assumed)
    return dict(confirmed(now), captured_at=local, utc_offset=offset, offset_assumed=assumed,
                precision=c.get("precision") or "second", time_source=c.get("source"))


def snapshot(row: Any) -> dict[str, Any]:
    """`DECISION_FIELDS` of a row as JSON values (what a ReviewDecision stores)."""
    out = {}
    for name in DECISION_FIELDS:
        v = getattr(row, name)
        out[name] = v.isoformat() if isinstance(v, datetime) else v
    return out


def unsnapshot(snap: Mapping[str, Any]) -> dict[str, Any]:
    """Column values back from a `snapshot`."""
    out = {}
    for name in DECISION_FIELDS:
        v = snap.get(name)
        if name in ("captured_at", "reviewed_at") and v is not None:
            v = datetime.fromisoformat(v)
        out[name] = v
    return out


_UPDATE = (update(MediaFile.__table__).where(MediaFile.__table__.c.id == bindparam("_id"))
           .values({c: bindparam(c) for c in DECISION_FIELDS}))


def write_decisions(s: Session, updates: list[dict[str, Any]]) -> None:
    """Write `DECISION_FIELDS` for many files at once: each dict is `_id` plus `unsnapshot` values."""
    s.connection().execute(_UPDATE, updates)
