"""What a person or a job does with the library: import, review, duplicates, tags, history and undo, uploads,
export (plan, run, verify, manifest), clean-up, previews, settings.

No Flask and no Huey: a use case creates job rows and returns them; the web
layer and the CLI hand them to the runtime. Long jobs give their pieces to
the one runner (`jobsteps.JobSteps`, driven by runtime/runner.py).
"""
