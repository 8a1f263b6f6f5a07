"""Every decision a person makes, as one batch in the history that can be undone.

A batch (`ReviewBatch`) says who made a decision, when, and what it was in
plain words (`summary`). What it changed is kept beside it, each thing with
its state before and after:

- capture times: `ReviewDecision` rows, one per file (usecases/review.py);
- everything else: `HistoryItem` rows (`record`), one per thing changed —
  a tag ("tag": {"name"}), a file's tag ("link": {"id", "origin",
  "created_at", "tag"}), a file's decision in a duplicate group ("member":
  {"decision"}), a group ("group": {"status", "resolved_at"}) and a kept
  file's machine-chosen capture time with its candidates ("choice"). None
  stands for "the row does not exist". usecases/tagging.py records tag adds,
  removals, renames and merges; usecases/duplicates.py group decisions, the
  bulk accept and restores of set-aside files.

Undo (`undo`) puts things back to their state before, one unit at a time. A
unit is what must go back together: a file for date changes, tag adds and
removals and restores; a group for a duplicate decision; the whole batch for
a tag rename or merge. The rule (the same for every kind): a unit is undone
only when everything in it is still as the batch left it; otherwise a later
decision changed it, that decision is kept, and the answer says how many
were left alone. When nothing at all can be undone the undo is refused with
`UndoConflict` (the API answers 409) and a sentence naming the later
decision. An undo is itself a batch holding the reverse changes, so it is
listed and can be undone in turn.

Tags a batch created are deleted by its undo only when no file uses them any
more; tags it deleted come back with their id and name, unless another tag
has taken the name since (then the files needing them are left alone).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from mediaparser.library import capture_time
from mediaparser.library.filters import PAGE_MAX, FilterError
from mediaparser.media.isotime import iso_utc
from mediaparser.media.tags import tag_key
from mediaparser.store.db import (DEADLOCK_DETECTED, SERIALIZATION_FAILURE, UNIQUE_VIOLATION, db, run_write,
                                  write_transaction)
from mediaparser.store.models import (DupGroup, DupMember, FileTag, HistoryItem, MediaFile, ReviewBatch,
                                      ReviewDecision, Tag, utcnow)

CHUNK = 2000  # date decisions per write transaction of an undo
IN_MAX = 500  # ids per IN (...) list
UNDO_RETRY = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED, UNIQUE_VIOLATION})
# The machine-chosen capture time of a file (library.capture_time.CHOICE_FIELDS), as a "choice" item keeps it.
CHOICE_FIELDS = capture_time.CHOICE_FIELDS


class UndoConflict(FilterError):
    """Nothing of the batch can be undone: later decisions changed all of it (the message says which)."""


@dataclass
class Actor:
    name: str
    remote_addr: str | None = None


LOCAL_USER = Actor("local user")


@dataclass
class ActionResult:
    batch_id: int | None
    changed: int
    skipped: int
    summary: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "changed": self.changed, "skipped": self.skipped,
                "summary": self.summary, "notes": self.notes}


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def quoted(name: str) -> str:
    return f"‘{name}’"


def names_in_words(names: Sequence[str], limit: int = 2, total: int | None = None) -> str:
    """'a', 'a and b', 'a, b and 3 others' (`total`: how many there are when `names` holds only the first)."""
    names = list(names)
    total = max(total or 0, len(names))
    if total <= limit:
        return " and ".join(names) if total <= 2 else ", ".join(names[:-1]) + " and " + names[-1]
    return ", ".join(names[:limit]) + f" and {plural(total - limit, 'other')}"


def file_name(rel_path: str) -> str:
    return rel_path.replace("\\", "/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------- states --

def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def link_state(link_id: int, origin: str, created_at: datetime | None, tag: str) -> dict[str, Any]:
    return {"id": link_id, "origin": origin, "created_at": _iso(created_at), "tag": tag}


def choice_state(row: Any) -> dict[str, Any]:
    """A file's machine-chosen time and its evidence, as JSON (what "choice" items keep)."""
    return json.loads(json.dumps({name: _iso(getattr(row, name)) for name in CHOICE_FIELDS}))


def group_state(g: Any) -> dict[str, Any]:
    return {"status": g.status, "resolved_at": _iso(g.resolved_at)}


def _same(kind: str, current: dict | None, wanted: dict | None) -> bool:
    if current is None or wanted is None:
        return current is None and wanted is None
    if kind == "link":  # the same row with the same origin (its tag's name may have changed since)
        return current["id"] == wanted["id"] and current["origin"] == wanted["origin"]
    if kind == "tag":
        return current["name"] == wanted["name"]
    return current == wanted


# --------------------------------------------------------------- recording --

def record(s: Session, action: str, actor: Actor | None, summary: str, file_count: int,
           items: Iterable[dict[str, Any]]) -> int | None:
    """One batch with its items, in the caller's transaction; None (and nothing written) when no item changed.

    Each item is {"kind", "unit", "file_id"?, "tag_id"?, "group_id"?, "before", "after"}.
    """
    rows = [i for i in items if not _same(i["kind"], i.get("before"), i.get("after"))]
    if not rows:
        return None
    actor = actor or LOCAL_USER
    batch = ReviewBatch(action=action, actor=actor.name[:128], remote_addr=actor.remote_addr, created_at=utcnow(),
                        summary=summary, file_count=file_count)
    s.add(batch)
    s.flush()
    _insert_items(s, batch.id, rows)
    return batch.id


_ITEM_COLUMNS = ("batch_id", "kind", "unit", "file_id", "tag_id", "group_id", "before", "after")


def _insert_items(s: Session, batch_id: int, items: Sequence[dict[str, Any]]) -> None:
    """Insert history items in bulk: one driver-level executemany with the JSON already written
    (a large tag add records one item per link; the ORM's per-value processing tripled its time)."""
    conn = s.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO history_items ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in _ITEM_COLUMNS)}) "
           f"VALUES ({', '.join([mark] * len(_ITEM_COLUMNS))})")

    def js(v: Any) -> str | None:
        return None if v is None else json.dumps(v)

    rows = [(batch_id, i["kind"], i["unit"], i.get("file_id"), i.get("tag_id"), i.get("group_id"),
             js(i.get("before")), js(i.get("after"))) for i in items]
    for start in range(0, len(rows), 5000):
        conn.exec_driver_sql(sql, rows[start:start + 5000])


# ------------------------------------------------------------------ listing --

def batches(*, before: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Batches newest first, `limit` at a time (ids below `before`)."""
    limit = max(1, min(limit, PAGE_MAX))
    q = select(ReviewBatch).order_by(ReviewBatch.id.desc()).limit(limit)
    if before is not None:
        q = q.where(ReviewBatch.id < before)
    out = [{"id": b.id, "action": b.action, "actor": b.actor, "remote_addr": b.remote_addr,
            "at": iso_utc(b.created_at), "summary": b.summary, "file_count": b.file_count,
            "undone_at": iso_utc(b.undone_at), "undone_by": b.undone_by,
            "undoes": b.undoes} for b in db.session.execute(q).scalars()]
    db.session.commit()
    return out


def batch_files(batch_id: int, limit: int = 12) -> list[dict[str, Any]]:
    """The first files a batch changed, each with what changed for it in words (`change`).

    Date decisions also carry the capture time before and after.
    """
    rows = db.session.execute(
        select(ReviewDecision.file_id, MediaFile.rel_path, ReviewDecision.before, ReviewDecision.after)
        .join(MediaFile, MediaFile.id == ReviewDecision.file_id)
        .where(ReviewDecision.batch_id == batch_id).order_by(ReviewDecision.id).limit(limit)).all()
    out = [{"file_id": r.file_id, "path": r.rel_path, "before": r.before.get("captured_at"),
            "after": r.after.get("captured_at"), "before_precision": r.before.get("precision"),
            "after_precision": r.after.get("precision"), "change": None} for r in rows]
    if out:
        db.session.commit()
        return out
    changes: dict[int, list[str]] = {}
    last = 0
    while len(changes) < limit:
        items = db.session.execute(select(HistoryItem).where(HistoryItem.batch_id == batch_id,
                                                             HistoryItem.file_id.is_not(None),
                                                             HistoryItem.id > last)
                                   .order_by(HistoryItem.id).limit(500)).scalars().all()
        if not items:
            break
        last = items[-1].id
        for i in items:
            words = _change_words(i)
            if words is None:
                continue
            if i.file_id not in changes and len(changes) >= limit:
                continue
            changes.setdefault(i.file_id, [])
            if words not in changes[i.file_id]:
                changes[i.file_id].append(words)
    paths = dict(db.session.execute(select(MediaFile.id, MediaFile.rel_path)
                                    .where(MediaFile.id.in_(list(changes)))).all()) if changes else {}
    db.session.commit()
    return [{"file_id": fid, "path": paths.get(fid), "before": None, "after": None,
             "change": "; ".join(words)} for fid, words in changes.items()]


def _change_words(i: HistoryItem) -> str | None:
    if i.kind == "link":
        if i.before is None and i.after is not None:
            return f"tag {quoted(i.after['tag'])} added"
        if i.after is None and i.before is not None:
            return f"tag {quoted(i.before['tag'])} removed"
        return None
    if i.kind == "member":
        return {"keep": "kept", "discard": "set aside", None: "no decision"}.get((i.after or {}).get("decision"))
    return None


def batch_about(batch_id: int) -> str | None:
    """For a batch about a tag rather than files (a rename): which tag it was, in words; None otherwise."""
    items = db.session.execute(select(HistoryItem).where(HistoryItem.batch_id == batch_id,
                                                         HistoryItem.kind == "tag")
                               .order_by(HistoryItem.id).limit(5)).scalars().all()
    out = None
    for i in items:
        if i.before is not None and i.after is not None:
            uses = db.session.execute(select(func.count()).select_from(FileTag)
                                      .where(FileTag.tag_id == i.tag_id)).scalar_one()
            now = db.session.get(Tag, i.tag_id)
            out = (f"The tag {quoted(i.before['name'])} was renamed {quoted(i.after['name'])}; it is on no file "
                   "any more." if now is None else
                   f"The tag {quoted(i.before['name'])} was renamed {quoted(i.after['name'])}; "
                   f"{plural(uses, 'file carries', 'files carry')} it, now called {quoted(now.name)}.")
            break
    db.session.commit()
    return out


def file_decisions(file_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The latest batches other than date changes that touched one file (its tags, its duplicate decisions),
    newest first, in the shape of a file's date history (`before`/`after` empty: no capture time changed)."""
    ids = select(HistoryItem.batch_id).where(HistoryItem.file_id == file_id).distinct()
    rows = db.session.execute(select(ReviewBatch).where(ReviewBatch.id.in_(ids))
                              .order_by(ReviewBatch.id.desc()).limit(limit)).scalars().all()
    return [{"batch_id": b.id, "action": b.action, "actor": b.actor, "at": iso_utc(b.created_at),
             "summary": b.summary, "before": {}, "after": {}, "undone": b.undone_at is not None} for b in rows]


def has_items(batch_id: int) -> bool:
    found = db.session.execute(select(HistoryItem.id).where(HistoryItem.batch_id == batch_id).limit(1)).first()
    db.session.commit()
    return found is not None


# -------------------------------------------------------------------- undo --

def undo(batch_id: int, actor: Actor | None = None) -> ActionResult:
    """Revert a batch for the units still in the state it left them in (see the module docstring)."""
    actor = actor or LOCAL_USER
    batch = db.session.get(ReviewBatch, batch_id, populate_existing=True)
    db.session.commit()
    if batch is None:
        raise LookupError(f"change {batch_id} does not exist")
    if batch.undone_at is not None:
        raise FilterError("this change has already been undone")
    if has_items(batch_id):
        return run_write(lambda s: _undo_items(s, batch, actor), retry_on=UNDO_RETRY)
    return _undo_dates(batch, actor)


def _undo_batch(s: Session, batch: ReviewBatch, actor: Actor, now: datetime, summary: str) -> int:
    b = ReviewBatch(action="undo", actor=actor.name[:128], remote_addr=actor.remote_addr,
                    created_at=now, summary=summary, file_count=0, undoes=batch.id)
    s.add(b)
    s.flush()
    return b.id


def _undo_dates(batch: ReviewBatch, actor: Actor) -> ActionResult:
    """Capture-time decisions, CHUNK files per transaction: each file goes back if still as the batch left it."""
    batch_id = batch.id
    now = utcnow()
    undo_id: int | None = None
    changed = skipped = 0
    last = 0
    summary = f"Undid: {batch.summary}"
    while True:
        with write_transaction() as s:
            decisions = s.execute(select(ReviewDecision.id, ReviewDecision.file_id, ReviewDecision.before,
                                         ReviewDecision.after)
                                  .where(ReviewDecision.batch_id == batch_id, ReviewDecision.id > last)
                                  .order_by(ReviewDecision.id).limit(CHUNK)).all()
            if not decisions:
                if undo_id is None:
                    # Nothing went back: every file was changed again since (or is gone).
                    raise UndoConflict(_refusal(s, batch, _decided_files(s, batch_id), [], []))
                s.execute(update(ReviewBatch).where(ReviewBatch.id == batch_id)
                          .values(undone_at=now, undone_by=undo_id))
                s.execute(update(ReviewBatch).where(ReviewBatch.id == undo_id).values(file_count=changed))
                break
            last = decisions[-1].id
            rows = {r.id: r for r in s.execute(select(MediaFile).where(
                MediaFile.id.in_([d.file_id for d in decisions])).execution_options(populate_existing=True)).scalars()}
            updates, new_decisions = [], []
            for d in decisions:
                row = rows.get(d.file_id)
                if row is None:
                    skipped += 1
                    continue
                current = capture_time.snapshot(row)
                if current != d.after:
                    skipped += 1  # changed again since: leave the later decision alone
                    continue
                updates.append({"_id": row.id, **capture_time.unsnapshot(d.before)})
                new_decisions.append({"file_id": row.id, "before": current, "after": dict(d.before)})
            if updates:
                undo_id = undo_id or _undo_batch(s, batch, actor, now, summary)
                capture_time.write_decisions(s, updates)
                s.execute(ReviewDecision.__table__.insert(), [{"batch_id": undo_id, **d} for d in new_decisions])
                changed += len(updates)
    notes = []
    if skipped:
        notes.append(_left_alone(skipped, "file"))
    return ActionResult(undo_id, changed, skipped, summary, notes)


def _left_alone(n: int, word: str) -> str:
    return (f"{plural(n, word)} {'was' if n == 1 else 'were'} changed again afterwards and kept "
            f"{'its' if n == 1 else 'their'} later decision.")


def _decided_files(s: Session, batch_id: int, limit: int = 200) -> list[int]:
    return list(s.execute(select(ReviewDecision.file_id).where(ReviewDecision.batch_id == batch_id)
                          .order_by(ReviewDecision.id).limit(limit)).scalars())


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), IN_MAX):
        yield ids[i:i + IN_MAX]


class _Current:
    """The present state of everything a batch's items name, read in a few queries."""

    def __init__(self, s: Session, items: Sequence[HistoryItem]) -> None:
        tag_ids = sorted({i.tag_id for i in items if i.tag_id is not None})
        group_ids = sorted({i.group_id for i in items if i.group_id is not None})
        file_ids = sorted({i.file_id for i in items if i.file_id is not None})
        link_files = sorted({i.file_id for i in items if i.kind == "link"})
        choice_files = sorted({i.file_id for i in items if i.kind == "choice"})
        self.tags: dict[int, str] = {}
        for part in _chunks(tag_ids):
            # FOR UPDATE in id order: tagging's lock order (tags first, then their links).
            q = select(Tag.id, Tag.name).where(Tag.id.in_(part)).order_by(Tag.id)
            self.tags.update(s.execute(q.with_for_update()).all())
        self.links: dict[tuple[int, int], dict[str, Any]] = {}
        names = dict(self.tags)
        for part in _chunks(link_files):
            for r in s.execute(select(FileTag.id, FileTag.file_id, FileTag.tag_id, FileTag.origin,
                                      FileTag.created_at)
                               .where(FileTag.file_id.in_(part), FileTag.tag_id.in_(tag_ids))):
                self.links[(r.file_id, r.tag_id)] = link_state(r.id, r.origin, r.created_at,
                                                               names.get(r.tag_id, ""))
        self.members: dict[tuple[int, int], dict[str, Any]] = {}
        self.groups: dict[int, dict[str, Any]] = {}
        for part in _chunks(group_ids):
            for g in s.execute(select(DupGroup).where(DupGroup.id.in_(part))
                               .execution_options(populate_existing=True)).scalars():
                self.groups[g.id] = group_state(g)
            for gid, fid, dec in s.execute(select(DupMember.group_id, DupMember.file_id, DupMember.decision)
                                           .where(DupMember.group_id.in_(part))):
                self.members[(gid, fid)] = {"decision": dec}
        self.choices: dict[int, dict[str, Any]] = {}
        for part in _chunks(choice_files):
            for r in s.execute(select(MediaFile).where(MediaFile.id.in_(part))
                               .execution_options(populate_existing=True)).scalars():
                self.choices[r.id] = choice_state(r)
        self.files: set[int] = set()
        for part in _chunks(file_ids):
            self.files.update(s.execute(select(MediaFile.id).where(MediaFile.id.in_(part))).scalars())

    def of(self, i: HistoryItem) -> dict[str, Any] | None:
        if i.kind == "tag":
            name = self.tags.get(i.tag_id)
            return None if name is None else {"name": name}
        if i.kind == "link":
            return self.links.get((i.file_id, i.tag_id))
        if i.kind == "member":
            return self.members.get((i.group_id, i.file_id))
        if i.kind == "group":
            return self.groups.get(i.group_id)
        if i.kind == "choice":
            return self.choices.get(i.file_id)
        raise ValueError(f"unknown history item kind {i.kind!r}")


def _name_taken(s: Session, name: str, tag_id: int) -> str | None:
    """The tag other than `tag_id` that has this name now (compared regardless of case), if any."""
    return s.execute(select(Tag.name).where(Tag.key == tag_key(name), Tag.id != tag_id)
                     .limit(1)).scalar()


def _undo_items(s: Session, batch: ReviewBatch, actor: Actor) -> ActionResult:
    items = list(s.execute(select(HistoryItem).where(HistoryItem.batch_id == batch.id)
                           .order_by(HistoryItem.id)).scalars())
    cur = _Current(s, items)
    units: dict[str, list[HistoryItem]] = defaultdict(list)
    for i in items:
        units[i.unit].append(i)
    created_tags = [i for i in units.pop("tags", []) if i.before is None]  # the batch made these: soft
    needed_tags = {i.tag_id: i for i in items if i.kind == "tag" and i.before is not None and i.after is None}
    blocked: dict[int, str] = {}  # tags that cannot come back: their name is someone else's now
    for tid, i in needed_tags.items():
        if cur.of(i) is None:
            other = _name_taken(s, i.before["name"], tid)
            if other is not None:
                blocked[tid] = other
    ok: list[str] = []
    conflicts: list[HistoryItem] = []
    for unit, its in units.items():
        bad = [i for i in its if i.kind != "tag" or i.before is not None]
        bad = [i for i in bad if not _same(i.kind, cur.of(i), i.after)]
        # A tag a unit renames back needs its old name to be free.
        for i in its:
            if i.kind == "tag" and i.before is not None and i.after is not None and not bad:
                if _name_taken(s, i.before["name"], i.tag_id):
                    bad.append(i)
        for i in its:
            if i.kind == "link" and i.before is not None and (i.tag_id in blocked or i.file_id not in cur.files):
                bad.append(i)
        if bad:
            conflicts.extend(bad)
        else:
            ok.append(unit)
    if not ok:
        raise UndoConflict(_refusal(s, batch, [i.file_id for i in conflicts if i.file_id is not None],
                                    [i.tag_id for i in conflicts if i.tag_id is not None],
                                    [i.group_id for i in conflicts if i.group_id is not None], blocked))
    todo = [i for u in ok for i in units[u]]
    now = utcnow()
    undo_id = _undo_batch(s, batch, actor, now, f"Undid: {batch.summary}")
    reverse = [{"kind": i.kind, "unit": i.unit, "file_id": i.file_id, "tag_id": i.tag_id, "group_id": i.group_id,
                "before": cur.of(i), "after": i.before} for i in todo]
    # Tag rows the undone units need back: renamed back, or deleted by the batch and needed by a link.
    need = {i.tag_id for i in todo if i.kind == "link" and i.before is not None}
    tag_names = {i.tag_id: i.before["name"] for i in todo if i.kind == "tag" and i.before is not None}
    tag_names.update({tid: i.before["name"] for tid, i in needed_tags.items() if tid in need})
    _apply(s, todo, cur, tag_names)
    # Tags the batch created that no file uses any more go too (tags another writer uses now stay).
    for i in created_tags:
        if i.tag_id in cur.tags:
            gone = s.execute(delete(Tag).where(Tag.id == i.tag_id, ~Tag.id.in_(select(FileTag.tag_id)
                                                                                .where(FileTag.tag_id == i.tag_id)))
                             .execution_options(synchronize_session=False)).rowcount
            if gone:
                reverse.append({"kind": "tag", "unit": "tags", "tag_id": i.tag_id,
                                "before": {"name": cur.tags[i.tag_id]}, "after": None})
    # Tags that came back and that the undo itself would otherwise not hold: recorded so undoing the undo removes them.
    for tid in need & set(needed_tags):
        if tid not in cur.tags and needed_tags[tid].unit == "tags":
            reverse.append({"kind": "tag", "unit": "tags", "tag_id": tid, "before": None,
                            "after": dict(needed_tags[tid].before)})
    _insert_items(s, undo_id, reverse)
    files = {i.file_id for i in todo if i.file_id is not None}
    changed = len(files) if files else len(ok)
    s.execute(update(ReviewBatch).where(ReviewBatch.id == undo_id).values(file_count=len(files) or batch.file_count))
    s.execute(update(ReviewBatch).where(ReviewBatch.id == batch.id).values(undone_at=now, undone_by=undo_id))
    skipped_units = len(units) - len(ok)
    notes = []
    if skipped_units:
        kinds = {u.split(":", 1)[0] for u in units if u not in ok}
        notes.append(_left_alone(skipped_units, "group" if kinds == {"group"} else "file"))
    return ActionResult(undo_id, changed, skipped_units, f"Undid: {batch.summary}", notes)


def _apply(s: Session, todo: Sequence[HistoryItem], cur: _Current, tag_names: dict[int, str]) -> None:
    """Write each item's `before` state: links out, tags back or renamed, links in, then decisions and times."""
    gone = [cur.links[(i.file_id, i.tag_id)]["id"] for i in todo
            if i.kind == "link" and i.before is None and (i.file_id, i.tag_id) in cur.links]
    for part in _chunks(sorted(gone)):
        s.execute(delete(FileTag).where(FileTag.id.in_(part)).execution_options(synchronize_session=False))
    for tid, name in sorted(tag_names.items()):
        if tid in cur.tags:
            if cur.tags[tid] != name:
                s.execute(update(Tag).where(Tag.id == tid).values(name=name, key=tag_key(name)))
        else:
            s.execute(Tag.__table__.insert(), [{"id": tid, "name": name, "key": tag_key(name)}])
    rows = [{"id": i.before["id"], "file_id": i.file_id, "tag_id": i.tag_id, "origin": i.before["origin"],
             "created_at": datetime.fromisoformat(i.before["created_at"]) if i.before.get("created_at") else utcnow()}
            for i in todo if i.kind == "link" and i.before is not None
            and cur.links.get((i.file_id, i.tag_id)) is None]
    if rows:
        s.execute(FileTag.__table__.insert(), sorted(rows, key=lambda r: (r["tag_id"], r["file_id"])))
    for i in todo:
        if i.kind == "link" and i.before is not None and cur.links.get((i.file_id, i.tag_id)) is not None:
            s.execute(update(FileTag).where(FileTag.file_id == i.file_id, FileTag.tag_id == i.tag_id)
                      .values(origin=i.before["origin"]))
        elif i.kind == "tag" and i.before is None and i.unit != "tags":
            s.execute(delete(Tag).where(Tag.id == i.tag_id).execution_options(synchronize_session=False))
        elif i.kind == "member":
            s.execute(update(DupMember).where(DupMember.group_id == i.group_id, DupMember.file_id == i.file_id)
                      .values(decision=i.before["decision"]))
        elif i.kind == "group":
            at = i.before.get("resolved_at")
            s.execute(update(DupGroup).where(DupGroup.id == i.group_id)
                      .values(status=i.before["status"], resolved_at=datetime.fromisoformat(at) if at else None,
                              updated_at=utcnow()))
        elif i.kind == "choice":
            values = {k: i.before.get(k) for k in CHOICE_FIELDS}
            if values["captured_at"] is not None:
                values["captured_at"] = datetime.fromisoformat(values["captured_at"])
            s.execute(update(MediaFile).where(MediaFile.id == i.file_id).values(**values)
                      .execution_options(synchronize_session=False))
    s.flush()


def _refusal(s: Session, batch: ReviewBatch, file_ids: Sequence[int], tag_ids: Sequence[int],
             group_ids: Sequence[int], blocked: dict[int, str] | None = None) -> str:
    """Why nothing of `batch` can be undone, naming the later decision when there is one."""
    if blocked:
        name = next(iter(blocked.values()))
        return (f"This can no longer be undone: a tag named {quoted(name)} exists again since, and the files "
                f"would need the old tag back under that name. Rename that tag first, then try again.")
    later = None
    conds = []
    if file_ids:
        conds.append(HistoryItem.file_id.in_(list(file_ids)[:IN_MAX]))
    if tag_ids:
        conds.append(HistoryItem.tag_id.in_(list(tag_ids)[:IN_MAX]))
    if group_ids:
        conds.append(HistoryItem.group_id.in_(list(group_ids)[:IN_MAX]))
    candidates = []
    if conds:
        candidates.append(s.execute(select(ReviewBatch).join(HistoryItem, HistoryItem.batch_id == ReviewBatch.id)
                                    .where(ReviewBatch.id > batch.id, ReviewBatch.undone_at.is_(None), or_(*conds))
                                    .order_by(ReviewBatch.id.desc()).limit(1)).scalars().first())
    if file_ids:
        candidates.append(s.execute(select(ReviewBatch).join(ReviewDecision, ReviewDecision.batch_id == ReviewBatch.id)
                                    .where(ReviewBatch.id > batch.id, ReviewBatch.undone_at.is_(None),
                                           ReviewDecision.file_id.in_(list(file_ids)[:IN_MAX]))
                                    .order_by(ReviewBatch.id.desc()).limit(1)).scalars().first())
    found = [c for c in candidates if c is not None]
    if found:
        later = max(found, key=lambda b: b.id)
        return (f"This can no longer be undone: a later change by {later.actor}, “{later.summary}”, changed "
                "the same things. Undo that change first, then try again.")
    return ("This can no longer be undone: what it changed was changed again afterwards (by a new import, "
            "a clean-up or another decision), so undoing it would overwrite that later change.")
