"""Queries over the catalogue that several use cases share.

`filters` and `queries` are what the review grid, tags and the export mean by
"these files"; `capture_time` is the one writer of a file's capture-time
fields; `in_archive` tells an archive file from an original.
"""
