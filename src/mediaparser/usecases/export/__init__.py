"""The export use case: plan (plan.py), the job's run (run.py), its checks (verify.py), the manifest (manifest.py).

The names callers use — the web, the CLI, the clean-up, tests and benchmarks — are here.
"""
from mediaparser.library.in_archive import MANIFEST_NAME
from mediaparser.usecases.export.manifest import reconcile_manifest
from mediaparser.usecases.export.plan import (OUTSIDE_OUTPUT, SKIP_ASIDE, SKIP_ASIDE_BURST, SKIP_FAILED, SKIP_IN_ARCHIVE,
                                              UNKNOWN_FOLDER, ExportRefused, Plan, PlannedFile, UnresolvedGroups,
                                              build_plan, create_export_job, start_export, with_suffix)
from mediaparser.usecases.export.run import (TEMP_PREFIX, DiskFull, ExportSteps, capture_timestamp,
                                             export_summary)
from mediaparser.usecases.export.verify import COPY_MISMATCH, SOURCE_CHANGED

__all__ = [
    "COPY_MISMATCH", "MANIFEST_NAME", "OUTSIDE_OUTPUT", "SKIP_ASIDE", "SKIP_ASIDE_BURST", "SKIP_FAILED", "SKIP_IN_ARCHIVE",
    "SOURCE_CHANGED", "TEMP_PREFIX", "UNKNOWN_FOLDER", "DiskFull", "ExportRefused", "ExportSteps", "Plan",
    "PlannedFile", "UnresolvedGroups", "build_plan", "capture_timestamp", "create_export_job", "export_summary",
    "reconcile_manifest", "start_export", "with_suffix",
]
