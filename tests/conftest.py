"""Suite-wide test settings."""

import faulthandler
import signal
import threading

import pytest

# A test that waits for something that never comes (a distributed fit whose
# worker left, a subprocess) fails after this long instead of holding the
# whole suite until the CI's own timeout; the slowest test takes well under a
# minute here.
_TEST_TIME_LIMIT = 600


@pytest.fixture(autouse=True)
def _time_limit():
    """Fail a test that runs past ``_TEST_TIME_LIMIT`` s instead of hanging.

    The alarm prints every thread's stack (where it waited) and fails only
    that test. Without ``SIGALRM`` (Windows) or off the main thread, no limit.
    """
    if not hasattr(signal, "SIGALRM") or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def expired(signum, frame):
        faulthandler.dump_traceback(all_threads=True)
        pytest.fail(f"the test ran longer than {_TEST_TIME_LIMIT} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(_TEST_TIME_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
