"""Pure media analysis: paths and bytes in, plain dataclasses out.

Nothing in this package imports Flask or the database, so every function here
is safe to run in a process pool and easy to test on generated files.
"""
