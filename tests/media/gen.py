"""Moved to tests/support/media.py; kept only so bench/throughput.py (`from tests.media import gen`)
still runs. Tests import `from tests.support import media as gen`. Remove once bench imports that."""
from tests.support.media import *  # noqa: F401,F403
