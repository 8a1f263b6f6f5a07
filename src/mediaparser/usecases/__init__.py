"""Use cases on top of the models and media/: importer, review, exporter."""
