"""Array API dispatch in the tests: a module's tests run again in a subprocess.

scikit-learn refuses to enable ``array_api_dispatch`` unless scipy's
``SCIPY_ARRAY_API=1`` was set before scipy was imported, which a test cannot
do in a process that has imported scipy already. A module's dispatch tests
are therefore marked :data:`needs_dispatch` (skipped in a plain process) and
one test of the module runs the module again in a subprocess with the
variable set, through :func:`assert_dispatch_tests_pass`.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

IN_DISPATCH_PROCESS = os.environ.get("SCIPY_ARRAY_API") == "1"

needs_dispatch = pytest.mark.skipif(
    not IN_DISPATCH_PROCESS, reason="runs in the SCIPY_ARRAY_API=1 subprocess"
)


def assert_dispatch_tests_pass(module_file, expected, timeout=600):
    """Run ``module_file``'s tests with ``SCIPY_ARRAY_API=1``; check the tally.

    Every dispatch test must have run and passed: the subprocess's summary
    must read exactly ``<expected> passed, 1 skipped``, the skip being the
    calling test itself, so that a test skipped or missing in there fails
    here.
    """
    root = Path(module_file).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", module_file],
        cwd=root,
        env={**os.environ, "SCIPY_ARRAY_API": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    assert re.search(rf"\b{expected} passed, 1 skipped\b", summary), output
