"""Targeted mutants: does breaking one rule that protects originals, the lease, the CSRF check or
the capture-time ranking or the name and folder date rules fail some test?

    .venv/bin/python bench/mutants.py                 # every mutant, on the working tree
    .venv/bin/python bench/mutants.py --ref HEAD      # on a commit (src/ and tests/ from git)
    .venv/bin/python bench/mutants.py -k cleanup      # only mutants whose name contains "cleanup"
    .venv/bin/python bench/mutants.py --list          # the mutants, without running them
    .venv/bin/python bench/mutants.py --baseline      # first run each test subset unmutated

Each mutant names a file under src/mediaparser/, an exact snippet of its source, the
replacement, the rule it breaks and the test files that guard that rule. One at a time, the
script copies src/, tests/ and pyproject.toml into a temporary folder (never touching the
working tree, where others may be editing), applies the mutant to the copy, and runs
`pytest -x -q` on the mutant's test files there with PYTHONPATH pointing at the copy's src/ —
PYTHONPATH comes before the editable install's path entry, and the worker and server
subprocesses the tests start inherit it. Before any mutant runs, the script checks that
`mediaparser` imports from the copy, both in a plain interpreter and under pytest; the
`sanity` mutant (an import that fails) must be killed too.

Outcomes: `killed` (a test failed: the rule is guarded), `survived` (every test passed: the
rule is not guarded, or the mutant does not change behaviour — each known case is noted in
EQUIVALENT), `timeout` (counted as killed: the run hung). A snippet that is not in the file,
or found more often than the mutant says, is an error that stops the run: a stale mutant
must never count as killed or survived. Service-backed test variants are skipped (the
MEDIAPARSER_TEST_* variables are removed): the mutants are about the rules, not the backend.

Exit status: 0 when every mutant is killed or listed in EQUIVALENT, 1 otherwise, 2 on a
stale mutant or a broken set-up.

Measured on the 2-core development VM: 48 mutants in 119 s on a quiet machine (334 s with
baselines while others' tests ran). `.ci/run` runs it after `make test`, so a rule that loses
its guarding test fails CI; run it by hand when a guarded rule or its tests change.
Before the tests added with this script, 14 of 39 mutants survived, among them the three the
issue names (cleanup-keeper-only-for-set-aside, export-disk-hash, time-precision-before-trust);
now every survivor is one of EQUIVALENT, each with the reason.
"""
from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "src/mediaparser"

CLEANUP_TESTS = ("tests/usecases/test_cleanup.py", "tests/usecases/test_cleanup_guards.py")
EXPORT_TESTS = ("tests/usecases/export/test_export_write.py", "tests/usecases/export/test_export.py")
LEASE_TESTS = ("tests/runtime/test_lifecycle.py",)
CSRF_TESTS = ("tests/web/test_security.py",)
TIME_TESTS = ("tests/media/test_timestamps.py",)
NAME_TESTS = ("tests/media/test_filenames.py", "tests/media/test_name_cases.py")


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # under src/mediaparser/
    find: str  # exact source text; must occur exactly `count` times
    replace: str
    rule: str  # the rule the mutant breaks, in words
    tests: tuple[str, ...]
    count: int = 1


MUTANTS: list[Mutant] = [
    Mutant("sanity", "media/timestamps.py", "    zone = resolve_zone(zone_name)\n",
           "    raise RuntimeError('the mutated copy is imported')\n",
           "the mutated copy is what the tests import (must be killed)", TIME_TESTS),

    # --- clean-up: the one step that deletes originals (usecases/cleanup.py) ------------------
    Mutant("cleanup-keeper-only-for-set-aside", "usecases/cleanup.py",
           'mine.decision == "discard", other.decision == "keep"', 'other.decision == "keep"',
           "(a) only a member a person set aside may go through a group-mate's export", CLEANUP_TESTS),
    Mutant("cleanup-keeper-must-be-kept", "usecases/cleanup.py",
           'mine.decision == "discard", other.decision == "keep"', 'mine.decision == "discard"',
           "the group-mate whose export counts must be one a person kept", CLEANUP_TESTS),
    Mutant("cleanup-verified-entry-only", "usecases/cleanup.py",
           "ManifestEntry.file_id.in_(file_ids[i:i + 500]), ManifestEntry.verified.is_(True))",
           "ManifestEntry.file_id.in_(file_ids[i:i + 500]))",
           "only a verified manifest entry counts as an export", CLEANUP_TESTS),
    Mutant("cleanup-sha-equality", "usecases/cleanup.py",
           "if entry is None or entry.sha256 != r.sha256:", "if entry is None:",
           "the file's own entry must be of the analysed content (same SHA-256)", CLEANUP_TESTS),
    Mutant("cleanup-not-analysed", "usecases/cleanup.py",
           "if r.status != FileStatus.DONE or not r.sha256:", "if not r.sha256:",
           "a file whose analysis did not finish is never deleted", CLEANUP_TESTS),
    Mutant("cleanup-not-the-archive", "usecases/cleanup.py",
           "        if r.id in archived:\n", "        if False:\n",
           "a file of the archive itself (imported again) is never a source to delete", CLEANUP_TESTS),
    Mutant("cleanup-inside-job-root", "usecases/cleanup.py",
           "return _inside(real, job_root) and settings.path_in_import_roots(real) is not None",
           "return settings.path_in_import_roots(real) is not None",
           "only files inside the import's own folder", CLEANUP_TESTS),
    Mutant("cleanup-inside-import-roots", "usecases/cleanup.py",
           "return _inside(real, job_root) and settings.path_in_import_roots(real) is not None",
           "return _inside(real, job_root)",
           "only files inside the import roots or the upload folder", CLEANUP_TESTS),
    Mutant("cleanup-roots-checked-again", "usecases/cleanup.py",
           "    if not _in_roots(settings, Path(os.path.realpath(d.path)), Path(d.job_root)):\n",
           "    if False:\n",
           "right before deleting, the source still lies inside the roots", CLEANUP_TESTS),
    Mutant("cleanup-working-copies-opt-in", "usecases/cleanup.py",
           "if working and not working_copies:", "if False:",
           "uploaded working copies only when asked for", CLEANUP_TESTS),
    Mutant("cleanup-source-regular", "usecases/cleanup.py",
           "        if not stat.S_ISREG(st.st_mode):\n            plan.keep", "        if False:\n            plan.keep",
           "a source replaced by a link (or anything not a regular file) is never listed", CLEANUP_TESTS),
    Mutant("cleanup-changed-size", "usecases/cleanup.py",
           "if st.st_size != r.size or (", "if (",
           "a source whose size changed since the import stays", CLEANUP_TESTS),
    Mutant("cleanup-changed-mtime", "usecases/cleanup.py",
           " or (r.mtime is not None and abs(st.st_mtime - r.mtime) > 1e-3):", ":",
           "a source whose modification time changed since the import stays", CLEANUP_TESTS),
    Mutant("cleanup-copy-must-exist", "usecases/cleanup.py",
           "    except OSError:\n        return KEEP_COPY_MISSING\n    if not stat.S_ISREG(cst.st_mode):",
           "    except OSError:\n        return None\n    if not stat.S_ISREG(cst.st_mode):",
           "a source whose archive copy is missing is never listed", CLEANUP_TESTS),
    Mutant("cleanup-copy-other-realpath", "usecases/cleanup.py",
           "if os.path.realpath(copy_path) == source_real or (cst.st_dev",
           "if (cst.st_dev",
           "the archive copy is another real path than the source", CLEANUP_TESTS),
    Mutant("cleanup-copy-other-inode", "usecases/cleanup.py",
           " or (cst.st_dev, cst.st_ino) == (source.st_dev, source.st_ino):", ":",
           "the archive copy is another file (device + inode) than the source", CLEANUP_TESTS),
    Mutant("cleanup-source-rehashed", "usecases/cleanup.py",
           "if sha256_stream(fh) != d.source_sha256:", "if False:",
           "right before deleting, the source is re-hashed to the analysed SHA-256", CLEANUP_TESTS),
    Mutant("cleanup-archive-reverified", "usecases/cleanup.py",
           "if copy is None or copy[1] != d.final_sha256:", "if copy is None:",
           "right before deleting, the archive copy hashes to what the manifest recorded", CLEANUP_TESTS),
    Mutant("cleanup-copy-rechecked", "usecases/cleanup.py",
           "        problem = _copy_problem(src, os.path.realpath(d.path), d.archived_as)\n        if problem:",
           "        problem = None\n        if problem:",
           "right before deleting, the archive copy is again checked to be another file", CLEANUP_TESTS),
    Mutant("cleanup-name-still-same-file", "usecases/cleanup.py",
           "if (now.st_dev, now.st_ino) != (src.st_dev, src.st_ino):", "if False:",
           "the name unlinked is the very file that was hashed", CLEANUP_TESTS),

    # --- export verification (usecases/export/) -------------------------------------------
    Mutant("export-memory-hash", "usecases/export/verify.py",
           "return data if hashlib.sha256(data).hexdigest() == expected_sha else None", "return data",
           "in-memory path: the source read must hash to the analysed SHA-256", EXPORT_TESTS),
    Mutant("export-memory-size", "usecases/export/verify.py",
           "if size != expected_size:  # not the analysed file", "if False:  # not the analysed file",
           "in-memory path: a source of another size is refused before it is read", EXPORT_TESTS),
    Mutant("export-disk-hash", "usecases/export/verify.py",
           "    if sha256_file(tmp) != expected_sha:\n        return SOURCE_CHANGED",
           "    if False:\n        return SOURCE_CHANGED",
           "(b) on-disk copy path: the kernel copy must hash to the analysed SHA-256", EXPORT_TESTS),
    Mutant("export-readback-compare", "usecases/export/verify.py",
           "return n == len(data) and buf.startswith(data)", "return True",
           "the written copy is read back and compared with the bytes that were hashed", EXPORT_TESTS),
    Mutant("export-readback-length", "usecases/export/verify.py",
           "return n == len(data) and buf.startswith(data)", "return buf.startswith(data)",
           "a copy with bytes beyond the data written is caught", EXPORT_TESTS),
    Mutant("export-readback-ignored", "usecases/export/run.py",
           "    if not matches_on_disk(tmp, data):\n        _remove(tmp)",
           "    if not matches_on_disk(tmp, data) and False:\n        _remove(tmp)",
           "a copy that does not read back as written is refused", EXPORT_TESTS),

    # --- the lease fence (runtime/lifecycle.py) ---------------------------------------------------
    Mutant("lease-fence-owner", "runtime/lifecycle.py",
           ".where(Job.id == lease.job_id, Job.lease_owner == lease.owner)", ".where(Job.id == lease.job_id)",
           "a checkpoint writes only while the lease is still this worker's", LEASE_TESTS),
    Mutant("lease-claim-running-is-taken", "runtime/lifecycle.py",
           "and_(Job.status == JobStatus.RUNNING, or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale)),",
           "Job.status == JobStatus.RUNNING,",
           "a running job with a fresh heartbeat cannot be claimed", LEASE_TESTS),
    Mutant("lease-claim-attempts", "runtime/lifecycle.py",
           ".where(Job.id == job_id, claimable, Job.attempts < Job.max_attempts)",
           ".where(Job.id == job_id, claimable)",
           "no claim beyond max_attempts", LEASE_TESTS),
    Mutant("lease-claim-one-owner", "runtime/lifecycle.py",
           "claimed = res.rowcount == 1", "claimed = True",
           "a claim that changed no row is not a claim", LEASE_TESTS),

    # --- CSRF (web/security.py) ----------------------------------------------------------------
    Mutant("csrf-origin", "web/security.py",
           "(origin is not None and not _same_origin(origin)) or ", "",
           "a request whose Origin names another site is refused", CSRF_TESTS),
    Mutant("csrf-sec-fetch-site", "web/security.py",
           ' or (site is not None and site not in ("same-origin", "none"))', "",
           "a request whose Sec-Fetch-Site is another site is refused", CSRF_TESTS),
    Mutant("csrf-token-compare", "web/security.py",
           "not hmac.compare_digest(str(sent), str(expected))", "False",
           "the token sent must be the session's", CSRF_TESTS),
    Mutant("csrf-token-browser", "web/security.py",
           "if from_browser or s.password:", "if s.password:",
           "a browser's request needs the token even without a password", CSRF_TESTS),
    Mutant("csrf-null-origin", "web/security.py",
           'if origin == "null":\n        return False', 'if origin == "null":\n        return True',
           "an opaque (null) origin is another site", CSRF_TESTS),

    # --- capture-time ranking (media/timestamps.py) --------------------------------------------
    Mutant("time-precision-before-trust", "media/timestamps.py",
           "return (c.forced, c.info.trust, _PRECISION_RANK[c.precision])",
           "return (c.forced, _PRECISION_RANK[c.precision], c.info.trust)",
           "(c) rank by trust before precision", TIME_TESTS),
    Mutant("time-force-first", "media/timestamps.py",
           "return (c.forced, c.info.trust, _PRECISION_RANK[c.precision])",
           "return (c.info.trust, c.forced, _PRECISION_RANK[c.precision])",
           "a [FORCE] name beats every source", TIME_TESTS),
    Mutant("time-earliest-wins", "media/timestamps.py",
           "ordered = sorted(usable, key=rank, reverse=True)",
           "ordered = sorted(usable, key=lambda c: (not c.forced, c.value))",
           "never 'earliest wins'", TIME_TESTS),
    Mutant("time-reject-before-1826", "media/timestamps.py",
           "if c.value.year < MIN_YEAR:", "if False:",
           "years before the first photograph are rejected", TIME_TESTS),
    Mutant("time-reject-future", "media/timestamps.py",
           "    elif is_future(c.value, now):\n        if keep_future:", "    elif False:\n        if keep_future:",
           "a future date is rejected in names and typed dates, flagged in the file's own tags", TIME_TESTS),
    Mutant("time-future-is-low", "media/timestamps.py",
           "    elif is_future(winner.value, now):\n        confidence = Confidence.LOW\n", "",
           "a camera clock in the future is kept but only at LOW", TIME_TESTS),
    Mutant("time-gps-fix-not-shutter", "media/timestamps.py",
           'if winner.source.startswith("gps:") and not winner.forced:', "if False:",
           "a camera ModifyDate one zone shift from the GPS time is the capture, not the GPS fix", TIME_TESTS),
    Mutant("time-default-dates", "media/timestamps.py",
           "if better:\n        for c in usable:", "if False:\n        for c in usable:",
           "a camera's default date loses to anything better", TIME_TESTS),
    Mutant("time-filesystem-never-chosen", "media/timestamps.py",
           'c.accepted and c.value is not None and c.info.family != "filesystem"]',
           "c.accepted and c.value is not None]",
           "the file system time is never chosen", TIME_TESTS),
    Mutant("time-agreement-independent", "media/timestamps.py",
           "if c.info.family != winner.info.family and c.info.trust >= STRONG_TRUST:", "if True:",
           "HIGH needs an independent strong source that agrees", TIME_TESTS),
    Mutant("time-agreement-tolerance", "media/timestamps.py",
           "AGREE_SECONDS = 2\n", "AGREE_SECONDS = 3600\n",
           "agreement is within seconds, not an hour", TIME_TESTS),
    Mutant("time-conflict-is-low", "media/timestamps.py",
           "    elif conflicts:\n        confidence = Confidence.LOW\n", "",
           "a contradicting source makes the confidence LOW", TIME_TESTS),
    Mutant("time-weak-is-low", "media/timestamps.py",
           "    elif not strong:\n        confidence = Confidence.LOW\n", "",
           "a weak source alone is LOW", TIME_TESTS),
    # --- dates in names and folders (media/filenames.py) ----------------------------------------
    Mutant("name-impossible-time-is-weak", "media/filenames.py",
           "weak = pat.weak or overlaps(m)", "weak = pat.weak",
           "a day left over from an impossible time (hour 25, _999999) is only a weak clue", NAME_TESTS),
    Mutant("name-two-digit-century", "media/filenames.py",
           "if yy >= 90:", "if yy >= 70:",
           "a two-digit year between this year and 1990 is refused", NAME_TESTS),
    Mutant("name-folder-camera-dirs", "media/filenames.py",
           '_MONTH_DIR = re.compile(r"^(?P<mo>0?[1-9]|1[0-2])(?:$|[-_ .].*)$")',
           '_MONTH_DIR = re.compile(r"^(?P<mo>0?[1-9]|1[0-2])")',
           "camera folders and counts (100CANON) are no month folders", NAME_TESTS),
    Mutant("time-day-at-most-medium", "media/timestamps.py",
           "if winner.precision == Precision.DAY and confidence == Confidence.HIGH:", "if False:",
           "a day-precision winner is at most MEDIUM", TIME_TESTS),
]

# Mutants that survive because they do not change behaviour (or only where no test can reach):
# name → why. Keep this short and honest; a survivor not listed here fails the run.
EQUIVALENT: dict[str, str] = {
    "cleanup-inside-job-root": "defence in depth: a row's path lies under its import's folder by construction (the "
                               "walk follows no folder link; a file link is refused as not a regular file)",
    "cleanup-copy-other-realpath": "the same real path is the same device + inode, which is checked beside it",
    "cleanup-copy-rechecked": "the delete step compares the copy's device + inode with the source again after hashing "
                              "it, and a missing copy fails the hash check",
    "cleanup-roots-checked-again": "reached only if the roots or the path change between plan and delete (a race "
                                   "no test stages yet)",
    "cleanup-name-still-same-file": "reached only if the name is swapped between the re-hash and the unlink (a race "
                                    "no test stages yet)",
    "export-memory-size": "same outcome (the hash check refuses the file); the check bounds memory, not the result",
}


def _copy_tree(ref: str | None, dest: Path) -> None:
    """src/, tests/ and pyproject.toml of the working tree (ref None) or of a commit."""
    if ref is None:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
        shutil.copytree(ROOT / "src", dest / "src", ignore=ignore)
        shutil.copytree(ROOT / "tests", dest / "tests", ignore=ignore)
        shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
        return
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src", "tests", "pyproject.toml"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAPARSER_TEST_")}
    env["PYTHONPATH"] = str(tree / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _apply(tree: Path, m: Mutant) -> None:
    path = tree / PKG / m.file
    text = path.read_text()
    found = text.count(m.find)
    if found != m.count:
        raise SystemExit(f"STALE MUTANT {m.name}: its snippet occurs {found} times in {PKG}/{m.file} "
                         f"(expected {m.count}); update it to the current code:\n{m.find!r}")
    path.write_text(text.replace(m.find, m.replace))


def _check_import_resolution(tree: Path) -> None:
    """`mediaparser` must come from the copy, in a plain interpreter and under pytest."""
    want = str(tree / PKG / "__init__.py")
    got = subprocess.run([sys.executable, "-c", "import mediaparser; print(mediaparser.__file__)"],
                         cwd=tree, env=_env(tree), capture_output=True, text=True).stdout.strip()
    if got != want:
        raise SystemExit(f"mediaparser imports from {got!r}, not from the copy {want!r}")
    probe = tree / "tests" / "test_zz_mutant_probe.py"
    probe.write_text("import mediaparser\n\ndef test_probe():\n"
                     f"    assert mediaparser.__file__ == {want!r}, mediaparser.__file__\n")
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
                           cwd=tree, env=_env(tree), capture_output=True, text=True)
    finally:
        probe.unlink()
    if r.returncode != 0:
        raise SystemExit(f"under pytest mediaparser does not import from the copy:\n{r.stdout[-2000:]}")


def _present(tree: Path, tests: tuple[str, ...]) -> tuple[str, ...]:
    """The mutant's test files that exist in this tree (a file still to be committed may not)."""
    here = tuple(t for t in tests if (tree / t).exists())
    missing = sorted(set(tests) - set(here))
    if missing:
        print(f"note: not in this tree, not run: {', '.join(missing)}", file=sys.stderr)
    if not here:
        raise SystemExit(f"none of the test files {tests} exists in the tree")
    return here


def _pytest(tree: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float, str]:
    tests = _present(tree, tests)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *tests]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - t0, ""
    took = time.monotonic() - t0
    if r.returncode == 0:
        return "survived", took, r.stdout
    if r.returncode == 1:
        failed = [ln for ln in r.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        return "killed", took, failed[0] if failed else ""
    return f"error (pytest exit {r.returncode})", took, r.stdout[-3000:] + r.stderr[-2000:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--ref", help="take src/ and tests/ from this commit instead of the working tree")
    ap.add_argument("-k", dest="match", default="", help="only mutants whose name contains this")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--baseline", action="store_true", help="run each test subset unmutated first")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant run")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once (default: one per core)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show the first failing test of each kill")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if args.match in m.name]
    if args.list:
        for m in chosen:
            print(f"{m.name:38} {m.file:22} {m.rule}")
        return 0

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mediaparser-mutants-") as tmp:
        pristine = Path(tmp) / "pristine"
        pristine.mkdir()
        _copy_tree(args.ref, pristine)
        work = Path(tmp) / "work"
        shutil.copytree(pristine, work)
        _check_import_resolution(work)
        for m in chosen:  # every snippet first: a stale mutant stops the run before it costs anything
            _apply(work, m)
            shutil.rmtree(work)
            shutil.copytree(pristine, work)
        if args.baseline:
            for tests in sorted({m.tests for m in chosen}):
                outcome, took, detail = _pytest(work, tests, args.timeout)
                print(f"baseline {' '.join(tests)}: {'passes' if outcome == 'survived' else outcome} "
                      f"({took:.1f} s)")
                if outcome != "survived":
                    print(detail)
                    return 2
        # One working tree per core: mutants run side by side, each in a tree of its own.
        trees: queue.Queue[Path] = queue.Queue()
        trees.put(work)
        for i in range(1, max(1, min(args.jobs, len(chosen)))):
            extra = Path(tmp) / f"work{i}"
            shutil.copytree(pristine, extra)
            trees.put(extra)

        def run(m: Mutant) -> tuple[str, float, str]:
            tree = trees.get()
            try:
                target = tree / PKG / m.file
                original = target.read_text()
                _apply(tree, m)
                try:
                    return _pytest(tree, m.tests, args.timeout)
                finally:
                    target.write_text(original)
            finally:
                trees.put(tree)

        rows = []
        print(f"{'mutant':38} {'outcome':9} {'seconds':>7}  rule")
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for m, (outcome, took, detail) in zip(chosen, pool.map(run, chosen)):
                if outcome.startswith("error"):
                    print(f"{m.name}: the test run broke, not a verdict:\n{detail}")
                    pool.shutdown(cancel_futures=True)
                    return 2
                rows.append((m, outcome, took))
                note = f"  [{EQUIVALENT[m.name]}]" if outcome == "survived" and m.name in EQUIVALENT else ""
                print(f"{m.name:38} {outcome:9} {took:7.1f}  {m.rule}{note}", flush=True)
                if args.verbose and detail and outcome == "killed":
                    print(f"{'':48} by {detail}")
    killed = sum(1 for _m, o, _t in rows if o in ("killed", "timeout"))
    survivors = [m for m, o, _t in rows if o == "survived"]
    unexplained = [m.name for m in survivors if m.name not in EQUIVALENT]
    print(f"\n{len(rows)} mutants: {killed} killed, {len(survivors)} survived "
          f"({len(survivors) - len(unexplained)} listed as equivalent); {time.monotonic() - start:.0f} s in all")
    if unexplained:
        print("survivors no test notices: " + ", ".join(unexplained))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
