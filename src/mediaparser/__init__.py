"""MediaParser: a self-hosted home media normalizer."""

__version__ = "0.1.0"
