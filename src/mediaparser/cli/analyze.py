"""`mediaparser analyze PATH...`: analyse files and print one JSON object each.

Walks files and folders as an import would (`media.walk`: sidecars are read
with their media file, not listed on their own; a link out of the folder, a
broken link or a pipe is reported on stderr), analyses in a process pool on
all cores, and prints results in input order — pretty JSON by default, one line per file
with `--jsonl`. A bad file prints its `error` and the walk goes on; a summary
goes to stderr. Google Takeout parts (`takeout-…-001.zip`, `.tgz`) are unpacked
together into a temporary folder (removed at the end) and their photos analysed
with their JSON facts (`"takeout"`), named `[Google Takeout <export>]/…`.
Each object says which stack its file belongs to (media.stacking: a Live
Photo, a RAW+JPEG pair, a burst, an edited copy): `"stack": {"kind", "role",
"lead"}` with the lead's path, or null. Stacks form within a folder, so a
folder's objects are printed together once the walk leaves it.
Registered on the main command group by cli.py.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import ExitStack
from functools import partial
from itertools import chain
from pathlib import Path

import click

from mediaparser.config import system_zone

from mediaparser.media.analyze import DEFAULT_TIME_LIMIT, analysis_dict, analysis_dicts
from mediaparser.media.exiftool import exiftool_version, find_exiftool
from mediaparser.media.stacking import facts_from_analysis, find_stacks
from mediaparser.media.timestamps import resolve_zone
from mediaparser.media.takeout import parse_part_name, unpack_parts
from mediaparser.media.walk import TAKEOUT_PART, iter_media_paths_with_roots


@click.command("analyze")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=True, dir_okay=True))
@click.option("--jsonl", is_flag=True, help="One compact JSON object per line instead of pretty JSON.")
@click.option("--timezone", "zone", default=lambda: os.environ.get("MEDIAPARSER_TIMEZONE") or (system_zone() or ("UTC",))[0],
              show_default="$MEDIAPARSER_TIMEZONE, else this computer's zone, else UTC",
              help="Time zone for times stored only in UTC (video headers, GPS), e.g. Europe/Berlin.")
@click.option("--workers", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="all cores", help="Parallel worker processes.")
@click.option("--no-thumbnails", is_flag=True, help="Skip decoding: no thumbnail and no perceptual hash (much faster).")
@click.option("--thumb-dir", type=click.Path(file_okay=False), default=None,
              help="Write thumbnails (JPEG, 320 px) into this folder; without it they are only hashed.")
@click.option("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, show_default=True,
              help="Seconds allowed per file before it is reported as an error.")
@click.option("--timings", is_flag=True, help="Add per-stage timings (ms) to each object.")
@click.option("--exiftool", "exiftool_setting", default=lambda: os.environ.get("MEDIAPARSER_EXIFTOOL", "off"),
              show_default="off or $MEDIAPARSER_EXIFTOOL", metavar="off|auto|PATH",
              help="Ask ExifTool (when installed) about the files our readers found no date in.")
def analyze_command(paths: tuple[str, ...], jsonl: bool, zone: str, workers: int, no_thumbnails: bool,
                    thumb_dir: str | None, time_limit: float, timings: bool, exiftool_setting: str) -> None:
    """Analyse photos and videos: real type, hash, metadata, capture time with
    confidence and reasons, perceptual hashes. Prints one JSON object per file."""
    try:
        resolve_zone(zone)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--timezone") from None
    exe = find_exiftool(exiftool_setting)
    if exiftool_setting.strip().lower() not in ("", "off") and exe is None:
        click.echo(f"exiftool: not installed ({exiftool_setting!r} not found); no second opinion", err=True)
    work = partial(analysis_dict, timezone=zone, thumb_dir=thumb_dir, with_thumbnail=not no_thumbnails,
                   timings=timings, exiftool=exe)
    skipped = 0

    def skip(path: str, why: str) -> None:
        nonlocal skipped
        skipped += 1
        click.echo(f"skipped {path}: {why}", err=True)

    # Google Takeout parts (named, or met in a folder) are unpacked together into
    # one temporary folder after the rest, so a photo meets its JSON from another part.
    parts = [p for p in paths if os.path.isfile(p) and parse_part_name(p)]
    stack = ExitStack()
    unpacked: dict[str, str] = {}  # temporary folder -> how the output names it

    def walk_skip(path: str, why: str) -> None:
        if why == TAKEOUT_PART:
            parts.append(path)
        else:
            skip(path, why)

    def takeout_items():
        if not parts:
            return
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="mediaparser-takeout-"))
        counts = unpack_parts(parts, Path(tmp))
        exports = sorted({parse_part_name(p).export for p in parts})
        unpacked[tmp] = f"[Google Takeout {', '.join(exports)}]"
        click.echo(f"unpacked {len(parts)} Google Takeout part(s) into a temporary folder: {counts['files']} file(s)"
                   + (f", {counts['refused']} not unpacked" if counts["refused"] else ""), err=True)
        yield from iter_media_paths_with_roots([tmp], on_skip=skip)

    items = chain(iter_media_paths_with_roots([p for p in paths if p not in parts], on_skip=walk_skip), takeout_items())
    count = errors = 0
    second_opinion: dict[str, int] = {}

    folder: list[dict] = []  # the objects of the folder being walked, printed when the walk leaves it
    stacked = stacks_found = 0

    def flush() -> None:
        nonlocal stacked, stacks_found
        found = find_stacks(facts_from_analysis(i, d) for i, d in enumerate(folder) if d["error"] is None)
        roles = {i: (st, role) for st in found for i, role in st.roles.items()}
        stacked += len(roles)
        stacks_found += len(found)
        for i, d in enumerate(folder):
            st, role = roles.get(i, (None, None))
            d["stack"] = {"kind": st.kind, "role": role, "lead": folder[st.lead]["path"]} if st else None
            click.echo(json.dumps(d, ensure_ascii=False, separators=(",", ":")) if jsonl
                       else json.dumps(d, ensure_ascii=False, indent=2))
        folder.clear()

    def emit(d: dict) -> None:
        nonlocal count, errors
        for tmp, label in unpacked.items():  # name unpacked files by their place in the parts
            d["path"] = d["path"].replace(tmp, label, 1)
            d["sidecars"] = [x.replace(tmp, label, 1) for x in d["sidecars"]]
        count += 1
        errors += d["error"] is not None
        if d.get("exiftool"):
            second_opinion[d["exiftool"]] = second_opinion.get(d["exiftool"], 0) + 1
        if folder and os.path.dirname(folder[-1]["path"]) != os.path.dirname(d["path"]):
            flush()
        folder.append(d)

    # The pool owns the time limit: an alarm for slow Python work, a hard
    # deadline for a decoder stuck inside C code, a crash costs one file.
    with stack:
        for d in analysis_dicts(work, items, workers, time_limit_s=time_limit):
            emit(d)
        flush()
    click.echo(f"{count} file(s) analysed, {errors} with errors"
               + (f", {skipped} skipped" if skipped else "")
               + (f", {stacked} in {stacks_found} stack(s)" if stacks_found else ""), err=True)
    click.echo(_exiftool_summary(exiftool_setting, exe, second_opinion), err=True)
    sys.stdout.flush()


def _exiftool_summary(setting: str, exe: str | None, asked: dict[str, int]) -> str:
    """The summary's line about ExifTool's second opinion: off, absent, or what it added."""
    if setting.strip().lower() in ("", "off"):
        return "exiftool second opinion: off (--exiftool auto asks it about files with no date)"
    if exe is None:
        return "exiftool second opinion: absent (exiftool is not installed)"
    total = sum(asked.values())
    return (f"exiftool second opinion: on (ExifTool {exiftool_version(exe) or '?'}): asked about {total} file(s) "
            f"with no date, {asked.get('dated', 0)} dated by it"
            + (f", {asked['no answer']} without an answer" if asked.get("no answer") else ""))
