"""pytest configuration of the tests and of the doctests in sklinear/.

Figures are drawn with the non-interactive Agg backend and closed after
each test; without matplotlib, the doctests of the displays are skipped.
"""

import sys

import pytest

try:
    import matplotlib
except ImportError:
    matplotlib = None
else:
    matplotlib.use("Agg")


def pytest_collection_modifyitems(config, items):
    if matplotlib is not None:
        return
    skip = pytest.mark.skip(reason="the displays' examples need matplotlib")
    for item in items:
        if item.nodeid.startswith("sklinear/inspection/"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
