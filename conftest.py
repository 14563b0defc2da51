"""Settings for every pytest run from the repository: hypothesis profiles, pytester, --soak.

`ci` runs thousands of examples per property and is what .ci/run selects with
HYPOTHESIS_PROFILE=ci; `dev` keeps the local edit-test loop quick.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

# pytester drives sample projects in tests/plugin; pytest honours pytest_plugins only in the root conftest.py.
pytest_plugins = ["pytester"]

settings.register_profile(
    "ci",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser: "pytest.Parser") -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="also run the long load and fault tests marked soak (minutes each; see benchmarks/load.py)",
    )


def pytest_collection_modifyitems(config: "pytest.Config", items: "list[pytest.Item]") -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="long soak test: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
