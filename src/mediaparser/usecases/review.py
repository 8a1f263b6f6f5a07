"""Review of capture times: a person's decisions, with their history and undo.

This module owns

- `page` and `file_detail`: the grid page (rows from `library.queries`, with
  their tags) and one file with every candidate and its history.
- decisions (`apply_action`, `undo`): confirm, clear, set a date, shift by an
  offset, pick a candidate. Each action is one `ReviewBatch` with one
  `ReviewDecision` per file holding the review fields before and after, so
  every change says who made it, when and what it replaced, and can be undone
  (usecases/history.py owns the history and undo of every kind of decision).
  The values written come from `library.capture_time`, the one writer of
  capture-time fields.
- `interpret_date`: "type a date" — common spellings are rewritten to the
  project's one date parser (`media.dates.parse_date_string`), which
  decides precision, offset and validity.

Which files an action touches is `library.filters` (`Filter`, `Target`): the
same conditions as the grid, so what a person sees is what an action touches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

from sqlalchemy import select, update

from mediaparser.library import capture_time
from mediaparser.library.filters import FilterError, Filter, Order, Target, review_state_of
from mediaparser.library.queries import day_counts, grid_page, split_path as _split
from mediaparser.media.errors import stored as stored_error
from mediaparser.media.isotime import iso_local, iso_utc
from mediaparser.media.dates import (DateParseError, ParsedDate, Precision, format_offset, parse_date_string,
                                     parse_partial_date)
from mediaparser.media.timestamps import SOURCES, Candidate, check_plausible, describe_delta, source_info
from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import (FileStatus, MediaFile, ReviewBatch, ReviewDecision, ReviewState, StackKind,
                                      StackRole, utcnow)
from mediaparser.usecases.history import ActionResult, Actor, file_decisions as history_file_decisions
from mediaparser.usecases.stacks import stack_members, stack_view, with_members
from mediaparser.usecases.tagging import tags_of

CHUNK = 2000  # files per write transaction of a bulk action
MAX_SHIFT_SECONDS = 200 * 365 * 86400
ACTIONS = ("confirm", "clear", "set_date", "shift", "pick")

# One error type for a refused filter, selection or decision: the web layer
# answers each with a 400 and the message.
ReviewError = FilterError


def page(flt: Filter, order: Order, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """One page of the grid, each file with its tags, and the cursor of the next (None at the end)."""
    p = grid_page(flt, order, cursor, limit)
    tags = tags_of(item["id"] for item in p.files)  # one query for the whole page
    for item in p.files:
        item["tags"] = [t["name"] for t in tags[item["id"]]]
    out = {"files": p.files, "next_cursor": p.next_cursor, "limit": p.limit, "first_cursor": p.first_cursor}
    if order.sort == "time":  # the grid's day headers count every file of the days this page shows
        days = [date.fromisoformat(f["captured_at"][:10]) for f in p.files if f["captured_at"]]
        out["days"] = day_counts(flt, days[0], days[-1]) if days else {}
    return out


# --------------------------------------------------------------- one file --

def file_detail(file_id: int, default_zone: str = "UTC") -> dict[str, Any] | None:
    f = db.session.get(MediaFile, file_id, populate_existing=True)
    if f is None or f.status == FileStatus.PENDING:
        db.session.commit()
        return None
    folder, name = _split(f.rel_path)
    cands = []
    for i, c in enumerate(f.candidates or []):
        info = source_info(c.get("source", ""))
        local, _offset, note = capture_time.candidate_local(c, f.utc_offset, default_zone)
        cands.append({
            "index": i, "source": c.get("source"), "label": info.label, "value": c.get("value"),
            "utc_offset": c.get("utc_offset"), "precision": c.get("precision"), "basis": c.get("basis"),
            "accepted": bool(c.get("accepted")), "reason": c.get("reason"), "raw": c.get("raw"),
            "local": iso_local(local), "local_note": note,
            "chosen": bool(f.time_source == c.get("source") and local is not None and local == f.captured_at),
        })
    history = db.session.execute(
        select(ReviewDecision.before, ReviewDecision.after, ReviewBatch)
        .join(ReviewBatch, ReviewBatch.id == ReviewDecision.batch_id)
        .where(ReviewDecision.file_id == file_id).order_by(ReviewDecision.id.desc()).limit(20)
    ).all()
    out = {
        "id": f.id, "job_id": f.job_id, "name": name, "folder": folder, "rel_path": f.rel_path,
        "size": f.size, "status": f.status, **_error_of(f), "kind": f.kind, "type": f.file_type, "mime": f.mime,
        "extension": f.extension, "width": f.width, "height": f.height, "duration": f.duration,
        "make": f.make, "camera": f.model, "captured_at": iso_local(f.captured_at),
        "utc_offset": format_offset(f.utc_offset), "offset_assumed": bool(f.offset_assumed),
        "precision": f.precision, "time_source": f.time_source,
        "time_source_label": _source_words(f.time_source),
        "confidence": f.confidence or "none", "review": review_state_of(f.review_state, f.confidence),
        # reviewed_at is stored UTC, yet this field has always gone out without the Z.
        "reviewed_at": iso_local(f.reviewed_at), "review_note": f.review_note,
        "reasons": list(f.reasons or []), "warnings": list(f.warnings or []), "sidecars": list(f.sidecars or []),
        "candidates": cands, "thumb": bool(f.thumbnail), "group_id": f.group_id,
        "similar_group_id": f.similar_group_id,
        # What its Google Takeout JSON and folder say (place, flags, album), and the flag the filter uses.
        "takeout": f.takeout, "takeout_flag": f.takeout_flag,
        # A Motion Photo plays its appended video (/files/<id>/motion); a Live Photo's still plays its clip.
        "motion_photo": f.motion_offset is not None, "live_clip": _live_clip_of(f),
        "stack": stack_view(f.id) if f.stack_id is not None else None,
        # Every decision about this file, newest first: its dates, and its tags and duplicate decisions.
        "history": sorted([_history_item(b, before, after) for before, after, b in history]
                          + history_file_decisions(file_id), key=lambda h: -h["batch_id"])[:20],
    }
    db.session.commit()
    return out


def _live_clip_of(f: MediaFile) -> int | None:
    """The id of the clip of the Live Photo whose still `f` is."""
    if f.stack_kind != StackKind.LIVE or f.stack_role != StackRole.STILL or f.stack_id is None:
        return None
    return next((m.id for m in stack_members([f.id]).get(f.stack_id, []) if m.stack_role == StackRole.CLIP), None)


def _error_of(f: MediaFile) -> dict[str, str | None]:
    """A file's error in plain words and its technical detail (media/errors.py)."""
    e = stored_error(f.error, f.error_detail)
    return e.to_dict() if e else {"error": None, "error_detail": None}


def _source_words(source: str | None) -> str | None:
    if source is None:
        return None
    if source == "person":
        return "typed by a person"
    return source_info(source).label if source in SOURCES else source


def _history_item(b: ReviewBatch, before: dict, after: dict) -> dict[str, Any]:
    return {"batch_id": b.id, "action": b.action, "actor": b.actor, "at": iso_utc(b.created_at),
            "summary": b.summary, "before": before, "after": after, "undone": b.undone_at is not None}


# --------------------------------------------------------------- decisions --

def _fmt_local(dt: datetime, precision: str | None = "second") -> str:
    if precision == "year":
        return dt.strftime("%Y")
    if precision == "day":
        return dt.strftime("%Y-%m-%d")
    if precision == "month":
        return dt.strftime("%Y-%m")
    if precision == "year":
        return f"{dt.year:04d}"
    if precision == "decade":
        return f"the {dt.year:04d}s"
    if precision == "minute":
        return dt.strftime("%Y-%m-%d %H:%M")
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def shift_words(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "−"
    return f"{sign}{describe_delta(seconds)}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def apply_action(action: str, target: Target, params: Mapping[str, Any], actor: Actor,
                 default_zone: str = "UTC") -> ActionResult:
    """Run one person's action over the target files; see the module docstring."""
    if action not in ACTIONS:
        raise ReviewError(f"action must be one of {', '.join(ACTIONS)}")
    now = utcnow()
    compute, summary, notes = _planner(action, params, now, default_zone, target)
    ids = target.resolve()
    if not ids:
        raise ReviewError("no files are selected")
    # A stack is reviewed once: a decision about any of its files is a decision about all of them.
    ids = with_members(ids)
    batch_id: int | None = None
    changed = skipped = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        with write_transaction() as s:
            # Read inside the write transaction: nobody changes these rows
            # between what we saw and what we write.
            rows = s.execute(select(MediaFile).where(MediaFile.id.in_(chunk), MediaFile.status != FileStatus.PENDING)
                             .execution_options(populate_existing=True)).scalars().all()
            updates, decisions = [], []
            for row in rows:
                new = compute(row)
                before = capture_time.snapshot(row)
                if new is None:
                    skipped += 1
                    continue
                after = dict(before)
                after.update({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in new.items()})
                if after == before:
                    skipped += 1
                    continue
                updates.append({"_id": row.id, **capture_time.unsnapshot(after)})
                decisions.append({"file_id": row.id, "before": before, "after": after})
            skipped += len(chunk) - len(rows)
            if not updates:
                continue
            if batch_id is None:
                batch = ReviewBatch(action=action, actor=actor.name[:128], remote_addr=actor.remote_addr,
                                    created_at=now, summary=summary, file_count=0)
                s.add(batch)
                s.flush()
                batch_id = batch.id
            _write(s, updates, decisions, batch_id)
            changed += len(updates)
    if batch_id is not None:
        with write_transaction() as s:
            s.execute(update(ReviewBatch).where(ReviewBatch.id == batch_id).values(file_count=changed))
    if skipped and action == "shift":
        notes.append(f"{_plural(skipped, 'file')} without a capture time or unchanged were left as they were.")
    elif skipped and action == "confirm":
        notes.append(f"{_plural(skipped, 'file')} had already been reviewed.")
    elif skipped:
        notes.append(f"{_plural(skipped, 'file')} did not change.")
    return ActionResult(batch_id, changed, skipped, summary, notes)


def _write(s, updates: list[dict], decisions: list[dict], batch_id: int) -> None:
    capture_time.write_decisions(s, updates)
    s.execute(ReviewDecision.__table__.insert(), [{"batch_id": batch_id, **d} for d in decisions])


def _planner(action: str, params: Mapping[str, Any], now: datetime, zone: str, target: Target):
    """(per-row function returning the new review fields or None to skip, summary, notes)."""
    notes: list[str] = []
    if action == "confirm":
        def confirm(row):
            return None if row.review_state == ReviewState.REVIEWED else capture_time.confirmed(now)
        return confirm, "Confirmed the capture time", notes
    if action == "clear":
        def clear(row):
            return None if row.review_state is None else capture_time.cleared()
        return clear, "Marked as not reviewed", notes
    if action == "set_date":
        text = params.get("value")
        if not isinstance(text, str):
            raise ReviewError("value must be the date and time as text, e.g. 2019-08-12 14:30")
        interp = interpret_date(text)
        p = interp.parsed
        words = _fmt_local(p.value, p.precision.value)
        if p.utc_offset is not None:
            words += f" {format_offset(p.utc_offset)}"

        # A partial date keeps what was typed ("summer 1987") in the note: the date keeps what is known.
        typed_as = f" (typed “{' '.join(text.split())}”)" if interp.partial_note else ""
        note = f"Date set by hand to {words}{typed_as}"

        def set_date(row):
            return capture_time.typed(p, now, note)
        return set_date, f"Set the date to {words}{typed_as}", interp.notes
    if action == "shift":
        secs = params.get("seconds")
        if not isinstance(secs, int) or isinstance(secs, bool) or secs == 0 or abs(secs) > MAX_SHIFT_SECONDS:
            raise ReviewError("seconds must be a whole, non-zero number of seconds (negative moves earlier)")
        words = shift_words(secs)

        def shift(row):
            if row.captured_at is None:
                return None
            note = f"Shifted by {words} (was {_fmt_local(row.captured_at, row.precision)})"
            return capture_time.shifted(row.captured_at, secs, now, note)
        return shift, f"Shifted the time by {words}", notes
    # pick
    if target.filter is not None or len(target.ids) != 1:
        raise ReviewError("pick a candidate for one file at a time")
    index = params.get("candidate")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ReviewError("candidate must be the index of one of the file's candidates")

    chosen = target.ids[0]

    def pick_for(row):
        cands = row.candidates or []
        if not 0 <= index < len(cands):
            raise ReviewError("that candidate does not exist for this file")
        c = cands[index]
        new = capture_time.picked(c, row, zone, now)
        if new is None:
            raise ReviewError("that candidate has no usable date")
        label = source_info(c.get("source", "")).label
        new["review_note"] = f"Picked {label}: {_fmt_local(new['captured_at'], c.get('precision'))}"
        return new

    # The other files of the chosen file's stack take the time picked for it (the candidate is its own).
    lead_row = db.session.get(MediaFile, chosen)
    first = pick_for(lead_row) if lead_row is not None else None
    db.session.commit()

    def pick(row):
        return pick_for(row) if row.id == chosen else (dict(first) if first is not None else None)
    return pick, "Picked a capture-time candidate", notes


# ------------------------------------------------------------ typed dates --

@dataclass
class Interpretation:
    parsed: ParsedDate
    text: str  # what we understood, in words
    notes: list[str] = field(default_factory=list)
    partial_note: str | None = None  # what a partial date did not keep ("summer" of "summer 1987")

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.parsed.value.isoformat(timespec="seconds"),
                "utc_offset": format_offset(self.parsed.utc_offset), "precision": self.parsed.precision.value,
                "text": self.text, "notes": self.notes}


_MONTH_NAMES = {name: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
     ("nov", "november"), ("dec", "december")], 1) for name in names}
_TIME = r"(?:[ ,T]+(?:at\s+)?(?P<h>\d{1,2})(?:[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?)?\s*(?P<ampm>[ap]\.?m\.?)?)?"
_TZ = r"(?:\s*(?P<tz>Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?))?"
_DMY = re.compile(r"^(?P<d>\d{1,2})[./-](?P<mo>\d{1,2})[./-](?P<y>\d{4})" + _TIME + _TZ + "$", re.I)
_D_MON_Y = re.compile(r"^(?:[a-z]+,?\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?\.?\s+(?P<mon>[a-z]+)\.?,?\s+(?P<y>\d{4})"
                      + _TIME + _TZ + "$", re.I)
_MON_D_Y = re.compile(r"^(?:[a-z]+,?\s+)?(?P<mon>[a-z]+)\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"
                      + _TIME + _TZ + "$", re.I)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:[ _T-]?(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?)?"
                      + _TZ + "$", re.I)
_ISO_12H = re.compile(r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})" + _TIME + _TZ + "$", re.I)


def _to_iso(m: re.Match, month: int) -> str:
    g = m.groupdict()
    text = f"{int(g['y']):04d}-{month:02d}-{int(g['d']):02d}"
    if g.get("h") is not None:
        h = int(g["h"])
        ampm = (g.get("ampm") or "").lower().replace(".", "")
        if ampm:
            if not 1 <= h <= 12:
                raise DateParseError("with am/pm the hour must be 1 to 12")
            h = (h % 12) + (12 if ampm == "pm" else 0)
        text += f" {h:02d}:{int(g.get('mi') or 0):02d}"
        if g.get("s") is not None:
            text += f":{int(g['s']):02d}"
    if g.get("tz"):
        text += g["tz"] if g["tz"][0] in "+-" else "Z"
    return text


def interpret_date(text: str) -> Interpretation:
    """Understand a date/time a person typed; raises ReviewError saying why not.

    Accepts what `parse_date_string` accepts (2019-08-12 14:30, 2019:08:12
    14:30:25, 2019-08-12T14:30+02:00, 2019-08-12, 2019-08) and also
    12.08.2019 14:30, 12/08/2019 (day first), 12 Aug 2019 2:30 pm,
    August 12, 2019 14:30, 20190812_143025 — and the partial dates of
    `parse_partial_date`: August 1987, 1987, summer 1987, 1990s.
    """
    raw = " ".join((text or "").split())
    if not raw:
        raise ReviewError("type a date, for example 2019-08-12 14:30")
    if len(raw) > 64:
        raise ReviewError("that is too long to be a date")
    notes: list[str] = []
    candidates: list[str] = []
    m = _ISO_12H.match(raw)
    if m and m.group("ampm"):
        candidates.append(_try(lambda: _to_iso(m, int(m.group("mo")))))
    candidates.append(raw)
    m = _DMY.match(raw)
    if m:
        d, mo = int(m.group("d")), int(m.group("mo"))
        if d <= 12 and mo <= 12 and d != mo:
            notes.append("Read as day, month, year.")
        candidates.insert(0, _try(lambda: _to_iso(m, mo)))
    for rx in (_D_MON_Y, _MON_D_Y):
        m = rx.match(raw)
        if m and m.group("mon").lower() in _MONTH_NAMES:
            candidates.insert(0, _try(lambda: _to_iso(m, _MONTH_NAMES[m.group("mon").lower()])))
    m = _COMPACT.match(raw)
    if m:
        candidates.insert(0, _try(lambda: _to_iso(m, int(m.group("mo")))))
    error: str | None = None
    for cand in candidates:
        if cand is None:
            continue
        if cand.startswith("!"):
            error = cand[1:]
            continue
        try:
            parsed = parse_date_string(cand)
        except DateParseError as exc:
            error = error or str(exc)
            continue
        checked = check_plausible(Candidate("person", parsed.value, parsed.utc_offset, parsed.precision))
        if not checked.accepted:
            raise ReviewError(checked.reason.replace("rejected: ", "").capitalize())
        return Interpretation(parsed, _words(parsed), notes)
    # A month, a year, a season or a decade alone ("August 1987", "1987", "summer 1987", "1990s").
    try:
        partial = parse_partial_date(raw)
    except DateParseError as exc:
        if not str(exc).startswith("unrecognised date"):
            error = str(exc)
    else:
        checked = check_plausible(Candidate("person", partial.parsed.value, None, partial.parsed.precision))
        if not checked.accepted:
            raise ReviewError(checked.reason.replace("rejected: ", "").capitalize())
        return Interpretation(partial.parsed, _words(partial.parsed), notes + ([partial.note] if partial.note else []),
                              partial.note)
    if error and (error.startswith("unrecognised date") or error == "a year alone is not a capture date"):
        error = None
    raise ReviewError((error.capitalize() + ". " if error else "")
                      + "Try a form like 2019-08-12 14:30, 12.08.2019 14:30, 12 Aug 2019 2:30 pm, "
                        "August 1987, 1987 or 1990s.")


def _try(fn) -> str | None:
    try:
        return fn()
    except DateParseError as exc:
        return "!" + str(exc)


def _words(p: ParsedDate) -> str:
    v = p.value
    if p.precision == Precision.DECADE:
        out = f"the {v.year}s (decade only)"
    elif p.precision == Precision.YEAR:
        out = f"{v.year} (year only)"
    elif p.precision == Precision.MONTH:
        out = v.strftime("%B %Y") + " (month only)"
    elif p.precision == Precision.DAY:
        out = f"{v.strftime('%A')} {v.day} {v.strftime('%B %Y')} (day only, no time of day)"
    else:
        fmt = "%H:%M" if p.precision == Precision.MINUTE else "%H:%M:%S"
        out = f"{v.strftime('%A')} {v.day} {v.strftime('%B %Y')}, {v.strftime(fmt)}"
    if p.utc_offset is not None:
        out += f", UTC{format_offset(p.utc_offset)}"
    return out
