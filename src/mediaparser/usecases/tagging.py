"""Tags on files: automatic tags at import, a person's tags on a selection, rename/merge, autocomplete.

The rule that finds automatic tags is pure and lives in media/tags.py; this
module writes them. `record_auto_tags` runs inside the importer's checkpoint
transaction (usecases/importing.py), so a file's tags land together with its
analysis result or not at all — a worker killed mid-batch leaves neither.

Every name goes through `media.tags.normalize` (whitespace trimmed, case
kept) and is matched by `media.tags.tag_key` (case-folded): "Beach", " beach "
and "BEACH" are one tag, shown with the spelling it was first given.

Concurrency (PostgreSQL runs writers side by side; SQLite's BEGIN IMMEDIATE
makes them take turns, and the locks below are no-ops there). One lock order
for every tag writer: first the tag rows, in id order, then the file_tags
rows, inserted in (tag id, file id) order.

* adding (`link`, also used by the importer and the duplicate carry-over)
  creates missing names with INSERT … ON CONFLICT DO NOTHING and holds its
  tags FOR KEY SHARE: they can be linked by others at the same time, but not
  renamed, merged away or deleted until it commits. A name that vanished
  between the insert and the lock (merged away a moment ago) is created again.
* removing, renaming and merging hold their tags FOR UPDATE, so they wait for
  adds in flight on those tags and the adds that come later wait for them.
* each request's unit of work runs in `db.run_write`, which runs it again when
  PostgreSQL still aborts it (a deadlock between rows locked in separate
  statements, a name taken by a concurrent rename): all of it or none of it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediaparser.store.db import (DEADLOCK_DETECTED, FOREIGN_KEY_VIOLATION, SERIALIZATION_FAILURE, UNIQUE_VIOLATION, db, run_write, sqlstate)
from mediaparser.media.tags import auto_tags, normalize, tag_key
from mediaparser.store.dialect import insert_ignore
from mediaparser.store.models import FileTag, MediaFile, Tag, utcnow
from mediaparser.usecases import history
from mediaparser.usecases.history import Actor, quoted

ORIGINS = ("folder", "filename", "album", "user", "carried")
MAX_NAMES = 100
LIST_MAX = 1000  # tags one listing page may hold
CHUNK = 5000  # ids per IN (...) list: SQLite allows ~32k bound values per statement
ENSURE_ROUNDS = 10  # a name merged away under an add is created again, at most this often
# Besides deadlocks and serialization failures, a tag write is run again when a
# concurrent writer took the new name (rename) or removed a row it refers to.
RETRY = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED, UNIQUE_VIOLATION, FOREIGN_KEY_VIOLATION})


class TagError(ValueError):
    """The request cannot be done; the message is for the user."""


def _clean_names(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for raw in names:
        if not isinstance(raw, str):
            raise TagError("tags are text")
        n = normalize(raw)
        if n and tag_key(n) not in {tag_key(o) for o in out}:
            out.append(n)
    if len(out) > MAX_NAMES:
        raise TagError(f"at most {MAX_NAMES} tags at once")
    return out


def _locked(session: Session, query, *, exclusive: bool):
    """`query` over tags with its rows locked in id order (the one lock order); plain reads on SQLite."""
    query = query.order_by(Tag.id)
    return query.with_for_update() if exclusive else query.with_for_update(read=True, key_share=True)


def ensure_tags(session: Session, names: Sequence[str]) -> dict[str, int]:
    """Tag ids by key (`tag_key`) of (already normalised) names, creating missing tags with the
    first spelling given; safe against concurrent writers. A tag that exists keeps its spelling.

    The tags stay locked FOR KEY SHARE until the caller's transaction ends, so
    the ids answered still name these tags when the caller links files to them.
    """
    spelling: dict[str, str] = {}
    for n in names:
        spelling.setdefault(tag_key(n), n)
    wanted = sorted(spelling)
    ids: dict[str, int] = {}
    for _round in range(ENSURE_ROUNDS):
        # Lock what exists before creating the rest: a rename holding one of these
        # tags may be waiting for a name we would create, and must not wait on us.
        missing = [n for n in wanted if n not in ids]
        ids.update(session.execute(_locked(session, select(Tag.key, Tag.id).where(Tag.key.in_(missing)),
                                           exclusive=False)).all())
        missing = [n for n in wanted if n not in ids]
        if not missing:
            return ids
        # New rows: the next round locks them (their ids are the newest, so the order holds).
        session.connection().execute(insert_ignore(session, Tag, ["key"]),
                                     [{"name": spelling[k], "key": k} for k in missing])
    raise TagError("the tags kept being renamed while they were added; try again")


def link(session: Session, pairs: Sequence[tuple[int, str, str]]) -> int:
    """Attach (file_id, tag name, origin) triples; existing links are kept as they are."""
    return len(new_links(session, pairs))


def new_links(session: Session, pairs: Sequence[tuple[int, str, str]]) -> list:
    """`link`, answering the links that were new: rows of (id, file_id, tag_id, origin, created_at)."""
    if not pairs:
        return []
    ids = ensure_tags(session, [name for _f, name, _o in pairs])
    now = utcnow()
    rows = {(ids[tag_key(name)], f): {"file_id": f, "tag_id": ids[tag_key(name)], "origin": origin,
                                      "created_at": now}
            for f, name, origin in reversed(pairs)}  # the first origin given for a link wins
    # Inserted in (tag, file) order: two adds over the same links wait for each
    # other instead of each holding one the other needs.
    rows = [rows[k] for k in sorted(rows)]
    # RETURNING counts the links that were new on every backend (executemany's
    # rowcount is not reliable on PostgreSQL, where statements are batched).
    res = session.connection().execute(
        insert_ignore(session, FileTag, ["file_id", "tag_id"])
        .returning(FileTag.id, FileTag.file_id, FileTag.tag_id, FileTag.origin, FileTag.created_at), rows)
    return res.all()


def record_auto_tags(session: Session, files: Sequence[tuple[int, str] | tuple[int, str, str | None]]) -> int:
    """Automatic tags for (file_id, rel_path[, Takeout album title]) tuples, in the caller's transaction."""
    return link(session, [(fid, t.name, t.origin) for fid, rel, *album in files
                          for t in auto_tags(rel, album[0] if album else None)])


def tags_of(file_ids: Iterable[int]) -> dict[int, list[dict[str, str]]]:
    """Each file's tags with their origin, sorted by name."""
    ids = list(file_ids)
    out: dict[int, list[dict[str, str]]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(select(FileTag.file_id, Tag.name, FileTag.origin)
                                  .join(Tag, Tag.id == FileTag.tag_id)
                                  .where(FileTag.file_id.in_(ids)).order_by(Tag.key)).all()
        db.session.commit()
        for fid, name, origin in rows:
            out[fid].append({"name": name, "origin": origin})
    return out


@dataclass(frozen=True)
class Changed:
    files: int
    links: int
    tags: list[str]
    batch_id: int | None = None  # the decision in the history (None when nothing changed)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i:i + CHUNK])


def _existing_files(session: Session, file_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(file_ids))
    if not ids:
        raise TagError("say which files")
    found: set[int] = set()
    for part in _chunks(ids):
        found.update(session.execute(select(MediaFile.id).where(MediaFile.id.in_(part))).scalars())
    missing = [i for i in ids if i not in found]
    if missing:
        raise TagError(f"no such file(s): {missing[:10]}")
    return ids


def add_tags(file_ids: Sequence[int], names: Iterable[str], actor: Actor | None = None) -> Changed:
    """A person adds tags to a selection (origin "user"); tags already there stay as they were."""
    clean = _clean_names(names)
    if not clean:
        raise TagError("give at least one tag")

    def work(s: Session) -> Changed:
        ids = _existing_files(s, file_ids)
        new = new_links(s, [(f, n, "user") for f in ids for n in clean])
        return Changed(len(ids), len(new), clean, _record_add(s, new, clean, actor))

    return run_write(work, retry_on=RETRY)


def remove_tags(file_ids: Sequence[int], names: Iterable[str], actor: Actor | None = None) -> Changed:
    """Remove tags from a selection, whatever their origin. Tags left unused are deleted too."""
    clean = _clean_names(names)
    if not clean:
        raise TagError("give at least one tag")

    def work(s: Session) -> Changed:
        ids = _existing_files(s, file_ids)
        # Held FOR UPDATE: an add in flight on these tags finishes first (and is
        # removed too), a later one waits, so no add is lost to the clean-up below.
        keys = [tag_key(n) for n in clean]
        tag_ids = list(s.execute(_locked(s, select(Tag.id).where(Tag.key.in_(keys)), exclusive=True)).scalars())
        removed = 0
        batch_id = None
        if tag_ids:
            names = dict(s.execute(select(Tag.id, Tag.name).where(Tag.id.in_(tag_ids))).all())
            gone = []  # the links as they were, for the history
            for part in _chunks(ids):
                gone += s.execute(select(FileTag.id, FileTag.file_id, FileTag.tag_id, FileTag.origin,
                                         FileTag.created_at)
                                  .where(FileTag.file_id.in_(part), FileTag.tag_id.in_(tag_ids))).all()
                res = s.execute(delete(FileTag).where(FileTag.file_id.in_(part), FileTag.tag_id.in_(tag_ids))
                                .execution_options(synchronize_session=False))
                removed += res.rowcount or 0
            _drop_unused(s, tag_ids)
            batch_id = _record_remove(s, gone, names, actor)
        return Changed(len(ids), removed, clean, batch_id)

    return run_write(work, retry_on=RETRY)


def _tag_words(names: Sequence[str]) -> str:
    return ("tag " if len(names) == 1 else "tags ") + history.names_in_words([quoted(n) for n in names], 3)


def _record_add(s: Session, new: Sequence, typed: Sequence[str], actor: Actor | None) -> int | None:
    """The history of an add: each new link, and the tags it created (no other file carries them)."""
    if not new:
        return None
    tag_ids = sorted({r.tag_id for r in new})
    names = dict(s.execute(select(Tag.id, Tag.name).where(Tag.id.in_(tag_ids))).all())
    per_tag: dict[int, int] = {}
    for r in new:
        per_tag[r.tag_id] = per_tag.get(r.tag_id, 0) + 1
    items = [{"kind": "link", "unit": f"file:{r.file_id}", "file_id": r.file_id, "tag_id": r.tag_id,
              "before": None, "after": history.link_state(r.id, r.origin, r.created_at, names[r.tag_id])}
             for r in new]
    items += [{"kind": "tag", "unit": "tags", "tag_id": t, "before": None, "after": {"name": names[t]}}
              for t in tag_ids if _uses(s, t) == per_tag[t]]
    files = len({r.file_id for r in new})
    order = [n.casefold() for n in typed]
    in_order = sorted(tag_ids, key=lambda t: order.index(names[t].casefold()) if names[t].casefold() in order else 0)
    summary = f"Added {_tag_words([names[t] for t in in_order])} to {history.plural(files, 'file')}"
    return history.record(s, "tag_add", actor, summary, files, items)


def _record_remove(s: Session, gone: Sequence, names: dict[int, str], actor: Actor | None) -> int | None:
    """The history of a removal: each link as it was, and the tags deleted with their last link."""
    if not gone:
        return None
    tag_ids = sorted({r.tag_id for r in gone})
    left = set(s.execute(select(Tag.id).where(Tag.id.in_(tag_ids))).scalars())
    items = [{"kind": "link", "unit": f"file:{r.file_id}", "file_id": r.file_id, "tag_id": r.tag_id,
              "before": history.link_state(r.id, r.origin, r.created_at, names[r.tag_id]), "after": None}
             for r in gone]
    items += [{"kind": "tag", "unit": "tags", "tag_id": t, "before": {"name": names[t]}, "after": None}
              for t in tag_ids if t not in left]
    files = len({r.file_id for r in gone})
    summary = f"Removed {_tag_words([names[t] for t in tag_ids])} from {history.plural(files, 'file')}"
    return history.record(s, "tag_remove", actor, summary, files, items)


def _drop_unused(s: Session, tag_ids: Sequence[int]) -> None:
    used = select(FileTag.tag_id).where(FileTag.tag_id.in_(list(tag_ids)))
    s.execute(delete(Tag).where(Tag.id.in_(list(tag_ids)), Tag.id.not_in(used))
              .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Renamed:
    old: str
    new: str
    files: int  # files carrying the old name
    merged: bool  # the new name existed: the two tags became one
    into_files: int = 0  # files that already carried the new name (0 for a plain rename)
    batch_id: int | None = None  # the decision in the history (None for a preview or no change)


def _rename_plan(s: Session, old: str, new: str, *, lock: bool = False) -> tuple[Renamed, Tag, Tag | None]:
    o, n = normalize(old), normalize(new)
    if not o or not n:
        raise TagError("give the tag and its new name")
    query = select(Tag).where(Tag.key.in_({tag_key(o), tag_key(n)}))
    # Both tags FOR UPDATE, in id order, before any link is read or moved.
    found = {t.key: t for t in s.execute(_locked(s, query, exclusive=True) if lock else query).scalars()}
    src = found.get(tag_key(o))
    if src is None:
        raise TagError(f"there is no tag “{o}”")

    # The same key: a new spelling of the same tag ("holiday" → "Holiday"), a plain rename.
    dst = None if tag_key(o) == tag_key(n) else found.get(tag_key(n))
    # A merge keeps the spelling of the tag merged into.
    return (Renamed(src.name, dst.name if dst is not None else n, _uses(s, src.id), dst is not None,
                    _uses(s, dst.id) if dst is not None else 0), src, dst)


def _uses(s: Session, tag_id: int) -> int:
    return s.execute(select(func.count()).select_from(FileTag).where(FileTag.tag_id == tag_id)).scalar_one()


def preview_rename(old: str, new: str) -> Renamed:
    """What `rename_tag` would do, changing nothing: lets the page ask before a merge."""
    plan, _src, _dst = _rename_plan(db.session, old, new)
    db.session.commit()
    return plan


def rename_tag(old: str, new: str, actor: Actor | None = None) -> Renamed:
    """Rename a tag everywhere; when the new name exists the two are merged (each file keeps one link)."""

    def work(s: Session) -> Renamed:
        plan, src, dst = _rename_plan(s, old, new, lock=True)
        if plan.old == plan.new:
            return plan
        if dst is None:
            try:
                with s.begin_nested():
                    s.execute(Tag.__table__.update().where(Tag.id == src.id).values(name=plan.new,
                                                                                   key=tag_key(plan.new)))
                summary = f"Renamed tag {quoted(src.name)} to {quoted(plan.new)}"
                return replace(plan, batch_id=history.record(s, "tag_rename", actor, summary, plan.files, [
                    {"kind": "tag", "unit": "batch", "tag_id": src.id, "before": {"name": src.name},
                     "after": {"name": plan.new}}]))
            except IntegrityError as exc:
                if sqlstate(exc) != UNIQUE_VIOLATION:
                    raise
                # Someone created the new name meanwhile (PostgreSQL waited for them
                # to commit before refusing): it is there now, so this is a merge.
                dst = s.execute(_locked(s, select(Tag).where(Tag.key == tag_key(plan.new)), exclusive=True)
                                ).scalar_one_or_none()
                if dst is None:
                    raise  # gone again already: run_write runs the rename from the top
            plan = replace(plan, merged=True, into_files=_uses(s, dst.id))
        # Merge: files already carrying the target keep their link; the others move over.
        already = select(FileTag.file_id).where(FileTag.tag_id == dst.id)
        moved = s.execute(select(FileTag.id, FileTag.file_id, FileTag.origin, FileTag.created_at)
                          .where(FileTag.tag_id == src.id)).all()  # as they were, for the history
        had_dst = set(s.execute(already).scalars())
        s.execute(delete(FileTag).where(FileTag.tag_id == src.id, FileTag.file_id.in_(already))
                  .execution_options(synchronize_session=False))
        s.execute(FileTag.__table__.update().where(FileTag.tag_id == src.id).values(tag_id=dst.id))
        s.execute(delete(Tag).where(Tag.id == src.id).execution_options(synchronize_session=False))
        items = [{"kind": "tag", "unit": "batch", "tag_id": src.id, "before": {"name": src.name}, "after": None}]
        for r in moved:
            state = history.link_state(r.id, r.origin, r.created_at, src.name)
            items.append({"kind": "link", "unit": "batch", "file_id": r.file_id, "tag_id": src.id,
                          "before": state, "after": None})
            if r.file_id not in had_dst:  # the same row, now on the target tag
                items.append({"kind": "link", "unit": "batch", "file_id": r.file_id, "tag_id": dst.id,
                              "before": None, "after": dict(state, tag=dst.name)})
        summary = (f"Merged tag {quoted(src.name)} into {quoted(dst.name)} "
                   f"({history.plural(len(moved), 'file')} had {quoted(src.name)})")
        return replace(plan, batch_id=history.record(s, "tag_merge", actor, summary, len(moved), items))

    return run_write(work, retry_on=RETRY)


def _containing(text: str):
    """Tags whose name contains `text` literally, in any case (the keys are compared; LIKE's wildcards escaped)."""
    like = tag_key(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Tag.key.like(f"%{like}%", escape="\\")


def autocomplete(prefix: str = "", limit: int = 20) -> list[dict[str, object]]:
    """Tags starting with `prefix` (then containing it), most used first."""
    p = tag_key(prefix)
    limit = max(1, min(int(limit), 100))
    uses = func.count(FileTag.id).label("uses")
    q = (select(Tag.name, Tag.key, uses).outerjoin(FileTag, FileTag.tag_id == Tag.id)
         .group_by(Tag.id, Tag.name, Tag.key))
    if p:
        q = q.where(_containing(p))
    rows = db.session.execute(q).all()
    db.session.commit()
    rows.sort(key=lambda r: (not r.key.startswith(p), -r.uses, r.key, r.name))
    return [{"name": r.name, "uses": r.uses} for r in rows[:limit]]


def listing(q: str = "", limit: int = 200, offset: int = 0) -> dict[str, object]:
    """Every tag (or those containing `q`) with its use count, most used first, one page at a time."""
    p = normalize(q)
    limit = max(1, min(int(limit), LIST_MAX))
    offset = max(0, int(offset))
    uses = func.count(FileTag.id).label("uses")
    base = (select(Tag.id, Tag.name, uses).outerjoin(FileTag, FileTag.tag_id == Tag.id)
            .group_by(Tag.id, Tag.name, Tag.key))
    total_q = select(func.count()).select_from(Tag)
    if p:
        like = _containing(p)
        base = base.where(like)
        total_q = total_q.where(like)
    rows = db.session.execute(base.order_by(uses.desc(), Tag.key).limit(limit).offset(offset)).all()
    total = db.session.execute(total_q).scalar_one()
    db.session.commit()
    return {"tags": [{"name": r.name, "uses": r.uses} for r in rows], "total": total,
            "offset": offset, "limit": limit}


def on_files(file_ids: Sequence[int]) -> list[dict[str, object]]:
    """The tags present on a set of files, each with how many of those files carry it (most first)."""
    ids = list(dict.fromkeys(file_ids))
    counts: dict[int, int] = {}
    for part in _chunks(ids):
        for tag_id, n in db.session.execute(select(FileTag.tag_id, func.count()).where(FileTag.file_id.in_(part))
                                            .group_by(FileTag.tag_id)).all():
            counts[tag_id] = counts.get(tag_id, 0) + n
    names: dict[int, str] = {}
    tag_ids = list(counts)
    for part in _chunks(tag_ids):
        names.update(db.session.execute(select(Tag.id, Tag.name).where(Tag.id.in_(part))).all())
    db.session.commit()
    out = [{"name": names[t], "files": n} for t, n in counts.items() if t in names]
    out.sort(key=lambda d: (-d["files"], tag_key(d["name"])))
    return out
