"""Screen-size previews of pictures: made once, bounded, never holding the web server.

The examination and duplicate pages show a picture at 1600 px. It is made
on first request from the source and kept in `HOME/previews/<k[:2]>/<k>-1600.jpg`
(k: the content's SHA-256, or "id<N>" for a row without one). This module
owns every rule about making one:

- Bounded reading. A source larger than `PreviewLimits.max_bytes` gets no
  preview (the page shows the thumbnail); a smaller one is read up to its
  analysed size and no further, from the file `source_access.open_source`
  verified (inside its import's folders, the same regular file, same size).
- Bounded work, outside the web process. The decode runs in a child process
  (forked from a `multiprocessing` fork server that has the decoders
  loaded, so a child costs a fork, not an interpreter start) with an address
  space limit and a time limit: a hostile or merely huge file can use
  neither the web server's memory nor its time. A child past the time limit
  is killed.
- Failures are remembered. A source that could not be made into a preview
  (undecodable, timed out, out of memory) leaves `<k>-1600.failed` with the
  reason beside where the preview would be; later requests answer from it at
  once instead of decoding again.
- One slow preview never holds up the others. The same key is decoded by one
  request at a time (others wait for its result, bounded by the time limit);
  different keys decode in parallel up to `PreviewLimits.slots` children,
  and a request that finds every slot busy for longer than the time limit
  gets the thumbnail instead of waiting on.

No Flask here: `web/files.py` turns a `Preview` into a response.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import resource
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from mediaparser.media.atomic import atomic_write

PREVIEW_SIDE = 1600
JPEG_QUALITY = 85

# Diagnostics, read from the environment by preview children only (like
# media/pool.py's): MEDIAPARSER_DEBUG_PREVIEW_TRACE names a folder where each
# decode appends its key to decodes.log when it starts, and waits while a
# file "<key>.hold" exists there — the tests count decodes and hold one open
# with it, instead of relying on timing.
_TRACE_ENV = "MEDIAPARSER_DEBUG_PREVIEW_TRACE"


@dataclass(frozen=True)
class PreviewLimits:
    max_bytes: int = 256 * 1024**2  # larger sources get the thumbnail only
    timeout: float = 20.0  # seconds one decode may take
    slots: int = 2  # decodes at the same time in one web process
    memory_bytes: int = 2 * 1024**3  # address space of one decode child


@dataclass(frozen=True)
class Preview:
    """The answer for one picture: a preview file, or why there is none.

    `status` is set when the source may not be read now (404 gone or
    outside its folders, 410 replaced); otherwise a missing `path` means
    "show the thumbnail" and `reason` says why.
    """

    path: Path | None = None
    reason: str | None = None
    status: int | None = None
    remembered: bool = False  # answered from an earlier failure


def preview_paths(previews_dir: Path, key: str) -> tuple[Path, Path]:
    """Where the preview for `key` lives, and its failure marker."""
    folder = previews_dir / key[:2]
    return folder / f"{key}-{PREVIEW_SIDE}.jpg", folder / f"{key}-{PREVIEW_SIDE}.failed"


def preview_key(sha256: str | None, file_id: int) -> str:
    return sha256 or f"id{file_id}"


# ------------------------------------------------------------ concurrency --

class _KeyLocks:
    """One lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locks: dict[str, list[Any]] = {}  # key -> [lock, users]

    @contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[bool]:
        with self._mutex:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        got = entry[0].acquire(timeout=timeout)
        try:
            yield got
        finally:
            if got:
                entry[0].release()
            with self._mutex:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]


_key_locks = _KeyLocks()
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _slots_for(n: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        if n not in _slots:
            _slots[n] = threading.BoundedSemaphore(n)
        return _slots[n]


# ------------------------------------------------------------------ entry --

def get_preview(settings: Any, row: Any, limits: PreviewLimits = PreviewLimits()) -> Preview:
    """The preview of picture `row` (a MediaFile), made now if needed, within `limits`."""
    from mediaparser.media.fsguard import file_identity
    from mediaparser.usecases.source_access import SourceUnavailable, open_source

    previews_dir = settings.home / "previews"
    key = preview_key(row.sha256, row.id)
    path, failed = preview_paths(previews_dir, key)
    known = _known(path, failed)
    if known is not None:
        return known
    if row.size is not None and row.size > limits.max_bytes:
        # Not remembered: the check costs one comparison, and a raised limit then applies at once.
        return Preview(reason=f"larger than {limits.max_bytes // 1024**2} MB: no preview, only the thumbnail")
    # A second request for the same picture waits for the first one's result
    # (a decode ends within the time limit, so the wait does too).
    with _key_locks.hold(key, timeout=limits.timeout * 2 + 5) as got:
        if not got:
            return Preview(reason="the preview is still being made")
        known = _known(path, failed)
        if known is not None:
            return known
        try:
            src = open_source(settings, row)
        except SourceUnavailable as exc:
            return Preview(reason=exc.message, status=exc.status)
        with src:
            st = os.fstat(src.file.fileno())
            identity = file_identity(st)
            size = st.st_size
        if size > limits.max_bytes:
            return Preview(reason=f"larger than {limits.max_bytes // 1024**2} MB: no preview, only the thumbnail")
        slots = _slots_for(limits.slots)
        if not slots.acquire(timeout=limits.timeout):
            return Preview(reason="the server is busy making other previews")
        try:
            outcome = _decode_in_child(src.path, identity, size, row.file_type or "", row.orientation, path,
                                       key, limits)
        finally:
            slots.release()
        if outcome is None:
            return Preview(path=path)
        kind, message = outcome
        if kind == "source":
            return Preview(reason=message, status=410)
        if kind == "failed":  # the picture's own fault: the same bytes would fail again
            _remember_failure(failed, message)
        return Preview(reason=message)


def _known(path: Path, failed: Path) -> Preview | None:
    if path.is_file():
        return Preview(path=path)
    try:
        reason = json.loads(failed.read_text(encoding="utf-8")).get("reason") or "no preview"
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError):
        reason = "no preview"
    return Preview(reason=str(reason), remembered=True)


def _remember_failure(failed: Path, reason: str) -> None:
    failed.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(failed, text=True, prefix=".tmp-", suffix=".failed") as fh:
        json.dump({"reason": reason, "at": time.time()}, fh)


# ------------------------------------------------------------ the child --

_context_lock = threading.Lock()
_context: Any = None


def _mp_context() -> Any:
    """The fork server context, its decoders imported once (a child is then a plain fork).

    Not a fork of the web process itself: it runs threads, and a fork copies
    locks other threads hold. As with every multiprocessing start method but
    "fork", the main module must be safe to import (`python -m mediaparser`
    and the `mediaparser` script are); a child that cannot start is reported,
    not remembered as the picture's failure.
    """
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["mediaparser.usecases.previews", "mediaparser.media.thumbnails",
                                        "PIL.JpegImagePlugin", "PIL.PngImagePlugin"])
            _context = ctx
        return _context


def _decode_in_child(src: str, identity: tuple[int, int], size: int, file_type: str, orientation: int | None,
                     out: Path, key: str, limits: PreviewLimits) -> tuple[str, str] | None:
    """Make the preview in a child process; None when it was written, else (kind, reason)."""
    ctx = _mp_context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, name=f"mediaparser-preview-{key[:12]}", daemon=True,
                       args=(send, src, identity, size, file_type, orientation, str(out), key, limits))
    try:
        proc.start()
    finally:
        send.close()  # ours: so that a child that dies shows as end-of-file
    deadline = time.monotonic() + limits.timeout
    try:
        if receive.poll(limits.timeout):
            try:
                result = receive.recv()
            except EOFError:
                result = None
        else:
            result = "timeout"
        proc.join(max(0.0, deadline - time.monotonic()) + 1.0)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
        receive.close()
    if result == "timeout":
        return ("failed", f"making the preview took longer than {limits.timeout:g} s")
    if result is None:
        code = proc.exitcode
        if code == -signal.SIGKILL or code == -signal.SIGALRM:
            return ("failed", f"making the preview took longer than {limits.timeout:g} s")
        if code is not None and code < 0:  # killed by a signal while decoding (a crash, the memory limit)
            return ("failed", f"the picture could not be decoded (the decoder stopped: signal {-code})")
        # Exited without an answer: the child could not start (e.g. the main
        # module is not safe to import); not the picture's fault, not remembered.
        return ("error", f"the preview maker did not start (exit code {code}); see the server log")
    if result == ("ok",):
        return None
    return result[0], result[1]


def _child_main(send: Any, src: str, identity: tuple[int, int], size: int, file_type: str,
                orientation: int | None, out: str, key: str, limits: PreviewLimits) -> None:
    """Runs in the child: bounded memory and time, then read, decode, write atomically."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    except (ValueError, OSError):
        pass  # a lower hard limit is already in place
    signal.alarm(int(limits.timeout) + 2)  # a second guard should the parent be gone
    try:
        _trace(key)
        result = _render(src, identity, size, file_type, orientation, Path(out))
    except MemoryError:
        result = ("failed", "not enough memory to make a preview of this picture")
    except Exception as exc:  # noqa: BLE001 — a hostile file must only cost its own preview
        result = ("failed", f"no preview: {type(exc).__name__}: {exc}")
    try:
        send.send(result)
    finally:
        send.close()


def _render(src: str, identity: tuple[int, int], size: int, file_type: str, orientation: int | None,
            out: Path) -> tuple[str, str]:
    from mediaparser.media.fsguard import FileReplaced, NotRegularFile, open_regular
    from mediaparser.media.thumbnails import ThumbnailError, decode_image

    changed = ("source", "the original file was replaced or changed since it was imported")
    try:
        # The file the web process verified (same device and inode), not whatever the path holds now.
        fh = open_regular(src, expect=identity)
    except (FileReplaced, NotRegularFile, OSError):
        return changed
    with fh:
        if os.fstat(fh.fileno()).st_size != size:
            return changed
        data = fh.read(size)  # never more than the size that was checked against the limit
    try:
        img = decode_image(data, file_type, orientation, PREVIEW_SIDE).image
    except ThumbnailError as exc:
        return ("failed", str(exc))
    del data
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, prefix=".tmp-", suffix=".jpg") as f:
        img.save(f, "JPEG", quality=JPEG_QUALITY)
    return ("ok",)


def _trace(key: str) -> None:
    folder = os.environ.get(_TRACE_ENV)
    if not folder:
        return
    with open(os.path.join(folder, "decodes.log"), "a", encoding="utf-8") as fh:
        fh.write(key + "\n")
    hold = os.path.join(folder, f"{key}.hold")
    while os.path.exists(hold):
        time.sleep(0.05)
