"""Tags on files: automatic tags at import, a person's tags on a selection, rename/merge, autocomplete.

The rule that finds automatic tags is pure and lives in media/tags.py; this
module writes them. `record_auto_tags` runs inside the importer's checkpoint
transaction (services/importer.py), so a file's tags land together with its
analysis result or not at all — a worker killed mid-batch leaves neither.

Every name goes through `media.tags.normalize`, so "Beach", " beach " and
"BEACH" are one tag.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..db import db, write_transaction
from ..media.tags import auto_tags, normalize
from ..models import FileTag, MediaFile, Tag, utcnow

ORIGINS = ("folder", "filename", "user", "carried")
MAX_NAMES = 100
LIST_MAX = 1000  # tags one listing page may hold
CHUNK = 5000  # ids per IN (...) list: SQLite allows ~32k bound values per statement


class TagError(ValueError):
    """The request cannot be done; the message is for the user."""


def _insert(session: Session, model):
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def _clean_names(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for raw in names:
        if not isinstance(raw, str):
            raise TagError("tags are text")
        n = normalize(raw)
        if n and n not in out:
            out.append(n)
    if len(out) > MAX_NAMES:
        raise TagError(f"at most {MAX_NAMES} tags at once")
    return out


def ensure_tags(session: Session, names: Sequence[str]) -> dict[str, int]:
    """Tag ids by (already normalised) name, creating missing tags; safe against concurrent creators."""
    if not names:
        return {}
    session.connection().execute(_insert(session, Tag).on_conflict_do_nothing(index_elements=["name"]),
                                 [{"name": n} for n in names])
    return dict(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(list(names)))).all())


def link(session: Session, pairs: Sequence[tuple[int, str, str]]) -> int:
    """Attach (file_id, tag name, origin) triples; existing links are kept as they are."""
    if not pairs:
        return 0
    ids = ensure_tags(session, sorted({name for _f, name, _o in pairs}))
    now = utcnow()
    rows = [{"file_id": f, "tag_id": ids[name], "origin": origin, "created_at": now} for f, name, origin in pairs]
    # RETURNING counts the links that were new on every backend (executemany's
    # rowcount is not reliable on PostgreSQL, where statements are batched).
    res = session.connection().execute(
        _insert(session, FileTag).on_conflict_do_nothing(index_elements=["file_id", "tag_id"])
        .returning(FileTag.id), rows)
    return len(res.all())


def record_auto_tags(session: Session, files: Sequence[tuple[int, str]]) -> int:
    """Automatic tags for (file_id, rel_path) pairs, in the caller's transaction."""
    return link(session, [(fid, t.name, t.origin) for fid, rel in files for t in auto_tags(rel)])


def tags_of(file_ids: Iterable[int]) -> dict[int, list[dict[str, str]]]:
    """Each file's tags with their origin, sorted by name."""
    ids = list(file_ids)
    out: dict[int, list[dict[str, str]]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(select(FileTag.file_id, Tag.name, FileTag.origin)
                                  .join(Tag, Tag.id == FileTag.tag_id)
                                  .where(FileTag.file_id.in_(ids)).order_by(Tag.name)).all()
        db.session.commit()
        for fid, name, origin in rows:
            out[fid].append({"name": name, "origin": origin})
    return out


@dataclass(frozen=True)
class Changed:
    files: int
    links: int
    tags: list[str]


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


def add_tags(file_ids: Sequence[int], names: Iterable[str]) -> Changed:
    """A person adds tags to a selection (origin "user"); tags already there stay as they were."""
    clean = _clean_names(names)
    if not clean:
        raise TagError("give at least one tag")
    with write_transaction() as s:
        ids = _existing_files(s, file_ids)
        added = link(s, [(f, n, "user") for f in ids for n in clean])
    return Changed(len(ids), added, clean)


def remove_tags(file_ids: Sequence[int], names: Iterable[str]) -> Changed:
    """Remove tags from a selection, whatever their origin. Tags left unused are deleted too."""
    clean = _clean_names(names)
    if not clean:
        raise TagError("give at least one tag")
    with write_transaction() as s:
        ids = _existing_files(s, file_ids)
        tag_ids = list(s.execute(select(Tag.id).where(Tag.name.in_(clean))).scalars())
        removed = 0
        if tag_ids:
            for part in _chunks(ids):
                res = s.execute(delete(FileTag).where(FileTag.file_id.in_(part), FileTag.tag_id.in_(tag_ids))
                                .execution_options(synchronize_session=False))
                removed += res.rowcount or 0
            _drop_unused(s, tag_ids)
    return Changed(len(ids), removed, clean)


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


def _rename_plan(s: Session, old: str, new: str) -> tuple[Renamed, Tag, Tag | None]:
    o, n = normalize(old), normalize(new)
    if not o or not n:
        raise TagError("give the tag and its new name")
    src = s.execute(select(Tag).where(Tag.name == o)).scalar_one_or_none()
    if src is None:
        raise TagError(f"there is no tag “{o}”")

    def count(tag_id: int) -> int:
        return s.execute(select(func.count()).select_from(FileTag).where(FileTag.tag_id == tag_id)).scalar_one()

    dst = None if o == n else s.execute(select(Tag).where(Tag.name == n)).scalar_one_or_none()
    return Renamed(o, n, count(src.id), dst is not None, count(dst.id) if dst is not None else 0), src, dst


def preview_rename(old: str, new: str) -> Renamed:
    """What `rename_tag` would do, changing nothing: lets the page ask before a merge."""
    plan, _src, _dst = _rename_plan(db.session, old, new)
    db.session.commit()
    return plan


def rename_tag(old: str, new: str) -> Renamed:
    """Rename a tag everywhere; when the new name exists the two are merged (each file keeps one link)."""
    with write_transaction() as s:
        plan, src, dst = _rename_plan(s, old, new)
        if plan.old == plan.new:
            return plan
        if dst is None:
            src.name = plan.new
            return plan
        # Merge: files already carrying the target keep their link; the others move over.
        already = select(FileTag.file_id).where(FileTag.tag_id == dst.id)
        s.execute(delete(FileTag).where(FileTag.tag_id == src.id, FileTag.file_id.in_(already))
                  .execution_options(synchronize_session=False))
        s.execute(FileTag.__table__.update().where(FileTag.tag_id == src.id).values(tag_id=dst.id))
        s.execute(delete(Tag).where(Tag.id == src.id).execution_options(synchronize_session=False))
    return plan


def _containing(text: str):
    """Tag names containing `text` literally (LIKE's wildcards escaped)."""
    like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Tag.name.like(f"%{like}%", escape="\\")


def autocomplete(prefix: str = "", limit: int = 20) -> list[dict[str, object]]:
    """Tags starting with `prefix` (then containing it), most used first."""
    p = normalize(prefix)
    limit = max(1, min(int(limit), 100))
    uses = func.count(FileTag.id).label("uses")
    q = (select(Tag.name, uses).outerjoin(FileTag, FileTag.tag_id == Tag.id).group_by(Tag.id, Tag.name))
    if p:
        q = q.where(_containing(p))
    rows = db.session.execute(q).all()
    db.session.commit()
    rows.sort(key=lambda r: (not r.name.startswith(p), -r.uses, r.name))
    return [{"name": r.name, "uses": r.uses} for r in rows[:limit]]


def listing(q: str = "", limit: int = 200, offset: int = 0) -> dict[str, object]:
    """Every tag (or those containing `q`) with its use count, most used first, one page at a time."""
    p = normalize(q)
    limit = max(1, min(int(limit), LIST_MAX))
    offset = max(0, int(offset))
    uses = func.count(FileTag.id).label("uses")
    base = select(Tag.id, Tag.name, uses).outerjoin(FileTag, FileTag.tag_id == Tag.id).group_by(Tag.id, Tag.name)
    total_q = select(func.count()).select_from(Tag)
    if p:
        like = _containing(p)
        base = base.where(like)
        total_q = total_q.where(like)
    rows = db.session.execute(base.order_by(uses.desc(), Tag.name).limit(limit).offset(offset)).all()
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
    out.sort(key=lambda d: (-d["files"], d["name"]))
    return out
