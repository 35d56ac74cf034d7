"""CIFAR-10 loader and fetcher.

:func:`load_cifar10` reads the official "CIFAR-10 python version" (the
``cifar-10-batches-py`` directory of pickled batches or the
``cifar-10-python.tar.gz`` archive holding it), or an ``.npz`` file of
height x width x channel arrays, and downloads the official archive into
scikit-learn's data home when no copy is found.
"""

import hashlib
import io
import os
import pickle
import re
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections import namedtuple
from pathlib import Path
from urllib.request import urlopen

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

__all__ = ["load_cifar10"]

_RemoteArchive = namedtuple("_RemoteArchive", ["filename", "url", "md5"])

# The official archive and its published MD5, from
# https://www.cs.toronto.edu/~kriz/cifar.html.
# Module-level so that tests can substitute a small fake archive.
_ARCHIVE = _RemoteArchive(
    filename="cifar-10-python.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
)
_BATCHES_DIRNAME = "cifar-10-batches-py"
_CACHE_SUBDIR = "cifar10"
_SUBSETS = ("train", "test", "all")
_CHUNK_SIZE = 1 << 20
_TIMEOUT = 60.0

_SIDE = 32
_N_CHANNELS = 3
_N_FEATURES = _SIDE * _SIDE * _N_CHANNELS
_TRAIN_BATCH_RE = re.compile(r"data_batch_(\d+)")
_TEST_BATCH = "test_batch"
_META = "batches.meta"

# Used for .npz files that do not store their class names.
_CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_DESCR = """\
.. _cifar10_dataset:

CIFAR-10 dataset
----------------

**Data Set Characteristics:**

:Number of Instances: 50000 train, 10000 test (official split)
:Number of Classes: 10 (6000 images per class)
:Image size: 32 x 32 pixels, RGB, uint8 in [0, 255]
:Classes: airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck

CIFAR-10 is a labelled subset of the 80 million tiny images collection. The
training set is stored as five batches of 10000 images; the classes are
mutually exclusive.

In the official files each row holds the red, then the green, then the blue
plane of one image (1024 values each, row-major). This loader returns
``images`` as (n_samples, 32, 32, 3) arrays (height, width, channel) and
``data`` as the same pixels flattened in that order, so that
``data.reshape(-1, 32, 32, 3)`` equals ``images``.

.. topic:: References

  - Alex Krizhevsky (2009). Learning Multiple Layers of Features from Tiny
    Images. Technical report, University of Toronto.
    https://www.cs.toronto.edu/~kriz/cifar.html
"""


def load_cifar10(
    path=None,
    *,
    subset="train",
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    verbose=True,
):
    """Load the CIFAR-10 dataset, downloading it if needed.

    Reads the official "CIFAR-10 python version", either the
    ``cifar-10-batches-py`` directory or the ``cifar-10-python.tar.gz``
    archive (read in place, without extracting it), or an ``.npz`` file.

    ===================  ===============
    Classes                           10
    Samples (train)                50000
    Samples (test)                 10000
    Dimensionality       3072 (32x32x3)
    Features             integers 0-255
    ===================  ===============

    Parameters
    ----------
    path : str or os.PathLike, default=None
        Where the data is. One of:

        - the ``cifar-10-batches-py`` directory, or a directory containing it;
          every ``data_batch_<k>`` file present is read, in order of ``k``
          (the official copy has five);
        - the ``cifar-10-python.tar.gz`` archive, or a directory containing
          it;
        - an ``.npz`` file with arrays ``X_train``, ``y_train`` and either
          ``X_test``, ``y_test`` or ``X_val``, ``y_val``. Images are
          (n, 32, 32, 3) or (n, 3072) uint8 in height, width, channel order.
          ``subset="test"`` reads ``X_test`` if present, else ``X_val``.
          Class names are read from a ``classes`` array if present, else the
          ten CIFAR-10 names are used.

        If None, look in ``<data_home>/cifar10`` for ``cifar-10-batches-py``
        then ``cifar-10-python.tar.gz``, and download the archive there if
        neither exists and `download_if_missing` is True. An explicit `path`
        that does not exist raises an error and is never downloaded to.

    subset : {"train", "test", "all"}, default="train"
        Which split to load. ``"all"`` is the training samples followed by
        the test samples.

    data_home : str or os.PathLike, default=None
        The scikit-learn data folder, see :func:`sklearn.datasets.get_data_home`
        (``~/scikit_learn_data`` unless ``SCIKIT_LEARN_DATA`` is set). The
        archive is cached in its ``cifar10`` subfolder. Used only when `path`
        is None.

    download_if_missing : bool, default=True
        If False, raise a :class:`FileNotFoundError` when the data is not
        found locally instead of downloading it (about 163 MB from
        https://www.cs.toronto.edu/~kriz/). The download is written to a
        temporary file, checked against the published MD5 checksum, and
        renamed into place only if it matches.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    verbose : bool, default=True
        If True, report download progress on standard error.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of shape (n_samples, 32, 32, 3), dtype uint8
            The images, height x width x RGB channel.
        data : ndarray of shape (n_samples, 3072), dtype uint8
            The same pixels flattened, one image per row; a view of
            ``images``, so ``data.reshape(-1, 32, 32, 3)`` equals ``images``.
        target : ndarray of shape (n_samples,), dtype int64
            Class index of each image, 0 to 9.
        target_names : ndarray of shape (n_classes,), dtype str
            Class names, indexed by ``target``.
        DESCR : str
            Description of the dataset.
        subset : str
            The `subset` that was loaded.

    (data, target) : tuple if ``return_X_y`` is True
        The two arrays described above.

    Raises
    ------
    FileNotFoundError
        If the data is not found and `download_if_missing` is False, or if
        `path` does not exist or lacks a needed batch file.
    OSError
        If the download fails or its checksum does not match (the
        downloaded file is then removed).
    ValueError
        If `subset` is not one of the allowed values, or a file is not in
        the expected format.

    Notes
    -----
    The official batches are Python pickles, and unpickling can run
    arbitrary code: only load files you trust. The downloaded archive is
    verified against its published checksum; a file you pass as `path` is
    read as is. ``.npz`` files are read with ``allow_pickle=False``.

    Examples
    --------
    Load a tiny copy in the official format, whose rows store the red, green
    and blue planes one after the other:

    >>> import os, pickle, tempfile
    >>> import numpy as np
    >>> from sklinear.datasets import load_cifar10
    >>> tmp = tempfile.TemporaryDirectory()
    >>> batches = os.path.join(tmp.name, "cifar-10-batches-py")
    >>> os.mkdir(batches)
    >>> def dump(name, obj):
    ...     with open(os.path.join(batches, name), "wb") as f:
    ...         pickle.dump(obj, f)
    >>> red = np.zeros((2, 3, 32, 32), dtype=np.uint8)
    >>> red[:, 0] = 255  # channel-first, as stored
    >>> dump("data_batch_1", {b"data": red.reshape(2, -1), b"labels": [0, 1]})
    >>> dump("test_batch", {b"data": red.reshape(2, -1)[:1], b"labels": [2]})
    >>> dump("batches.meta", {b"label_names": [b"airplane", b"car", b"bird"]})
    >>> cifar = load_cifar10(batches)
    >>> cifar.images.shape, cifar.data.shape, cifar.target
    ((2, 32, 32, 3), (2, 3072), array([0, 1]))
    >>> cifar.images[0, 0, 0]  # the top-left pixel: R, G, B
    array([255,   0,   0], dtype=uint8)
    >>> cifar.target_names.tolist()
    ['airplane', 'car', 'bird']
    >>> X_test, y_test = load_cifar10(batches, subset="test", return_X_y=True)
    >>> X_test.shape, y_test
    ((1, 3072), array([2]))
    >>> tmp.cleanup()

    Fetch the official data set (about 163 MB, downloaded once into
    scikit-learn's data home):

    >>> cifar = load_cifar10(subset="train")  # doctest: +SKIP
    >>> cifar.images.shape  # doctest: +SKIP
    (50000, 32, 32, 3)
    """
    if subset not in _SUBSETS:
        raise ValueError(
            f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}."
        )
    if path is None:
        source = _find_or_fetch(data_home, download_if_missing, verbose)
    else:
        source = _resolve_path(Path(path))

    if source.is_dir():
        images, target, target_names = _read_batches_dir(source, subset)
    elif source.suffix == ".npz" or zipfile.is_zipfile(source):
        images, target, target_names = _read_npz(source, subset)
    elif tarfile.is_tarfile(source):
        images, target, target_names = _read_archive(source, subset)
    else:
        raise ValueError(
            f"{str(source)!r} is neither a tar archive nor an .npz file; expected "
            f"{_ARCHIVE.filename!r}, the {_BATCHES_DIRNAME!r} directory or an .npz."
        )

    data = images.reshape(len(images), _N_FEATURES)
    if return_X_y:
        return data, target
    return Bunch(
        images=images,
        data=data,
        target=target,
        target_names=target_names,
        DESCR=_DESCR,
        subset=subset,
    )


# Locating the data ----------------------------------------------------------


def _is_batches_dir(path):
    return path.is_dir() and (
        (path / _META).is_file()
        or (path / _TEST_BATCH).is_file()
        or any(_TRAIN_BATCH_RE.fullmatch(p.name) for p in path.iterdir())
    )


def _resolve_path(path):
    """Map a user-given path to a batches directory, an archive or an npz."""
    if not path.exists():
        raise FileNotFoundError(f"CIFAR-10 path {str(path)!r} does not exist.")
    if path.is_file():
        return path
    if _is_batches_dir(path):
        return path
    if _is_batches_dir(path / _BATCHES_DIRNAME):
        return path / _BATCHES_DIRNAME
    if (path / _ARCHIVE.filename).is_file():
        return path / _ARCHIVE.filename
    raise FileNotFoundError(
        f"No CIFAR-10 data in directory {str(path)!r}: expected the batch files "
        f"({_META}, data_batch_1, ..., {_TEST_BATCH}), a {_BATCHES_DIRNAME!r} "
        f"subdirectory or a {_ARCHIVE.filename!r} archive."
    )


def _find_or_fetch(data_home, download_if_missing, verbose):
    """Return the cached batches directory or archive, downloading if needed."""
    cache_dir = Path(get_data_home(data_home)) / _CACHE_SUBDIR
    batches_dir = cache_dir / _BATCHES_DIRNAME
    archive = cache_dir / _ARCHIVE.filename
    if _is_batches_dir(batches_dir):
        return batches_dir
    if archive.is_file():
        return archive
    if not download_if_missing:
        raise FileNotFoundError(
            f"CIFAR-10 not found: looked for {str(batches_dir)!r} and "
            f"{str(archive)!r}. Pass download_if_missing=True to download it "
            f"(about 163 MB) from {_ARCHIVE.url}, or pass `path` to an existing "
            "copy."
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    _download(_ARCHIVE.url, archive, md5=_ARCHIVE.md5, verbose=verbose)
    return archive


def _download(url, dest, *, md5=None, verbose=True):
    """Download `url` to `dest` atomically, checking its MD5 checksum.

    The bytes go to a temporary file next to `dest`, which is renamed to
    `dest` only once complete and verified, and removed otherwise. Network
    access goes through the module-level ``urlopen``.
    """
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as f:
            try:
                response = urlopen(url, timeout=_TIMEOUT)
            except OSError as exc:
                raise OSError(
                    f"Could not download {url}: {exc}. Download it yourself "
                    "and pass its path as `path`."
                ) from exc
            with response:
                total = response.headers.get("Content-Length")
                total = int(total) if total else None
                if verbose:
                    print(f"Downloading {url} to {dest}", file=sys.stderr)
                progress = _Progress(total, verbose)
                try:
                    while chunk := response.read(_CHUNK_SIZE):
                        f.write(chunk)
                        digest.update(chunk)
                        progress.update(len(chunk))
                finally:
                    progress.close()
        if total is not None and progress.done != total:
            raise OSError(
                f"Incomplete download of {url}: got {progress.done} of {total} "
                "bytes. Try again."
            )
        if md5 is not None and digest.hexdigest() != md5:
            raise OSError(
                f"Checksum mismatch for {url}: MD5 {digest.hexdigest()}, "
                f"expected {md5}. The file may be corrupted or incomplete; it "
                "was removed. Try again."
            )
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Progress:
    """Print a percentage of bytes received to stderr, one update per percent."""

    def __init__(self, total, verbose):
        self.total = total
        self.verbose = verbose
        self.done = 0
        self.last = None

    def update(self, n_bytes):
        self.done += n_bytes
        if not self.verbose:
            return
        mb = self.done / 1e6
        if self.total:
            percent = min(100, 100 * self.done // self.total)
            if percent == self.last:
                return
            self.last = percent
            text = f"{percent:3d}% ({mb:.1f} of {self.total / 1e6:.1f} MB)"
        else:
            text = f"{mb:.1f} MB"
        print(f"\r  {text}", end="", file=sys.stderr, flush=True)

    def close(self):
        if self.verbose:
            print(file=sys.stderr, flush=True)


# Reading ---------------------------------------------------------------------


def _wanted_batches(subset):
    """Predicate on batch file names needed for `subset`."""

    def wanted(name):
        if name == _META:
            return True
        if name == _TEST_BATCH:
            return subset in ("test", "all")
        return subset in ("train", "all") and _TRAIN_BATCH_RE.fullmatch(name)

    return wanted


def _read_batches_dir(directory, subset):
    wanted = _wanted_batches(subset)
    batches = {}
    for file in directory.iterdir():
        if file.is_file() and wanted(file.name):
            with file.open("rb") as f:
                batches[file.name] = _load_batch(f, file.name)
    return _assemble(batches, subset, directory)


def _read_archive(archive, subset):
    wanted = _wanted_batches(subset)
    batches = {}
    try:
        # Stream the members once, in archive order: seeking back in a
        # gzip stream would decompress it again.
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = Path(member.name).name
                if member.isfile() and wanted(name):
                    if name in batches:
                        raise ValueError(
                            f"Archive {str(archive)!r} holds {name!r} twice."
                        )
                    blob = tar.extractfile(member).read()
                    if len(blob) != member.size:
                        raise tarfile.ReadError(f"{member.name!r} is truncated")
                    batches[name] = _load_batch(io.BytesIO(blob), member.name)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise OSError(
            f"Could not read CIFAR-10 archive {str(archive)!r}: {exc}. If it is "
            "a corrupted download, delete it and load again."
        ) from exc
    return _assemble(batches, subset, archive)


def _load_batch(f, name):
    """Unpickle one batch file; data batches are converted right away."""
    try:
        obj = pickle.load(f, encoding="bytes")
    except Exception as exc:
        raise ValueError(f"Could not unpickle CIFAR-10 file {str(name)!r}.") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"CIFAR-10 file {str(name)!r} does not hold a dict.")
    return obj if Path(name).name == _META else _batch_arrays(obj, name)


def _assemble(batches, subset, where):
    """Stack the needed batches into HWC images, targets and class names."""

    def need(name):
        if name not in batches:
            raise FileNotFoundError(f"CIFAR-10 file {name!r} not found in {where}.")
        return batches[name]

    train_names = sorted(
        (n for n in batches if _TRAIN_BATCH_RE.fullmatch(n)),
        key=lambda n: int(_TRAIN_BATCH_RE.fullmatch(n).group(1)),
    )
    names = []
    if subset in ("train", "all"):
        if not train_names:
            need("data_batch_1")
        names += train_names
    if subset in ("test", "all"):
        need(_TEST_BATCH)
        names.append(_TEST_BATCH)

    images = [batches[name][0] for name in names]
    images = np.concatenate(images) if len(images) > 1 else images[0]
    target = np.concatenate([batches[name][1] for name in names])

    meta = need(_META)
    if b"label_names" not in meta:
        raise ValueError(f"{_META!r} in {where} has no b'label_names' entry.")
    target_names = np.asarray(
        [
            n.decode("utf-8") if isinstance(n, bytes) else str(n)
            for n in meta[b"label_names"]
        ]
    )
    return images, target, target_names


def _batch_arrays(batch, name):
    """Channel-first rows of one pickled batch -> HWC images and int64 labels."""
    try:
        rows, labels = batch[b"data"], batch[b"labels"]
    except KeyError as exc:
        raise ValueError(
            f"CIFAR-10 batch {name!r} has no {exc.args[0]!r} entry."
        ) from None
    rows = np.asarray(rows)
    labels = np.asarray(labels, dtype=np.int64)
    if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != _N_FEATURES:
        raise ValueError(
            f"CIFAR-10 batch {name!r}: expected uint8 data of shape "
            f"(n, {_N_FEATURES}), got {rows.dtype} {rows.shape}."
        )
    if labels.shape != (len(rows),):
        raise ValueError(
            f"CIFAR-10 batch {name!r}: {len(rows)} images but {labels.size} labels."
        )
    images = rows.reshape(-1, _N_CHANNELS, _SIDE, _SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _read_npz(path, subset):
    with np.load(path, allow_pickle=False) as npz:
        keys = set(npz.files)
        test_split = "test" if {"X_test", "y_test"} <= keys else "val"
        splits = {
            "train": ["train"],
            "test": [test_split],
            "all": ["train", test_split],
        }
        images, targets = [], []
        for split in splits[subset]:
            x_key, y_key = f"X_{split}", f"y_{split}"
            if not {x_key, y_key} <= keys:
                raise ValueError(
                    f"{str(path)!r} has no {x_key!r} and {y_key!r} arrays "
                    f"(found: {', '.join(sorted(keys))})."
                )
            x, y = npz[x_key], npz[y_key]
            if x.dtype != np.uint8 or x.shape[1:] not in (
                (_SIDE, _SIDE, _N_CHANNELS),
                (_N_FEATURES,),
            ):
                raise ValueError(
                    f"{x_key!r} in {str(path)!r}: expected uint8 images of shape "
                    f"(n, 32, 32, 3) or (n, 3072), got {x.dtype} {x.shape}."
                )
            if y.shape != (len(x),):
                raise ValueError(
                    f"{y_key!r} in {str(path)!r}: expected shape ({len(x)},), "
                    f"got {y.shape}."
                )
            images.append(x.reshape(-1, _SIDE, _SIDE, _N_CHANNELS))
            targets.append(y.astype(np.int64, copy=False))
        names = npz["classes"] if "classes" in keys else _CIFAR10_CLASSES
        target_names = np.asarray([str(n) for n in names])
    images = np.ascontiguousarray(np.concatenate(images))
    target = np.concatenate(targets)
    return images, target, target_names
