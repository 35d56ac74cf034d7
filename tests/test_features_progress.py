"""verbose progress of the feature transformers (ChunkProgress)."""

import re
import threading

import numpy as np
import pytest

from sklinear.features import HOG, ColorHistogram, color_histogram_batch, hog_batch
from sklinear.features._progress import ChunkProgress

_LINE = re.compile(
    r"\[(?P<name>\w+)\] (?:(?P<action>\w+): )?(?P<done>\d+)/(?P<total>\d+) images "
    r"\((?P<percent>\d+)%\), (?P<rate>[\d,.e+-]+|nan) images/s, "
    r"(?:(?P<elapsed>[\d.]+s) elapsed, (?P<left>[\d.]+s|\?) left"
    r"|done in (?P<took>[\d.]+s))$"
)


def _parse(text):
    lines = text.splitlines()
    matches = [_LINE.match(line) for line in lines]
    assert all(matches), lines
    return matches


def test_verbose_1_prints_at_each_tenth_and_at_the_end(capsys):
    now = [0.0]
    progress = ChunkProgress("Est", "transform", 100, verbose=1, clock=lambda: now[0])
    for done in [*range(7, 99, 7), 100]:
        now[0] = done / 10  # 10 images/s
        progress.update(done - progress.done)
    lines = _parse(capsys.readouterr().out)
    # The first count at or past 10, 20, ..., 90, then the end.
    assert [int(m["done"]) for m in lines] == [14, 21, 35, 42, 56, 63, 70, 84, 91, 100]
    first, last = lines[0].groupdict(), lines[-1].groupdict()
    assert first == {
        "name": "Est",
        "action": "transform",
        "done": "14",
        "total": "100",
        "percent": "14",
        "rate": "10",
        "elapsed": "1.4s",
        "left": "8.6s",
        "took": None,
    }
    assert (last["percent"], last["rate"], last["took"]) == ("100", "10", "10.0s")


def test_verbose_2_prints_every_chunk_and_0_nothing(capsys):
    progress = ChunkProgress("Est", "fit", 10, verbose=2)
    for _ in range(5):
        progress.update(2)
    assert [int(m["done"]) for m in _parse(capsys.readouterr().out)] == [
        2,
        4,
        6,
        8,
        10,
    ]
    silent = ChunkProgress("Est", "fit", 10)
    silent.update(10)
    assert capsys.readouterr().out == ""


def test_lines_from_threads_are_whole_and_increasing():
    lines = []
    progress = ChunkProgress(
        "Est", "", 8 * 50, verbose=2, print_fn=lambda s, **_: lines.append(s)
    )

    def work():
        for _ in range(50):
            progress.update(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [int(m["done"]) for m in _parse("\n".join(lines))]
    assert done == list(range(1, 401))
    assert progress.done == 400
    assert lines[-1].startswith("[Est] 400/400 images (100%)")


def test_total_is_checked():
    with pytest.raises(ValueError, match="total"):
        ChunkProgress("Est", "fit", -1)


def _images(n):
    return np.random.default_rng(0).integers(
        0, 256, size=(n, 32, 32, 3), dtype=np.uint8
    )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_hog_transform_reports_every_chunk(capsys, n_jobs):
    images = _images(10)
    hog = HOG(chunk_size=3, n_jobs=n_jobs, verbose=2).fit(images)
    capsys.readouterr()
    features = hog.transform(images)
    lines = _parse(capsys.readouterr().out)
    # Chunks of 3, 3, 3, 1 in whatever order the threads finish them.
    assert len(lines) == 4
    assert all(m["name"] == "HOG" and m["action"] == "transform" for m in lines)
    done = [int(m["done"]) for m in lines]
    assert done == sorted(done) and done[-1] == 10
    assert lines[-1]["took"] is not None
    np.testing.assert_array_equal(features, HOG().fit_transform(images))


def test_hog_verbose_1_and_hog_batch(capsys):
    images = _images(40)
    HOG(chunk_size=1, verbose=1).fit(images).transform(images)
    lines = _parse(capsys.readouterr().out)
    assert [int(m["done"]) for m in lines] == list(range(4, 44, 4))
    hog_batch(images, chunk_size=16, verbose=1)
    lines = _parse(capsys.readouterr().out)
    assert [(m["name"], m["action"], m["done"]) for m in lines] == [
        ("hog_batch", None, "16"),
        ("hog_batch", None, "32"),
        ("hog_batch", None, "40"),
    ]
    hog_batch(images)
    HOG().fit_transform(images)
    assert capsys.readouterr().out == ""


def test_color_histogram_reports_progress(capsys):
    images = _images(5)
    ColorHistogram(chunk_size=2, verbose=2).fit(images).transform(images)
    lines = _parse(capsys.readouterr().out)
    assert [(m["name"], m["done"]) for m in lines] == [
        ("ColorHistogram", "2"),
        ("ColorHistogram", "4"),
        ("ColorHistogram", "5"),
    ]
    color_histogram_batch(images, chunk_size=4, verbose=1)
    lines = _parse(capsys.readouterr().out)
    assert [(m["name"], m["done"]) for m in lines] == [
        ("color_histogram_batch", "4"),
        ("color_histogram_batch", "5"),
    ]


def test_long_runs_print_minutes_and_hours():
    lines, now = [], [0.0]
    progress = ChunkProgress(
        "Est",
        "fit",
        3,
        verbose=2,
        clock=lambda: now[0],
        print_fn=lambda s, **_: lines.append(s),
    )
    for seconds in (75.0, 3725.0, 7200.0):
        now[0] = seconds
        progress.update(1)
    assert lines == [
        "[Est] fit: 1/3 images (33%), 0.0133 images/s, 1min 15s elapsed, 2min 30s left",
        "[Est] fit: 2/3 images (66%), 0.000537 images/s, 1h 02min elapsed, "
        "31min 02s left",
        "[Est] fit: 3/3 images (100%), 0.000417 images/s, done in 2h 00min",
    ]
