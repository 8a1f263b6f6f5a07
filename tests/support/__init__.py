"""Shared generators and helpers for the tests: plain modules, no fixtures (those live in the conftest.py files)."""
