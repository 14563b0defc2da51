"""The optional C fast path of the parser; everything else is in pyproject.toml.

`optional=True`: without a C compiler the install still succeeds and the pure-Python
parser does all the work (set STOMPTEST_PURE_PYTHON=1 to choose that on purpose).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("stomptest.protocol._speedups", ["stomptest/protocol/_speedups.c"], optional=True),
    ]
)
