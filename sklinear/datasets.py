"""CIFAR-10 loader and fetcher.

:func:`load_cifar10` reads the official "CIFAR-10 python version" (the
``cifar-10-batches-py`` directory of pickled batches or the
``cifar-10-python.tar.gz`` archive holding it), or an ``.npz`` file of
height x width x channel arrays, and downloads the official archive into
scikit-learn's data home when no copy is found.
"""

import bz2
import codecs
import gzip
import hashlib
import io
import lzma
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
        downloaded file is then removed), or if a file is corrupted or
        incomplete (see Notes).
    ValueError
        If `subset` is not one of the allowed values, or a file is not in
        the expected format: missing entries, wrong shapes or dtypes, labels
        that are not integers in ``range(len(target_names))`` (integral
        floats such as ``3.0`` are accepted).

    Every error about a file names it and says what to delete before
    downloading CIFAR-10 again.

    Notes
    -----
    Files are checked as they are read, so that a damaged copy raises an
    error instead of returning wrong pixels:

    - archives are read to their last byte, so that the gzip CRC-32 (or the
      bz2 and xz checks) covers all of it, and nothing but the zero blocks
      ending a tar archive may follow its last member;
    - a batch file whose content identifies it as one of the official files
      (its ``batch_label`` and 10000 images, or the class names of
      ``batches.meta``) must have the official MD5 checksum, in a directory
      as in an archive;
    - ``.npz`` files must pass the CRC-32 check of every array;
    - every batch must hold uint8 data of shape (n, 3072) and n integer
      labels within the class names.

    Files in the CIFAR-10 format that are not the official ones carry no
    checksum of their pixels: a damaged pixel byte in such a batch file
    (outside an archive) cannot be detected.

    The batches are Python pickles. They are read by an unpickler that
    builds nothing but numbers, byte strings, lists, dicts and numeric
    arrays: a damaged or malicious file cannot make it import or call
    anything else.
    ``.npz`` files are read with ``allow_pickle=False``.

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
    else:
        kind = _file_kind(source)
        if kind == "npz":
            images, target, target_names = _read_npz(source, subset)
        elif kind is not None:
            images, target, target_names = _read_archive(source, subset, kind)
        else:
            raise _bad_file(
                ValueError,
                f"{str(source)!r}",
                f"is neither a tar archive nor an .npz file; expected "
                f"{_ARCHIVE.filename!r}, the {_BATCHES_DIRNAME!r} directory or an "
                ".npz",
                certain=False,
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

_OfficialFile = namedtuple("_OfficialFile", ["md5", "entries", "n_images"])

# The files of the official ``cifar-10-batches-py``: their MD5 checksums (the
# ones torchvision checks too), and what identifies them without affecting
# the loaded data: some entries of their content and their number of images.
# A file so identified must have the official checksum, so that any damaged
# pixel, label or class name is detected; other files in the CIFAR-10 format
# cannot be verified. Module-level so that tests can substitute small files.
_OFFICIAL_FILES = {
    **{
        f"data_batch_{k}": _OfficialFile(
            md5, {b"batch_label": f"training batch {k} of 5".encode()}, 10000
        )
        for k, md5 in enumerate(
            [
                "c99cafc152244af753f735de768cd75f",
                "d4bba439e000b95fd0a9bffe97cbabec",
                "54ebc095f3ab1f0389bbae665268c751",
                "634d18415352ddfa80567beed471001a",
                "482c414d41f54cd18b22e5b47cb7c3cb",
            ],
            start=1,
        )
    },
    _TEST_BATCH: _OfficialFile(
        "40351d587109b95175f43aff81a1287e",
        {b"batch_label": b"testing batch 1 of 1"},
        10000,
    ),
    _META: _OfficialFile(
        "5ff9c542aee3614f3951f8cda6e48888",
        {
            b"num_cases_per_batch": 10000,
            b"num_vis": 3072,
            b"label_names": [name.encode() for name in _CIFAR10_CLASSES],
        },
        None,
    ),
}

_OPENERS = {
    "gzip": gzip.GzipFile,
    "bz2": bz2.BZ2File,
    "xz": lzma.LZMAFile,
    "tar": lambda path: open(path, "rb"),  # noqa: SIM115 - closed by the caller
}
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "npz"),
    (b"PK\x05\x06", "npz"),
)
_SUFFIXES = (
    ((".tar.gz", ".tgz", ".gz"), "gzip"),
    ((".tar.bz2", ".tbz2", ".tbz", ".bz2"), "bz2"),
    ((".tar.xz", ".txz", ".xz"), "xz"),
    ((".tar",), "tar"),
    ((".npz",), "npz"),
)
# Errors of reading a damaged compressed stream or tar archive.
_STREAM_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)


def _bad_file(error_type, what, problem, remove=None, *, certain=True):
    """An error saying which file is bad, why, and how to get a good copy.

    `remove` is what to delete, when it is not the file `what` names (the
    archive holding a bad member, the directory holding a bad batch file).
    """
    target = "it" if remove is None else repr(str(remove))
    if certain:
        advice = f": it is corrupted or incomplete. Delete {target}"
    else:
        advice = f". If it is a corrupted or incomplete copy, delete {target}"
    return error_type(
        f"{what} {problem}{advice} and download CIFAR-10 again (load_cifar10() "
        "without `path` downloads the official archive into scikit-learn's data "
        "home)."
    )


def _file_kind(path):
    """'gzip', 'bz2', 'xz', 'tar' or 'npz' from the first bytes, else the name."""
    with path.open("rb") as f:
        head = f.read(tarfile.BLOCKSIZE)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[257:262] == b"ustar":
        return "tar"
    # A damaged first byte must still lead to the error of a damaged file.
    name = path.name.lower()
    for suffixes, kind in _SUFFIXES:
        if name.endswith(suffixes):
            return kind
    try:
        return "tar" if tarfile.is_tarfile(path) else None
    except _STREAM_ERRORS:
        return None


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
            what = f"CIFAR-10 file {str(file)!r}"
            batches[file.name] = _parse_file(
                file.read_bytes(), file.name, what, directory
            )
    return _assemble(batches, subset, directory, remove=directory)


class _TrackedStream:
    """A read-only file that remembers the bytes of its last read."""

    def __init__(self, raw):
        self.raw = raw
        self.last_read = b""

    def read(self, size=-1):
        self.last_read = self.raw.read(size)
        return self.last_read

    def seek(self, offset, whence=os.SEEK_SET):
        return self.raw.seek(offset, whence)

    def tell(self):
        return self.raw.tell()


def _read_archive(archive, subset, kind):
    """Read the wanted batches of a tar archive, checking it to its last byte.

    The stream is read to its end, so that the CRC-32 and length of a gzip
    trailer (or the checks of bz2 and xz) are verified, and everything after
    the last member must be the zero blocks that end a tar archive:
    :mod:`tarfile` stops silently at a damaged header after the first one.
    """
    wanted = _wanted_batches(subset)
    what = f"CIFAR-10 archive {str(archive)!r}"
    batches = {}
    problem = None  # (error type, what, description) of a damaged archive
    parse_error = None
    try:
        with _OPENERS[kind](archive) as raw:
            stream = _TrackedStream(raw)
            with tarfile.open(fileobj=stream, mode="r:") as tar:
                for member in tar:
                    name = Path(member.name).name
                    if not (member.isfile() and wanted(name)):
                        continue
                    member_what = f"{member.name!r} in {what}"
                    if name in batches:
                        problem = (ValueError, what, f"holds {name!r} twice", None)
                        break
                    blob = tar.extractfile(member).read()
                    if len(blob) != member.size:
                        size = f"{len(blob)} of {member.size} bytes"
                        problem = (
                            OSError,
                            member_what,
                            f"is truncated ({size})",
                            archive,
                        )
                        break
                    try:
                        batches[name] = _parse_file(blob, name, member_what, archive)
                    except (ValueError, OSError) as error:
                        parse_error = error
                        break
                end = tar.offset
            if problem is None and parse_error is None:
                end_problem = _archive_end_problem(stream, end)
                if end_problem:
                    problem = (OSError, what, end_problem, None)
            else:
                # A damaged stream explains a damaged member best: read on to
                # its end, where the gzip CRC is checked.
                while stream.read(_CHUNK_SIZE):
                    pass
    except Exception as error:  # tarfile and the decompressors raise many kinds
        raise _bad_file(OSError, what, f"could not be read ({error})") from error
    if problem is not None:
        raise _bad_file(*problem)
    if parse_error is not None:
        raise parse_error
    return _assemble(batches, subset, archive, remove=archive)


def _archive_end_problem(stream, end):
    """What is wrong after the last member, or None.

    ``tarfile`` has just read the block at `end` and found no header there:
    it must be a zero block, and only zeros may follow it (read to the end
    of the stream, which makes a compressed stream check its trailer).
    """
    block = stream.last_read
    problem = None
    if len(block) < tarfile.BLOCKSIZE:
        problem = f"ends without the end-of-archive marker, at byte {end}"
    elif block.count(0) != len(block):
        problem = f"has a damaged tar header at byte {end}"
    # Read on to the end even so: a failed gzip CRC explains a damaged
    # header best.
    while chunk := stream.read(_CHUNK_SIZE):
        if problem is None and chunk.count(0) != len(chunk):
            problem = "has data after its end-of-archive marker"
    return problem


def _parse_file(blob, name, what, remove):
    """Unpickle and check one batch file: class names for the meta file, else
    HWC images and int64 labels."""
    obj = _unpickle(blob, what, remove)
    if not isinstance(obj, dict):
        raise _bad_file(
            ValueError,
            what,
            f"holds a {type(obj).__name__}, not a dict",
            remove,
            certain=False,
        )
    official = _OFFICIAL_FILES.get(name)
    if official is not None and _is_official(obj, official):
        digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
        if digest != official.md5:
            raise _bad_file(
                OSError,
                what,
                f"matches the official {name!r} by its {_identity(official)}, "
                f"but its MD5 checksum is {digest}, not {official.md5}",
                remove,
            )
    if name == _META:
        return _meta_names(obj, what, remove)
    return _batch_arrays(obj, what, remove)


def _identity(official):
    parts = [f"{key!r}" for key in official.entries]
    if official.n_images:
        parts.append(f"number of images ({official.n_images})")
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def _is_official(obj, official):
    """Whether a file's content says that it is the official one.

    Lists (the class names) need only match but for one entry, so that the
    damage of one class name is caught too.
    """
    for key, value in official.entries.items():
        found = obj.get(key)
        if isinstance(value, list):
            if not (
                isinstance(found, list)
                and len(found) == len(value)
                and sum(a != b for a, b in zip(found, value, strict=True)) <= 1
            ):
                return False
        elif type(found) is not type(value) or found != value:
            return False
    if official.n_images is None:
        return True
    data = obj.get(b"data")
    return isinstance(data, np.ndarray) and data.shape[:1] == (official.n_images,)


# Unpickling ----------------------------------------------------------------
#
# A batch holds numpy arrays, lists, numbers and byte strings. The unpickler
# resolves no other name, and builds arrays itself from their pickled parts
# (dtype code, shape, raw bytes), checking that these fit together: numpy
# would accept a damaged dtype state and fail later in obscure ways.


class _PickledDtype:
    """A numeric dtype as pickled: its code, then its state."""

    def __init__(self, code, align=False, copy=True):
        self.code = _text(code)
        self.state = None

    def __setstate__(self, state):
        self.state = state

    def resolve(self):
        dtype = np.dtype(self.code)
        if dtype.kind not in "biuf" or dtype.fields or dtype.subdtype:
            raise pickle.UnpicklingError(f"unexpected dtype {dtype}")
        if self.state is not None:
            state = tuple(_text(v) if isinstance(v, bytes) else v for v in self.state)
            if (
                len(state) != 8
                or state[0] != 3
                or state[1] not in ("<", ">", "|", "=")
                or state[2:] != (None, None, None, -1, -1, 0)
            ):
                raise pickle.UnpicklingError(f"unexpected dtype state {state}")
            if state[1] in "<>":
                dtype = dtype.newbyteorder(state[1])
        return dtype


class _PickledArray:
    """An array as pickled by ``ndarray.__reduce__``: made, then given its state."""

    def __init__(self, array=None):
        self.array = array

    def __setstate__(self, state):
        if len(state) == 5:
            state = state[1:]  # a version number first
        if len(state) != 4:
            raise pickle.UnpicklingError("unexpected array state")
        shape, dtype, fortran_order, raw = state
        self.array = _array_from(raw, dtype, shape, "F" if fortran_order else "C")


def _reconstruct(cls, shape, typecode):
    if cls is not _PickledArray:
        raise pickle.UnpicklingError("unexpected array type")
    return _PickledArray()


def _frombuffer(buffer, dtype, shape, order):
    return _PickledArray(_array_from(buffer, dtype, shape, order))


def _scalar(dtype, raw):
    return _array_from(raw, dtype, (), "C")[()]


def _array_from(raw, dtype, shape, order):
    if not isinstance(dtype, _PickledDtype):
        raise pickle.UnpicklingError("an array without a dtype")
    dtype = dtype.resolve()
    if isinstance(raw, str):  # a Python 2 string
        raw = raw.encode("latin-1")
    if not isinstance(raw, (bytes, bytearray)) or not (
        isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)
    ):
        raise pickle.UnpicklingError("unexpected array data")
    n_bytes = dtype.itemsize * int(np.prod(shape))
    if len(raw) != n_bytes:
        raise pickle.UnpicklingError(
            f"an array of shape {shape} needs {n_bytes} bytes, got {len(raw)}"
        )
    return np.frombuffer(raw, dtype).reshape(shape, order=order)


def _text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else value


_PICKLE_NAMES = {
    ("numpy", "dtype"): _PickledDtype,
    ("numpy", "ndarray"): _PickledArray,
    ("_codecs", "encode"): codecs.encode,
    **{
        (f"numpy.{core}.{module}", name): function
        for core in ("core", "_core")
        for module, name, function in [
            ("multiarray", "_reconstruct", _reconstruct),
            ("multiarray", "scalar", _scalar),
            ("numeric", "_frombuffer", _frombuffer),
        ]
    },
}


# The Python implementation of the unpickler, as fast here as the C one (the
# time goes into copying the pixels): the C one sizes its memo by the largest
# index it meets, so one damaged index makes it allocate and clear gigabytes.
class _BatchUnpickler(pickle._Unpickler):
    def find_class(self, module, name):
        try:
            return _PICKLE_NAMES[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it refers to {module}.{name}, which CIFAR-10 batches never hold"
            ) from None


def _with_arrays(obj):
    """`obj` with the arrays in place of their pickled parts."""
    if isinstance(obj, _PickledArray):
        if obj.array is None:
            raise pickle.UnpicklingError("an array without its data")
        return obj.array
    if isinstance(obj, dict):
        return {key: _with_arrays(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_with_arrays(value) for value in obj]
    return obj


def _unpickle(blob, what, remove):
    try:
        return _with_arrays(_BatchUnpickler(io.BytesIO(blob), encoding="bytes").load())
    except Exception as exc:
        raise _bad_file(
            ValueError, what, f"could not be unpickled ({exc})", remove, certain=False
        ) from exc


def _meta_names(meta, what, remove):
    names = meta.get(b"label_names")
    if not isinstance(names, (list, tuple)) or not names:
        raise _bad_file(
            ValueError,
            what,
            "has no b'label_names' list of class names",
            remove,
            certain=False,
        )
    try:
        return np.asarray(
            [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]
        )
    except UnicodeDecodeError as exc:
        raise _bad_file(
            ValueError,
            what,
            f"has a class name that is not UTF-8 ({exc})",
            remove,
            certain=False,
        ) from None


def _batch_arrays(batch, what, remove):
    """Channel-first rows of one pickled batch -> HWC images and int64 labels."""
    missing = [key for key in (b"data", b"labels") if key not in batch]
    if missing:
        raise _bad_file(
            ValueError, what, f"has no {missing[0]!r} entry", remove, certain=False
        )
    rows = batch[b"data"]
    if (
        not isinstance(rows, np.ndarray)
        or rows.dtype != np.uint8
        or rows.ndim != 2
        or rows.shape[1] != _N_FEATURES
    ):
        found = (
            f"{rows.dtype} {rows.shape}"
            if isinstance(rows, np.ndarray)
            else type(rows).__name__
        )
        raise _bad_file(
            ValueError,
            what,
            f"holds {found} data, not a uint8 array of shape (n, {_N_FEATURES})",
            remove,
            certain=False,
        )
    labels = _as_labels(batch[b"labels"], len(rows), f"{what}: b'labels'", remove)
    images = rows.reshape(-1, _N_CHANNELS, _SIDE, _SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _as_labels(values, n_images, what, remove):
    """Integer class indices, one per image; integral floats are accepted."""
    labels = np.asarray(values)
    problem = None
    if labels.shape != (n_images,):
        problem = f"has shape {labels.shape}, not ({n_images},), one per image"
    elif labels.dtype.kind == "f":
        fractional = labels[~(np.isfinite(labels) & (labels == np.round(labels)))]
        if fractional.size:
            problem = (
                f"holds values that are not class indices: {fractional[:5].tolist()}"
            )
    elif labels.dtype.kind not in "iu":
        problem = f"holds {labels.dtype} values, not integer class indices"
    if problem:
        raise _bad_file(ValueError, what, problem, remove, certain=False)
    return labels.astype(np.int64)


def _check_label_range(labels, n_classes, what, remove):
    outside = np.unique(labels[(labels < 0) | (labels >= n_classes)])
    if outside.size:
        raise _bad_file(
            ValueError,
            what,
            f"holds class indices outside range({n_classes}) for the {n_classes} "
            f"class names: {outside[:5].tolist()}",
            remove,
            certain=False,
        )


def _assemble(batches, subset, where, *, remove):
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

    target_names = need(_META)
    for name in names:
        what = f"The labels of {name!r} in {str(where)!r}"
        _check_label_range(batches[name][1], len(target_names), what, remove)
    images = [batches[name][0] for name in names]
    images = np.concatenate(images) if len(images) > 1 else images[0]
    target = np.concatenate([batches[name][1] for name in names])
    return images, target, target_names


def _read_npz(path, subset):
    what = f"CIFAR-10 file {str(path)!r}"
    try:
        # Checks the CRC-32 of every member: numpy reads an array without
        # reaching the end of its member, where zipfile would check it.
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except Exception as exc:  # zipfile raises many kinds on damaged input
        raise _bad_file(OSError, what, f"could not be read ({exc})") from exc
    if damaged is not None:
        raise _bad_file(OSError, what, f"fails the CRC check of {damaged!r}")

    arrays = _npz_arrays(path, subset, what)
    if "classes" in arrays:
        names = arrays["classes"]
        if names.ndim != 1 or not names.size:
            raise _bad_file(
                ValueError,
                what,
                f"has a 'classes' array of shape {names.shape}, not a list of names",
                certain=False,
            )
        target_names = np.asarray([str(n) for n in names])
    else:
        target_names = np.asarray(_CIFAR10_CLASSES)
    images, targets = [], []
    for split in _npz_splits(arrays, subset):
        x_key, y_key = f"X_{split}", f"y_{split}"
        x = arrays[x_key]
        if x.dtype != np.uint8 or x.shape[1:] not in (
            (_SIDE, _SIDE, _N_CHANNELS),
            (_N_FEATURES,),
        ):
            raise _bad_file(
                ValueError,
                f"{x_key!r} in {what}",
                f"holds {x.dtype} {x.shape}, not uint8 images of shape "
                "(n, 32, 32, 3) or (n, 3072)",
                path,
                certain=False,
            )
        y = _as_labels(arrays[y_key], len(x), f"{y_key!r} in {what}", path)
        _check_label_range(y, len(target_names), f"{y_key!r} in {what}", path)
        images.append(x.reshape(-1, _SIDE, _SIDE, _N_CHANNELS))
        targets.append(y)
    images = np.ascontiguousarray(np.concatenate(images))
    target = np.concatenate(targets)
    return images, target, target_names


def _npz_splits(keys, subset):
    test_split = "test" if {"X_test", "y_test"} <= set(keys) else "val"
    return {"train": ["train"], "test": [test_split], "all": ["train", test_split]}[
        subset
    ]


def _npz_arrays(path, subset, what):
    """The arrays `subset` needs, and ``classes`` if present."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            needed = [
                key
                for split in _npz_splits(keys, subset)
                for key in (f"X_{split}", f"y_{split}")
            ]
            arrays = {key: npz[key] for key in [*needed, "classes"] if key in keys}
    except (ValueError, zipfile.BadZipFile, *_STREAM_ERRORS) as exc:
        raise _bad_file(
            ValueError,
            what,
            f"could not be read as an .npz ({exc})",
            certain=False,
        ) from exc
    missing = [key for key in needed if key not in keys]
    if missing:
        raise _bad_file(
            ValueError,
            what,
            f"has no {' and '.join(map(repr, missing))} array (found: "
            f"{', '.join(sorted(keys))})",
            certain=False,
        )
    return arrays
