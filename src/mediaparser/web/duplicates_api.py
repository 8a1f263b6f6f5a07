"""The duplicate-review JSON API (services/duplicates.py does the work)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("duplicates_api", __name__, url_prefix="/api/duplicates")
