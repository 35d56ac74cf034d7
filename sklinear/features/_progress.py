"""Progress lines for long feature computations, in scikit-learn's plain style.

scikit-learn estimators report progress with plain, flushed ``print`` lines
when ``verbose`` is set; :class:`ChunkProgress` does the same for work done
over chunks of images, from one thread or many.
"""

import math
import threading
import time
from numbers import Integral

__all__ = ["ChunkProgress"]


def _duration(seconds):
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}min {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}min"


class ChunkProgress:
    """Thread-safe progress report over chunks of items (images).

    Create one per run of work over `total` items, call :meth:`update` with
    the number of items of each finished chunk (from any thread: counting
    and printing happen under a lock, so lines come out whole and in
    increasing order), and it prints flushed lines such as::

        [HOG] transform: 6400/50000 images (12%), 25,990 images/s, 0.2s elapsed,
        1.7s left
        [HOG] transform: 50000/50000 images (100%), 25,990 images/s, done in 1.9s

    (each on one line). How often depends on `verbose`: 0 prints nothing
    (:meth:`update` then returns at once), 1 prints when the count passes
    each tenth of `total` and at the end (at most 10 lines whatever the
    chunk size), 2 or more after every chunk. The line at completion, when
    the count reaches `total`, is printed once.

    A transformer with a ``verbose`` parameter uses it as::

        progress = ChunkProgress(
            type(self).__name__, "transform", len(images), verbose=self.verbose
        )
        for rows in iter_chunks(len(images), chunk_size):
            out[rows] = work(images[rows])
            progress.update(rows.stop - rows.start)

    Parameters
    ----------
    name : str
        Who works, printed in brackets, e.g. the estimator's class name.
    action : str
        What it does, e.g. ``"transform"``.
    total : int
        Number of items the run will process.
    verbose : int, default=0
        Verbosity, as above.
    unit : str, default="images"
        Plural name of the items.
    clock : callable, default=time.perf_counter
        Returns seconds; the rate and the time left are measured with it.
    print_fn : callable, default=print
        Called as ``print_fn(line, flush=True)``.

    Examples
    --------
    >>> progress = ChunkProgress("HOG", "transform", 40, verbose=2)
    >>> for _ in range(2):
    ...     progress.update(20)  # doctest: +ELLIPSIS
    [HOG] transform: 20/40 images (50%), ... images/s, ...s elapsed, ...s left
    [HOG] transform: 40/40 images (100%), ... images/s, done in ...s
    >>> ChunkProgress("HOG", "transform", 40).update(40)  # verbose=0: silent
    """

    def __init__(
        self,
        name,
        action,
        total,
        *,
        verbose=0,
        unit="images",
        clock=time.perf_counter,
        print_fn=print,
    ):
        if not isinstance(total, Integral) or total < 0:
            raise ValueError(f"total must be a non-negative int, got {total!r}.")
        self.name, self.action, self.total, self.unit = name, action, total, unit
        self.verbose = int(verbose or 0)
        self._clock, self._print = clock, print_fn
        self._lock = threading.Lock()
        self._done = 0
        self._next_tenth = 1
        self._start = clock()

    @property
    def done(self):
        """Number of items reported so far."""
        return self._done

    def update(self, n_items):
        """Count `n_items` more items as done, and print a line if due.

        Parameters
        ----------
        n_items : int
            Items of the chunk just finished.
        """
        if self.verbose <= 0:
            return
        with self._lock:
            self._done += n_items
            done = self._done
            due = self.verbose >= 2 or done >= self.total
            if done * 10 >= self._next_tenth * self.total:
                due = True
                self._next_tenth = done * 10 // max(self.total, 1) + 1
            if due:
                # Printed under the lock so that lines from several threads
                # come out whole and in increasing order.
                self._print(self._line(done, self._clock() - self._start), flush=True)

    def _line(self, done, elapsed):
        total = self.total
        percent = math.floor(100 * done / total) if total else 100
        action = f"{self.action}: " if self.action else ""
        head = f"[{self.name}] {action}{done}/{total} {self.unit} ({percent}%)"
        rate = done / elapsed if elapsed > 0 else math.nan
        rate = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
        rate = f"{rate} {self.unit}/s"
        if done >= total:
            return f"{head}, {rate}, done in {_duration(elapsed)}"
        left = (total - done) * elapsed / done if done else math.inf
        return (
            f"{head}, {rate}, {_duration(elapsed)} elapsed, "
            f"{_duration(left) if math.isfinite(left) else '?'} left"
        )
