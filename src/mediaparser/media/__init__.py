"""Pure media analysis: paths and bytes in, plain dataclasses out.

Nothing in this package imports Flask or the database, so every function here
is safe to run in a process pool and easy to test on generated files.

Every worker analyses one file at a time and the caller runs one worker per
core, so numpy's BLAS must not start threads of its own: with OpenBLAS's
default thread pool the 32x32 DCT of a perceptual hash took 12.6 ms of wall
time (6.5 ms CPU) on the busy two-core machine instead of 2.3 ms (1.3 ms
CPU), its idle threads spinning against the other workers. The variable only
acts when set before numpy is first imported, hence here, at the top of the
package; set it in the environment to override.
"""
import os as _os

_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
