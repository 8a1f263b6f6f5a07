"""File-name and folder date cases from other photo tools' test suites (issue 10).

Each case is a FACT taken from another project's tests — a path and the date
that project expects from it — restated in our terms (the precision the name
or folder really gives); none of their code is used. `tests/media/test_name_cases.py`
checks them and `bench/names.py` prints the pass rate.

How a case passes (`judge`):
- an expected date: the date we derive from the name and folders, cut to the
  expected precision, is that date, and our precision is not coarser;
- an expected "no date" (None): we give no date at HIGH or MEDIUM confidence
  (a weak clue such as a month folder, at LOW, is allowed — it is shown for a
  person to decide, which is what "no date" means for the other tools too).

Cases where we deliberately disagree carry `disagree=` with the reason; they
count as failures in the pass rate, and the test checks that we still give
our answer (`ours`), so a silent change on either side is seen.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from mediaparser.media.filenames import filename_candidates, folder_candidates
from mediaparser.media.timestamps import Confidence, Decision, Precision, choose_capture_time

# The cases are judged as of this day (the ente cases name 2026 dates).
NOW = datetime(2026, 12, 7, 12, 0, 0)


@dataclass(frozen=True)
class NameCase:
    project: str
    path: str
    expected: str | None  # "YYYY", "YYYY-MM", "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"; None: no date
    disagree: str | None = None  # why we deliberately answer otherwise
    ours: str | None = None  # what we answer instead (same spelling), when we disagree


PHOTOPRISM = "PhotoPrism (pkg/txt/datetime_filepath_test.go DateFromFilePath, datetime_year_test.go Year)"
GPTH = "Google Photos Takeout Helper (test/gpth_test.dart guess extractor; Neo test/unit/date_extractors_test.dart)"
PHOCKUP = "phockup (tests/test_date.py, tests/test_phockup.py)"
ENTE = "ente (web upload date tests; mobile test/utils date_time_util_test.dart)"


def _c(project: str, path: str, expected: str | None, **kw) -> NameCase:
    return NameCase(project, path, expected, **kw)


CASES: tuple[NameCase, ...] = (
    # --- PhotoPrism: dates from whole paths (folders and names) --------------
    _c(PHOTOPRISM, "nextcloud/2022/04/22-04-06 15-21-03 2160.jpg", "2022-04-06 15:21:03"),
    _c(PHOTOPRISM, "nextcloud/2022/04/22-04-06 66-22-03 2160.jpg", None),
    _c(PHOTOPRISM, "nextcloud/2022/04/88-04-06 15-21-03 2160.jpg", None),
    _c(PHOTOPRISM, "nextcloud/2022/04/90-04-06 15-21-03 2160.jpg", "1990-04-06 15:21:03"),
    _c(PHOTOPRISM, "nextcloud/2022/04/91-04-06 15-21-03 2160.jpg", "1991-04-06 15:21:03"),
    _c(PHOTOPRISM, "nextcloud/2022/04/05-04-06 15-21-03 2160.jpg", "2005-04-06 15:21:03"),
    _c(PHOTOPRISM, "2016/08/18 iPhone/WRNI2074.jpg", "2016-08-18"),
    _c(PHOTOPRISM, "2016/08/18 iPhone/OZBJ8443.jpg", "2016-08-18"),
    _c(PHOTOPRISM, "2018/04 - April/2018-04-12 19:24:49.gif", "2018-04-12 19:24:49"),
    _c(PHOTOPRISM, "2018", None),
    _c(PHOTOPRISM, "2018-04-12 19/24/49.gif", "2018-04-12 19:24:49"),
    _c(PHOTOPRISM, "/2020/1212/20130518_142022_3D657EBD.jpg", None,
       disagree="PhotoPrism skips the names it gives files on import; for us 20130518_142022 is a "
                "Samsung-style capture time like any other, and PhotoPrism wrote it from the capture time",
       ours="2013-05-18 14:20:22"),
    _c(PHOTOPRISM, "20130518_142022_3D657EBD.jpg", None,
       disagree="as above: a capture time in a name is evidence whoever wrote it", ours="2013-05-18 14:20:22"),
    _c(PHOTOPRISM, "telegram_2020_01_30_09_57_18.jpg", "2020-01-30 09:57:18"),
    _c(PHOTOPRISM, "Screenshot 2019_05_21 at 10.45.52.png", "2019-05-21 10:45:52"),
    _c(PHOTOPRISM, "telegram_2020-01-30_09-57-18.jpg", "2020-01-30 09:57:18"),
    _c(PHOTOPRISM, "Screenshot 2019-05-21 at 10.45.52.png", "2019-05-21 10:45:52"),
    _c(PHOTOPRISM, "telegram_2020-01-30_09-18.jpg", "2020-01-30"),
    _c(PHOTOPRISM, "Screenshot 2019-05-21 at 10545.52.png", "2019-05-21"),
    _c(PHOTOPRISM, "/2019-05-21/file2314.JPG", "2019-05-21"),
    _c(PHOTOPRISM, "/2019.05.21", None),
    _c(PHOTOPRISM, "/05.21.2019", None),
    _c(PHOTOPRISM, "/21.05.2019", None),
    _c(PHOTOPRISM, "05/21/2019", None),
    _c(PHOTOPRISM, "2019-07-23", "2019-07-23"),
    _c(PHOTOPRISM, "Photos/2015-01-14", "2015-01-14"),
    _c(PHOTOPRISM, "21/05/2019", None),
    _c(PHOTOPRISM, "2019/05/21", "2019-05-21"),
    _c(PHOTOPRISM, "2019/05/2145", None),
    _c(PHOTOPRISM, "/05/21/2019", None),
    _c(PHOTOPRISM, "/21/05/2019", None),
    _c(PHOTOPRISM, "/2019/05/21.jpeg", "2019-05-21"),
    _c(PHOTOPRISM, "/2019/05/21/foo.txt", "2019-05-21"),
    _c(PHOTOPRISM, "2019/21/05", None),
    _c(PHOTOPRISM, "/2019/05/21/foo.jpg", "2019-05-21"),
    _c(PHOTOPRISM, "/2019/21/05/foo.jpg", None),
    _c(PHOTOPRISM, "/2019/5/foo.jpg", "2019-05"),
    _c(PHOTOPRISM, "/2019/1/3/foo.jpg", "2019-01-03"),
    _c(PHOTOPRISM, "/1989/1/3/foo.jpg", "1989-01-03"),
    _c(PHOTOPRISM, "/1970/1/3/foo.jpg", "1970-01-03"),
    # PhotoPrism ignores years before 1970; we keep any year from 1826 on (docs/capture-time.md §7),
    # but a folder date is only LOW, which is what "no date" means here.
    _c(PHOTOPRISM, "/1969/1/3/foo.jpg", None),
    _c(PHOTOPRISM, "fo.jpg", None),
    _c(PHOTOPRISM, "2020-01-30_09-87-18-23.jpg", None),
    _c(PHOTOPRISM, "1020-01-30_09-57-18.jpg", None),
    _c(PHOTOPRISM, "2020-01-30_25-57-18.jpg", None),
    _c(PHOTOPRISM, "2020-01-00.jpg", None),
    _c(PHOTOPRISM, "IMG-20191120-WA0001.jpg", "2019-11-20"),
    _c(PHOTOPRISM, "VID-20191120-WA0001.jpg", "2019-11-20"),
    # PhotoPrism's year from folder names (pkg/txt/datetime_year_test.go, Year): a folder
    # whose only number is a year gives that year.
    _c(PHOTOPRISM, "/2002/London 81/", "2002"),
    _c(PHOTOPRISM, "San Francisco 2019/", "2019"),
    _c(PHOTOPRISM, "Born in the U.S.A. is a song written and performed by Bruce Springsteen/", None),
    _c(PHOTOPRISM, "/share/photos/243546/2003/01/myfile.jpg", "2003"),
    _c(PHOTOPRISM, "/root/1981/London 2005/", "1981",
       disagree="two year folders: PhotoPrism takes the first year after 1970, we the deepest folder, "
                "the one the file was put in (both only at LOW)", ours="2005"),
    _c(PHOTOPRISM, "/root/1970/London 2005/", "2005"),
    _c(PHOTOPRISM, "/root/1969/London 2005/", "2005"),
    _c(PHOTOPRISM, "/root/1950/London 2005/", "2005"),
    # --- Google Photos Takeout Helper: names, and Takeout's year folders -----
    _c(GPTH, "Screenshot_20190919-053857_Camera-edited.jpg", "2019-09-19 05:38:57"),
    _c(GPTH, "MVIMG_20190215_193501.MP4", "2019-02-15 19:35:01"),
    _c(GPTH, "Screenshot_2019-04-16-11-19-37-232_com.jpg", "2019-04-16 11:19:37"),
    _c(GPTH, "signal-2020-10-26-163832.jpg", "2020-10-26 16:38:32"),
    _c(GPTH, "VID_20220107_113306.mp4", "2022-01-07 11:33:06"),
    _c(GPTH, "00004XTR_00004_BURST20190216172030.jpg", "2019-02-16 17:20:30"),
    _c(GPTH, "00055IMG_00055_BURST20190216172030_COVER.jpg", "2019-02-16 17:20:30"),
    _c(GPTH, "2016_01_30_11_49_15.mp4", "2016-01-30 11:49:15"),
    _c(GPTH, "201801261147521000.jpg", "2018-01-26 11:47:52"),
    _c(GPTH, "IMG_1_BURST20160623205107_COVER.jpg", "2016-06-23 20:51:07"),
    _c(GPTH, "IMG_1_BURST20160520195318.jpg", "2016-05-20 19:53:18"),
    _c(GPTH, "1990_06_16_07_30_00.jpg", "1990-06-16 07:30:00"),
    _c(GPTH, "1869_12_30_16_59_57.jpg", "1869-12-30 16:59:57"),
    _c(GPTH, "IMG_20220131_235959.png", "2022-01-31 23:59:59"),
    _c(GPTH, "IMG_20200229_000000.gif", "2020-02-29 00:00:00"),
    _c(GPTH, "random_name.jpg", None),
    _c(GPTH, "Takeout/Google Photos/Photos from 2005/test_image.jpg", "2005"),
    _c(GPTH, "Takeout/2020 Photos/test_image.jpg", "2020"),
    _c(GPTH, "Takeout/2015/test_image.jpg", "2015"),
    _c(GPTH, "Takeout/2018-07/test_image.jpg", "2018"),
    _c(GPTH, "Takeout/PHOTOS FROM 2010/test_image.jpg", "2010"),
    _c(GPTH, "Takeout/Random Folder Name/test_image.jpg", None),
    _c(GPTH, "Takeout/Photos from 1800/test_image.jpg", None),
    _c(GPTH, "Takeout/Photos from 2031/test_image.jpg", None),  # "future years beyond threshold"
    # --- phockup: names (its date regex and its custom-regex example) -------
    _c(PHOCKUP, "IMG_20170101_010101.jpg", "2017-01-01 01:01:01"),
    _c(PHOCKUP, "IMG_20170101_999999.jpg", None),
    _c(PHOCKUP, "Foo.jpg", None),
    _c(PHOCKUP, "IMG_2017_01.jpg", None),
    _c(PHOCKUP, "IMG_27.01.2015-19.20.00.jpg", "2015-01-27 19:20:00"),
    _c(PHOCKUP, "19.20.00.jpg", None),
    _c(PHOCKUP, "input/date_20170101_010101.jpg", "2017-01-01 01:01:01"),
    _c(PHOCKUP, "input/sub_folder/date_20180101_010101.jpg", "2018-01-01 01:01:01"),
    _c(PHOCKUP, "input/UNKNOWN.jpg", None),
    # --- ente: upload and device file names ----------------------------------
    _c(ENTE, "IMG-20221109-WA0000", "2022-11-09"),
    _c(ENTE, "Screenshot_20220807-195908_Firefox", "2022-08-07 19:59:08"),
    _c(ENTE, "Screenshot_20220507-195908", "2022-05-07 19:59:08"),
    _c(ENTE, "2022-02-18 16.00.12-DCMX.png", "2022-02-18 16:00:12"),
    _c(ENTE, "20221107_231730", "2022-11-07 23:17:30"),
    _c(ENTE, "2020-11-01 02.31.02", "2020-11-01 02:31:02"),
    _c(ENTE, "IMG_20210921_144423", "2021-09-21 14:44:23"),
    _c(ENTE, "2019-10-31 155703", "2019-10-31 15:57:03"),
    _c(ENTE, "IMG_20210921_144423_783", "2021-09-21 14:44:23"),
    _c(ENTE, "Screenshot_2022-06-21-16-51-29-164_newFormat.heic", "2022-06-21 16:51:29"),
    _c(ENTE, "Screenshot 20221106 211633.com.google.android.apps.nbu.paisa.user.jpg", "2022-11-06 21:16:33"),
    _c(ENTE, "signal-2022-12-17-15-16-04-718.jpg", "2022-12-17 15:16:04"),
    _c(ENTE, "signal-2026-08-31-195517-1.jpeg", "2026-08-31 19:55:17"),
    _c(ENTE, "PHOTO-2026-07-02-15-15-31.jpg", "2026-07-02 15:15:31"),
    _c(ENTE, "20170923_220934000_iOS.jpg", "2017-09-23 22:09:34"),
    _c(ENTE, "2000-02-29.jpg", "2000-02-29"),
    _c(ENTE, "20240101.mp4", "2024-01-01"),
    _c(ENTE, "IMG_2024.08.31_195517.jpg", "2024-08-31 19:55:17"),
    _c(ENTE, "2024.02.29.jpg", "2024-02-29"),
    _c(ENTE, "2024-01-01-edited.jpg", "2024-01-01"),
    _c(ENTE, "IMG_20240101_HDR.jpg", "2024-01-01"),
    _c(ENTE, "2024-02-29 23:59:59.jpg", "2024-02-29 23:59:59"),
    _c(ENTE, "20240101T123456Z.jpg", "2024-01-01 12:34:56"),
    _c(ENTE, "20240101T123456-0330.jpg", "2024-01-01 12:34:56"),  # ours: local time with the offset -03:30
    _c(ENTE, "2024-01-01 12:34:56+02:00.jpg", "2024-01-01 12:34:56"),  # ente gives the UTC instant, we the wall clock + offset
    _c(ENTE, "2024-01-01 12:34:56,789.jpg", "2024-01-01 12:34:56"),
    _c(ENTE, "signal-2026-08-31-195517-0100.jpeg", "2026-08-31 19:55:17"),
    _c(ENTE, "PHOTO-2026-07-02-15-15-31-0330.jpg", "2026-07-02 15:15:31"),
    _c(ENTE, "2024-01-01 12:34:56+24:00.jpg", None),
    _c(ENTE, "2024-01-01 12:34:56-02:60.jpg", None),
    _c(ENTE, "2024-02-30.jpg", None),
    _c(ENTE, "19891231.jpg", None),
    _c(ENTE, "2024-01-01 12:34:56 extra.jpg", None,
       disagree="ente reads a date only when it is the whole name; a date and time followed by words "
                "is still that date and time to us", ours="2024-01-01 12:34:56"),
    _c(ENTE, "2024-01-01-12-34.jpg", None,
       disagree="ente refuses a date followed by digits that are no full time; the day itself is "
                "well formed, so we keep the day", ours="2024-01-01"),
    _c(ENTE, "2024-01-01.123456.jpg", None,
       disagree="as above: the digits after the day are no time, the day stands", ours="2024-01-01"),
    _c(ENTE, "Snapchat-431959199.mp4.", None),
    _c(ENTE, "Snapchat-400000000.mp4", None),
    _c(ENTE, "Snapchat-100-10-20-19-15-12", None),
    _c(ENTE, "2023-02-29.jpg", None),
    _c(ENTE, "2023.02.29.jpg", None),
    _c(ENTE, "IMG_2024.08-31_195517.jpg", None),
    _c(ENTE, "2024-13-01.jpg", None),
    _c(ENTE, "2024-04-31.jpg", None),
    _c(ENTE, "2024-01-01-240000.jpg", None),
    _c(ENTE, "2024-01-01-126000.jpg", None),
    _c(ENTE, "2024-01-01-120060.jpg", None),
    _c(ENTE, "20240101-1.jpg", None),
    _c(ENTE, "120240101-123456.jpg", None),
    _c(ENTE, "IMG_20240101_1234.jpg", None),
)


_SHAPES = {4: Precision.YEAR, 7: Precision.MONTH, 10: Precision.DAY, 19: Precision.SECOND}
_FORMATS = {Precision.YEAR: "%Y", Precision.MONTH: "%Y-%m", Precision.DAY: "%Y-%m-%d", Precision.SECOND: "%Y-%m-%d %H:%M:%S"}
_RANK = {Precision.YEAR: 0, Precision.MONTH: 1, Precision.DAY: 2, Precision.MINUTE: 3, Precision.SECOND: 4}


def decide_path(path: str, now: datetime = NOW) -> Decision:
    """What the analysis makes of a path's name and folders alone (no file content)."""
    name = os.path.basename(path)
    cands = filename_candidates(name, now=now) + folder_candidates(os.path.dirname(path), None, now=now, name=name)
    return choose_capture_time(cands, "UTC", now=now)


def answer(d: Decision) -> str | None:
    """Our answer in the cases' spelling: the date at our precision, or None when not HIGH/MEDIUM."""
    if d.captured_at is None or d.precision is None:
        return None
    precision = Precision.SECOND if d.precision == Precision.MINUTE else d.precision
    return d.captured_at.strftime(_FORMATS[precision])


def judge(case: NameCase, d: Decision) -> bool:
    """Does our decision meet the other project's expectation? (see the module docstring)"""
    if case.expected is None:
        return d.confidence in (Confidence.LOW, Confidence.NONE)
    want = _SHAPES[len(case.expected)]
    if d.captured_at is None or d.precision is None or _RANK[d.precision] < _RANK[want]:
        return False
    return d.captured_at.strftime(_FORMATS[want]) == case.expected
