"""Registers the conformance options when pytest collects this package as a path."""

from stomptest.conformance.options import pytest_addoption

__all__ = ["pytest_addoption"]
