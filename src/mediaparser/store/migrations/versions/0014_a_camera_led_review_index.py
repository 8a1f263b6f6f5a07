"""a camera-led review index: one camera's files without testing every file's model

Revision ID: 0014
Revises: 0013

ix_media_files_camera_time holds the review index's columns (review state,
confidence, capture time, then the other filter columns) behind the camera
model, so a filter naming a camera seeks to that camera's files: its pages
and day counts read each (review state, confidence) cell of that camera in
time order, and its month histogram counts them (library.queries). Adding an
index does not rebuild media_files, so 0012's counting triggers stay.
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COLUMNS = ["model", "review_state", "confidence", "captured_at", "id", "status", "kind", "job_id", "group_id"]


def upgrade() -> None:
    op.create_index("ix_media_files_camera_time", "media_files", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_media_files_camera_time", table_name="media_files")
