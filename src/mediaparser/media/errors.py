"""Why a file failed, in words a family member understands — and the technical detail behind it.

The one place that turns a per-file error (what a reader, a decoder, the
pool or the export said) into a plain sentence plus a technical detail. Pure:
text in, `Explained` out. The importer stores both (`media_files.error` and
`error_detail`); readers of older rows, whose `error` holds only the raw text,
and of export items (whose `reason` is one text) call `explain` on what they
have, so every screen shows the same sentence for the same trouble.

The detail keeps what a technician needs and drops what only confuses or
changes from run to run: memory addresses (`<_io.BytesIO object at 0x7f…>`)
and error numbers that are no operating-system error (`[Errno 541478725]` is
FFmpeg's end-of-file code seen through Python's OSError).

The rules are tried in order; the first whose pattern occurs in the raw text
(case ignored) gives the sentence. Text no rule knows gets GENERIC, with the
raw text as the detail.
"""
from __future__ import annotations

import errno
import re
from dataclasses import dataclass

GENERIC = "MediaParser could not read this file. The details below say what went wrong."

# (pattern, sentence) — the first match wins, so narrower patterns come first.
RULES: tuple[tuple[str, str], ...] = (
    (r"google takeout part could not be read",
     "This Google Takeout part is damaged or was not downloaded completely. Whatever could be read of it was "
     "imported; download it again and import it the same way for the rest."),
    (r"empty file|\(0 bytes\)",
     "The file is empty (0 bytes) — the copy it came from probably failed."),
    (r"end of file|truncated|premature end|unexpected end|ended early|\beof\b|not enough data",
     "The file ends early — it was probably cut off while copying."),
    (r"took longer than|did not finish within",
     "Reading this file took too long, so MediaParser gave up on it (it may be damaged or unusually large)."),
    (r"analysis crashed",
     "The program that reads this file stopped unexpectedly; the file is probably damaged."),
    (r"not enough memory|memoryerror",
     "The computer ran out of memory reading this file; it may be very large or damaged."),
    (r"decompression-bomb|decompression bomb|mp limit",
     "The picture is too large to open safely."),
    (r"disappeared before|no such file|the source file is gone",
     "The file was gone when MediaParser came to read it (moved or deleted meanwhile)."),
    (r"permission denied|operation not permitted",
     "MediaParser is not allowed to read this file (its permissions shut it out)."),
    (r"symbolic link loop|too many levels of symbolic links",
     "This is a link that leads back to itself, so there is no file to read."),
    (r"broken symbolic link",
     "This is a link to a file that no longer exists."),
    (r"not valid utf-8",
     "The file's name has characters MediaParser cannot read; rename the file and import it again."),
    (r"folder cannot be read",
     "This folder could not be opened, so the files in it were not read."),
    (r"is a folder, not a file|is a directory",
     "This is a folder, not a file."),
    (r"not a regular file",
     "This is not an ordinary file (it is a pipe, socket or device), so it was not read."),
    (r"replaced after it was listed|does not match the analysed file",
     "The file changed after MediaParser read it; import the folder again to pick up the new version."),
    (r"differs from the bytes written",
     "The copy on the archive disk did not read back the same as what was written — the disk may be failing."),
    (r"outside the output folder",
     "Its name in the archive would fall outside the archive folder, so it was not copied."),
    (r"input/output error|i/o error",
     "The disk reported a read error for this file — the disk or card may be failing."),
    (r"no space left|disk is full|quota",
     "The disk is full."),
    (r"could not write the copy",
     "The copy could not be written to the archive folder."),
    (r"the source file cannot be read|cannot be read",
     "The file could not be read from the disk."),
    (r"no embedded preview",
     "This RAW file has no preview picture inside it, so no thumbnail could be made."),
    (r"no jpeg xl decoder|no decoder for",
     "This picture format cannot be opened on this computer (a decoder is missing)."),
    (r"cannot decode video|could not find codec|moov atom not found|invalid nal|no frame could be decoded|"
     r"invalid data found when processing input",
     "This video could not be played (it may be damaged or use an unusual format)."),
    (r"cannot identify image file|cannot decode (heif )?image|not a recognised photo or video format|"
     r"image has no pixels|broken data stream|unrecognized data stream|cannot decode",
     "This file is not a picture MediaParser can read (it may be damaged or in an unknown format)."),
    (r"time zone|iana",
     "The time zone setting is not valid; choose one in Settings."),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), s) for p, s in RULES)

_ADDRESS = re.compile(r"\s+(?:object\s+)?at\s+0x[0-9a-f]+", re.IGNORECASE)
_ERRNO = re.compile(r"\[Errno (-?\d+)\]\s*")
_SPACES = re.compile(r"\s+")
DETAIL_MAX = 2000


@dataclass(frozen=True)
class Explained:
    sentence: str  # for a person: what happened and, where it helps, why
    detail: str  # for a technician: what the reader said, without memory addresses or bogus numbers

    def to_dict(self) -> dict[str, str]:
        return {"error": self.sentence, "error_detail": self.detail}


def clean_detail(raw: str) -> str:
    """The raw text without memory addresses and error numbers no operating system uses."""

    def errno_part(m: re.Match) -> str:
        n = int(m.group(1))
        return m.group(0) if n in errno.errorcode else ""

    text = _ADDRESS.sub(lambda m: " object" if "object" in m.group(0).lower() else "", raw)
    text = _ERRNO.sub(errno_part, text)
    return _SPACES.sub(" ", text).strip()[:DETAIL_MAX]


def sentence_for(raw: str) -> str:
    for pattern, sentence in _COMPILED:
        if pattern.search(raw):
            return sentence
    return GENERIC


def explain(raw: str | None) -> Explained | None:
    """The plain sentence and the cleaned detail for one per-file error text (None for no error)."""
    if raw is None or not str(raw).strip():
        return None
    raw = str(raw)
    return Explained(sentence_for(raw), clean_detail(raw))


def stored(error: str | None, detail: str | None) -> Explained | None:
    """What to show for a stored (error, error_detail) pair.

    Rows written since the sentence and the detail are stored apart have both;
    older rows (and export reasons) hold one raw text in `error`, explained now.
    """
    if error is None or not str(error).strip():
        return None
    if detail is not None:
        return Explained(error, detail)
    return explain(error)
