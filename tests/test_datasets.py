"""Tests for sklinear.datasets (no network: downloads are served from tmp_path)."""

import hashlib
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest
from sklearn.utils import Bunch

from sklinear import datasets
from sklinear.datasets import load_cifar10

CLASSES = ["airplane", "automobile", "bird"]
N_PER_BATCH = 6
N_TRAIN_BATCHES = 2


def _images(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def _known_image():
    """An image whose R, G and B planes differ and encode (y, x)."""
    y, x = np.mgrid[:32, :32]
    return np.stack([y * 8, x * 8, (y + x) % 7 + 200], axis=-1).astype(np.uint8)


def _to_rows(images):
    """HWC images -> channel-first rows, as stored in the official batches."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


def _expected():
    """The images and labels the fake data set holds, per split."""
    train = [_images(N_PER_BATCH, seed) for seed in range(N_TRAIN_BATCHES)]
    train[0][2] = _known_image()
    train_y = np.arange(N_PER_BATCH * N_TRAIN_BATCHES) % len(CLASSES)
    test = _images(N_PER_BATCH, 99)
    test_y = (np.arange(N_PER_BATCH) + 1) % len(CLASSES)
    return np.concatenate(train), train_y, test, test_y


def _batch_files():
    """File name -> pickled bytes, in the official (Python 2, bytes keys) format."""
    train, train_y, test, test_y = _expected()
    files = {}
    for k in range(N_TRAIN_BATCHES):
        sl = slice(k * N_PER_BATCH, (k + 1) * N_PER_BATCH)
        files[f"data_batch_{k + 1}"] = {
            b"batch_label": f"training batch {k + 1} of {N_TRAIN_BATCHES}".encode(),
            b"labels": train_y[sl].tolist(),
            b"data": _to_rows(train[sl]),
            b"filenames": [b"x.png"] * N_PER_BATCH,
        }
    files["test_batch"] = {b"labels": test_y.tolist(), b"data": _to_rows(test)}
    files["batches.meta"] = {
        b"label_names": [c.encode() for c in CLASSES],
        b"num_cases_per_batch": N_PER_BATCH,
        b"num_vis": 3072,
    }
    return {name: pickle.dumps(obj, protocol=2) for name, obj in files.items()}


@pytest.fixture
def batches_dir(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    directory.mkdir()
    for name, blob in _batch_files().items():
        (directory / name).write_bytes(blob)
    return directory


def _make_archive(path):
    # Reverse order, like the official archive whose batches are not sorted.
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in reversed(_batch_files().items()):
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


@pytest.fixture
def archive(tmp_path):
    return _make_archive(tmp_path / "cifar-10-python.tar.gz")


def _check_bunch(bunch, subset):
    train, train_y, test, test_y = _expected()
    images, target = {
        "train": (train, train_y),
        "test": (test, test_y),
        "all": (np.concatenate([train, test]), np.concatenate([train_y, test_y])),
    }[subset]
    assert isinstance(bunch, Bunch)
    assert bunch.subset == subset
    assert bunch.images.dtype == np.uint8 and bunch.data.dtype == np.uint8
    assert bunch.images.shape == (len(images), 32, 32, 3)
    assert bunch.data.shape == (len(images), 3072)
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.data.reshape(-1, 32, 32, 3), bunch.images)
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, target)
    assert bunch.target_names.tolist() == CLASSES
    assert "CIFAR-10" in bunch.DESCR


@pytest.mark.parametrize("subset", ["train", "test", "all"])
@pytest.mark.parametrize("form", ["dir", "parent", "archive", "archive_parent"])
def test_official_format(batches_dir, archive, form, subset):
    path = {
        "dir": batches_dir,
        "parent": batches_dir.parent,  # holds both; the directory wins
        "archive": archive,
        "archive_parent": archive.parent,
    }[form]
    if form == "archive_parent":
        path = archive.parent / "only_archive"
        path.mkdir()
        archive = archive.rename(path / archive.name)
    _check_bunch(load_cifar10(str(path), subset=subset), subset)


def test_pixel_layout(batches_dir):
    """A channel-first row comes back as images[i, y, x, c] (and data in HWC)."""
    image = _known_image()
    bunch = load_cifar10(batches_dir)
    np.testing.assert_array_equal(bunch.images[2], image)
    row = _to_rows(image[None])[0]
    for y, x, c in [(0, 0, 0), (3, 17, 1), (31, 5, 2), (30, 31, 0)]:
        assert bunch.images[2, y, x, c] == row[c * 1024 + y * 32 + x] == image[y, x, c]
        assert bunch.data[2, (y * 32 + x) * 3 + c] == image[y, x, c]


def test_return_X_y(archive):
    X, y = load_cifar10(archive, subset="test", return_X_y=True)
    _, _, test, test_y = _expected()
    assert X.shape == (N_PER_BATCH, 3072) and X.dtype == np.uint8
    np.testing.assert_array_equal(X, test.reshape(len(test), -1))
    np.testing.assert_array_equal(y, test_y)


def test_reads_whatever_train_batches_exist_in_order(batches_dir):
    blobs = _batch_files()
    (batches_dir / "data_batch_10").write_bytes(blobs["data_batch_1"])
    bunch = load_cifar10(batches_dir)
    train, train_y, _, _ = _expected()
    np.testing.assert_array_equal(bunch.images, np.concatenate([train, train[:6]]))
    np.testing.assert_array_equal(bunch.target, np.concatenate([train_y, train_y[:6]]))


@pytest.mark.parametrize("test_key", ["test", "val"])
def test_npz(tmp_path, test_key):
    train, train_y, test, test_y = _expected()
    path = tmp_path / "small.npz"
    np.savez(
        path,
        X_train=train,
        y_train=train_y.astype(np.int32),
        **{f"X_{test_key}": test.reshape(len(test), -1), f"y_{test_key}": test_y},
        classes=np.array(CLASSES),
    )
    for subset in ["train", "test", "all"]:
        _check_bunch(load_cifar10(path, subset=subset), subset)


def test_npz_prefers_test_over_val_and_default_names(tmp_path):
    path = tmp_path / "small.npz"
    a, b = _images(2, 0), _images(3, 1)
    y = np.zeros(5, dtype=np.int64)
    np.savez(
        path, X_train=a, y_train=y[:2], X_val=a, y_val=y[:2], X_test=b, y_test=y[:3]
    )
    bunch = load_cifar10(path, subset="test")
    np.testing.assert_array_equal(bunch.images, b)
    assert len(bunch.target_names) == 10 and bunch.target_names[0] == "airplane"


def test_bad_npz(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X_train=np.zeros((2, 32, 32, 3)), y_train=np.zeros(2))
    with pytest.raises(ValueError, match="uint8"):
        load_cifar10(path)
    with pytest.raises(ValueError, match="X_val"):
        load_cifar10(path, subset="test")


def test_unknown_subset(batches_dir):
    with pytest.raises(ValueError, match="'train', 'test', 'all'.*'validation'"):
        load_cifar10(batches_dir, subset="validation")


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="No CIFAR-10 data"):
        load_cifar10(tmp_path)


def test_missing_batch_file(batches_dir):
    (batches_dir / "test_batch").unlink()
    load_cifar10(batches_dir)  # the train subset does not need it
    with pytest.raises(FileNotFoundError, match="test_batch"):
        load_cifar10(batches_dir, subset="test")


def test_not_an_archive(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ValueError, match="neither a tar archive nor an .npz"):
        load_cifar10(path)


def test_truncated_archive_names_the_file_and_the_fix(tmp_path, archive):
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:-200])
    with pytest.raises(OSError, match="ended before the end-of-stream") as excinfo:
        load_cifar10(truncated)
    _assert_names_file_and_fix(excinfo.value, truncated)


def _assert_names_file_and_fix(error, path):
    message = str(error)
    assert str(path) in message, message
    assert "elete" in message and "download CIFAR-10 again" in message, message


def test_missing_no_download(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("no download expected")

    monkeypatch.setattr(datasets, "urlopen", fail)
    with pytest.raises(FileNotFoundError) as excinfo:
        load_cifar10(data_home=tmp_path, download_if_missing=False)
    message = str(excinfo.value)
    assert str(tmp_path / "cifar10" / "cifar-10-python.tar.gz") in message
    assert "download_if_missing=True" in message


class _FakeResponse(io.BytesIO):
    def __init__(self, payload, with_length=True):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))} if with_length else {}


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Serve a tiny archive at the official URL; record the requests."""
    payload = _make_archive(tmp_path / "served.tar.gz").read_bytes()
    md5 = hashlib.md5(payload).hexdigest()
    monkeypatch.setattr(datasets, "_ARCHIVE", datasets._ARCHIVE._replace(md5=md5))
    monkeypatch.setattr(datasets, "_CHUNK_SIZE", 1000)
    requests = []

    def fake_urlopen(url, timeout=None):
        requests.append(url)
        return _FakeResponse(payload)

    monkeypatch.setattr(datasets, "urlopen", fake_urlopen)
    return requests


def test_download_then_cached(tmp_path, served, capsys):
    data_home = tmp_path / "home"
    bunch = load_cifar10(data_home=data_home, subset="all")
    _check_bunch(bunch, "all")
    assert served == [datasets._ARCHIVE.url]
    cache = data_home / "cifar10"
    assert sorted(p.name for p in cache.iterdir()) == ["cifar-10-python.tar.gz"]
    err = capsys.readouterr().err
    assert datasets._ARCHIVE.url in err and "100%" in err

    # Second call: read from the cache, no request, no output.
    _check_bunch(load_cifar10(data_home=data_home, download_if_missing=False), "train")
    assert len(served) == 1
    assert capsys.readouterr().err == ""


def test_cached_batches_dir_is_used(tmp_path, batches_dir, served):
    cache = tmp_path / "home" / "cifar10"
    cache.mkdir(parents=True)
    batches_dir.rename(cache / "cifar-10-batches-py")
    _check_bunch(load_cifar10(data_home=tmp_path / "home", subset="test"), "test")
    assert served == []


def test_download_quiet(tmp_path, served, capsys):
    load_cifar10(data_home=tmp_path, verbose=False)
    assert capsys.readouterr() == ("", "")


def test_download_progress_without_length(tmp_path, served, monkeypatch, capsys):
    payload = (tmp_path / "served.tar.gz").read_bytes()
    monkeypatch.setattr(
        datasets, "urlopen", lambda url, timeout=None: _FakeResponse(payload, False)
    )
    load_cifar10(data_home=tmp_path / "home")
    assert " MB" in capsys.readouterr().err


def test_checksum_mismatch_removes_file(tmp_path, served, monkeypatch):
    monkeypatch.setattr(datasets, "_ARCHIVE", datasets._ARCHIVE._replace(md5="0" * 32))
    with pytest.raises(OSError, match="Checksum mismatch"):
        load_cifar10(data_home=tmp_path, verbose=False)
    assert list((tmp_path / "cifar10").iterdir()) == []


def test_failed_download_removes_partial_file(tmp_path, monkeypatch):
    class Broken(_FakeResponse):
        def read(self, size=-1):
            raise ConnectionResetError("connection reset")

    monkeypatch.setattr(
        datasets, "urlopen", lambda url, timeout=None: Broken(b"x" * 10)
    )
    with pytest.raises(ConnectionResetError):
        load_cifar10(data_home=tmp_path, verbose=False)
    assert list((tmp_path / "cifar10").iterdir()) == []


def test_unreachable_url(tmp_path, monkeypatch):
    def refuse(url, timeout=None):
        raise OSError("network is unreachable")

    monkeypatch.setattr(datasets, "urlopen", refuse)
    with pytest.raises(OSError, match="pass its path as `path`"):
        load_cifar10(data_home=tmp_path, verbose=False)
    assert list((tmp_path / "cifar10").iterdir()) == []


def test_short_download_removes_file(tmp_path, served, monkeypatch):
    class Short(_FakeResponse):
        def __init__(self):
            super().__init__(b"x" * 10)
            self.headers = {"Content-Length": "20"}

    monkeypatch.setattr(datasets, "urlopen", lambda url, timeout=None: Short())
    with pytest.raises(OSError, match="Incomplete download"):
        load_cifar10(data_home=tmp_path, verbose=False)
    assert list((tmp_path / "cifar10").iterdir()) == []


# Corrupted files ------------------------------------------------------------
#
# Every read of a damaged file either raises an error naming the file and
# the fix, or returns exactly the original data (a byte that carries no data,
# such as a gzip timestamp or tar padding, may change harmlessly).


def _tiny_batch_files():
    """A small data set in the official format: 2 + 1 images, 3 classes."""
    rng = np.random.default_rng(7)

    def rows(n):
        images = np.full((n, 32, 32, 3), 90, dtype=np.uint8)
        images[:, 5:9, 3:7] = rng.integers(0, 256, (n, 4, 4, 3))
        return _to_rows(images)

    files = {
        "data_batch_1": {
            b"batch_label": b"training batch 1 of 1",
            b"labels": [0, 2],
            b"data": rows(2),
            b"filenames": [b"a.png", b"b.png"],
        },
        "test_batch": {
            b"batch_label": b"testing batch 1 of 1",
            b"labels": [1],
            b"data": rows(1),
            b"filenames": [b"c.png"],
        },
        "batches.meta": {
            b"label_names": [c.encode() for c in CLASSES],
            b"num_cases_per_batch": 2,
            b"num_vis": 3072,
        },
    }
    return {name: pickle.dumps(obj, protocol=2) for name, obj in files.items()}


@pytest.fixture
def tiny_official(monkeypatch):
    """The tiny files, registered as the official ones with their checksums."""
    blobs = _tiny_batch_files()
    identity = {
        "data_batch_1": ({b"batch_label": b"training batch 1 of 1"}, 2),
        "test_batch": ({b"batch_label": b"testing batch 1 of 1"}, 1),
        "batches.meta": ({b"num_cases_per_batch": 2}, None),
    }
    official = {
        name: datasets._OfficialFile(hashlib.md5(blobs[name]).hexdigest(), *entries)
        for name, entries in identity.items()
    }
    monkeypatch.setattr(datasets, "_OFFICIAL_FILES", official)
    return blobs


def _write_tar(path, blobs, mode):
    with tarfile.open(path, mode) as tar:
        for name, blob in blobs.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


def _positions(blob, dense=()):
    """Every byte in the first and last 250 and in `dense` ranges, every 97th
    elsewhere (the pixels, where every damage has the same fate)."""
    keep = np.zeros(len(blob), dtype=bool)
    keep[::97] = keep[:250] = keep[-250:] = True
    for start, stop in dense:
        keep[start:stop] = True
    return np.flatnonzero(keep)


def _check_damaged(path, blob, positions, expected, named):
    """Damage each position in turn, read, and count the outcomes.

    The byte is inverted, or one of its bits flipped, depending on the
    position. `named` is the file the error must name.
    """
    outcomes = {"error": 0, "same": 0}
    for position in positions:
        damaged = bytearray(blob)
        damaged[position] ^= (0xFF, 0x01, 0x80, 0x10)[position % 4]
        path.write_bytes(damaged)
        try:
            bunch = load_cifar10(
                path.parent if path.suffix == "" else path, subset="all"
            )
        except (OSError, ValueError) as error:
            _assert_names_file_and_fix(error, named)
            outcomes["error"] += 1
            continue
        np.testing.assert_array_equal(bunch.images, expected.images)
        np.testing.assert_array_equal(bunch.target, expected.target)
        assert bunch.target_names.tolist() == expected.target_names.tolist()
        outcomes["same"] += 1
    return outcomes


@pytest.mark.slow
def test_every_damaged_byte_of_a_gzip_archive_is_caught(tmp_path):
    # Not registered as official: the gzip CRC alone must catch everything.
    path = _write_tar(tmp_path / "cifar-10-python.tar.gz", _tiny_batch_files(), "w:gz")
    blob = path.read_bytes()
    expected = load_cifar10(path, subset="all")
    outcomes = _check_damaged(path, blob, range(len(blob)), expected, path)
    # Most bytes carry data; a few (the gzip timestamp, ...) do not.
    assert outcomes["error"] > 0.95 * len(blob), outcomes


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["w", "w:bz2", "w:xz"])
def test_damaged_plain_and_other_compressed_archives_are_caught(
    tmp_path, tiny_official, mode
):
    path = _write_tar(tmp_path / "cifar.tar", tiny_official, mode)
    blob = path.read_bytes()
    expected = load_cifar10(path, subset="all")
    dense = []
    if mode == "w":  # every byte of every tar header
        with tarfile.open(path) as tar:
            # The fields up to the type flag, and the format magic.
            starts = [m.offset for m in tar.getmembers()]
            dense = [(a, a + 157) for a in starts] + [
                (a + 257, a + 265) for a in starts
            ]
    positions = _positions(blob, dense)
    outcomes = _check_damaged(path, blob, positions, expected, path)
    assert outcomes["error"] > 0, outcomes


@pytest.mark.slow
def test_every_damaged_batch_file_in_a_directory_is_caught(tmp_path, tiny_official):
    directory = tmp_path / "cifar-10-batches-py"
    directory.mkdir()
    for name, blob in tiny_official.items():
        (directory / name).write_bytes(blob)
    expected = load_cifar10(directory, subset="all")
    for name in ["data_batch_1", "batches.meta"]:  # test_batch is like the first
        blob = tiny_official[name]
        path = directory / name
        outcomes = _check_damaged(path, blob, _positions(blob), expected, path)
        assert outcomes["error"] > 0, (name, outcomes)
        path.write_bytes(blob)


@pytest.mark.slow
def test_every_damaged_byte_of_an_npz_is_caught(tmp_path):
    rng = np.random.default_rng(0)
    images = np.full((3, 32, 32, 3), 7, dtype=np.uint8)
    images[:, :2, :2] = rng.integers(0, 256, (3, 2, 2, 3))
    path = tmp_path / "small.npz"
    np.savez(path, X_train=images[:2], y_train=[0, 2], X_test=images[2:], y_test=[1])
    blob = path.read_bytes()
    expected = load_cifar10(path, subset="all")
    outcomes = _check_damaged(path, blob, _positions(blob), expected, path)
    assert outcomes["error"] > 0, outcomes


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["w:gz", "w"])
def test_every_truncation_of_an_archive_is_caught(tmp_path, tiny_official, mode):
    path = _write_tar(tmp_path / "cifar.tar", tiny_official, mode)
    blob = path.read_bytes()
    expected = load_cifar10(path, subset="all")
    with tarfile.open(path) as tar:
        data_end = max(m.offset_data + m.size for m in tar.getmembers())
    for length in range(0, len(blob), 2 if mode == "w:gz" else 47):
        path.write_bytes(blob[:length])
        if length <= data_end or mode == "w:gz":
            with pytest.raises((OSError, ValueError)) as excinfo:
                load_cifar10(path, subset="all")
            _assert_names_file_and_fix(excinfo.value, path)
        else:  # cut in the zero padding that ends a plain tar: data intact
            try:
                bunch = load_cifar10(path, subset="all")
            except OSError as error:
                _assert_names_file_and_fix(error, path)
            else:
                np.testing.assert_array_equal(bunch.images, expected.images)


def test_truncated_npz_and_batch_file(tmp_path, batches_dir):
    train, train_y, _, _ = _expected()
    path = tmp_path / "small.npz"
    np.savez(path, X_train=train, y_train=train_y, X_val=train, y_val=train_y)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(OSError) as excinfo:
        load_cifar10(path)
    _assert_names_file_and_fix(excinfo.value, path)
    batch = batches_dir / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:-10])
    with pytest.raises(ValueError, match="could not be unpickled") as excinfo:
        load_cifar10(batches_dir)
    _assert_names_file_and_fix(excinfo.value, batch)


def test_official_file_with_wrong_checksum(tmp_path, tiny_official):
    directory = tmp_path / "cifar-10-batches-py"
    directory.mkdir()
    for name, blob in tiny_official.items():
        (directory / name).write_bytes(blob)
    # The same data pickled again: valid, but not the official bytes.
    batch = pickle.loads(tiny_official["test_batch"], encoding="bytes")
    batch[b"data"] = batch[b"data"].copy()
    batch[b"data"][0, 5] += 1
    (directory / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    load_cifar10(directory)  # the training subset does not read test_batch
    with pytest.raises(
        OSError,
        match=r"official 'test_batch' by its b'batch_label' and number of images",
    ) as excinfo:
        load_cifar10(directory, subset="test")
    _assert_names_file_and_fix(excinfo.value, directory)


def test_unofficial_files_are_not_held_to_the_official_checksums(batches_dir):
    # Files in the official format that do not claim to be the official ones
    # (their batch_label differs) cannot be verified, and load.
    assert b"training batch 1 of 2" in (batches_dir / "data_batch_1").read_bytes()
    _check_bunch(load_cifar10(batches_dir, subset="all"), "all")


def test_official_checksums_are_the_published_ones():
    official = datasets._OFFICIAL_FILES
    assert sorted(official) == sorted(
        [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch", "batches.meta"]
    )
    # As published with torchvision.datasets.CIFAR10.
    assert official["data_batch_1"].md5 == "c99cafc152244af753f735de768cd75f"
    assert official["test_batch"].md5 == "40351d587109b95175f43aff81a1287e"
    assert official["batches.meta"].md5 == "5ff9c542aee3614f3951f8cda6e48888"
    assert official["data_batch_5"].entries == {
        b"batch_label": b"training batch 5 of 5"
    }
    assert official["data_batch_5"].n_images == official["test_batch"].n_images == 10000


def test_pickle_referring_to_other_code_is_refused(batches_dir):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (batches_dir / "test_batch").write_bytes(pickle.dumps({b"x": Evil()}))
    with pytest.raises(ValueError, match="refers to builtins.print") as excinfo:
        load_cifar10(batches_dir, subset="test")
    _assert_names_file_and_fix(excinfo.value, batches_dir / "test_batch")


def test_damaged_later_tar_header_is_not_end_of_archive(tmp_path):
    # tarfile stops silently at a damaged header after the first member, which
    # would drop the batches that follow it.
    path = _write_tar(tmp_path / "cifar.tar", _batch_files(), "w")
    with tarfile.open(path) as tar:
        third = tar.getmembers()[2]
    blob = bytearray(path.read_bytes())
    blob[third.offset + 100] ^= 0x40  # its mode field: the header checksum fails
    path.write_bytes(blob)
    with pytest.raises(OSError, match=f"damaged tar header at byte {third.offset}"):
        load_cifar10(path, subset="all")


def test_data_after_the_end_of_the_archive(tmp_path):
    path = _write_tar(tmp_path / "cifar.tar", _batch_files(), "w")
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(OSError, match="data after its end-of-archive marker"):
        load_cifar10(path)


def test_duplicate_member(tmp_path):
    blobs = _batch_files()
    path = tmp_path / "cifar.tar"
    with tarfile.open(path, "w") as tar:
        for name in ["batches.meta", "data_batch_1", "data_batch_1"]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blobs[name])
            tar.addfile(info, io.BytesIO(blobs[name]))
    with pytest.raises(ValueError, match="holds 'data_batch_1' twice"):
        load_cifar10(path)


def test_damaged_first_byte_is_still_read_as_an_archive(tmp_path, archive):
    blob = bytearray(archive.read_bytes())
    blob[0] ^= 0xFF
    archive.write_bytes(blob)
    with pytest.raises(OSError, match="Not a gzipped file") as excinfo:
        load_cifar10(archive)
    _assert_names_file_and_fix(excinfo.value, archive)


# Labels ------------------------------------------------------------------------


def _rewrite_batch(directory, name, **entries):
    path = directory / name
    batch = pickle.loads(path.read_bytes(), encoding="bytes")
    batch.update({key.encode(): value for key, value in entries.items()})
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return path


@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 1, 2, 3, 0, 1], r"outside range\(3\).*\[3\]"),
        ([0, 1, 2, -1, 0, 1], r"outside range\(3\).*\[-1\]"),
        ([0, 1.7, 2, 0, 0, 1], r"not class indices: \[1.7\]"),
        ([0, 1, 2, 0, 1], r"shape \(5,\), not \(6,\)"),
        (["a"] * 6, "not integer class indices"),
    ],
)
def test_bad_labels_in_a_batch(batches_dir, labels, message):
    path = _rewrite_batch(batches_dir, "data_batch_2", labels=labels)
    with pytest.raises(ValueError, match=message) as excinfo:
        load_cifar10(batches_dir)
    assert "data_batch_2" in str(excinfo.value)
    assert str(batches_dir) in str(excinfo.value)
    del path


def test_integral_float_labels_are_accepted(batches_dir):
    _, train_y, _, _ = _expected()
    _rewrite_batch(batches_dir, "data_batch_1", labels=[float(v) for v in train_y[:6]])
    bunch = load_cifar10(batches_dir)
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, train_y)


@pytest.mark.parametrize(
    "y_train, classes, message",
    [
        ([0, 10], None, r"outside range\(10\).*\[10\]"),
        ([0, 3], ["a", "b", "c"], r"outside range\(3\).*\[3\]"),
        ([0.0, 1.7], None, r"not class indices: \[1.7\]"),
        ([0, np.nan], None, r"not class indices: \[nan\]"),
    ],
)
def test_bad_labels_in_an_npz(tmp_path, y_train, classes, message):
    path = tmp_path / "bad.npz"
    extra = {} if classes is None else {"classes": np.array(classes)}
    np.savez(path, X_train=_images(2, 0), y_train=np.array(y_train), **extra)
    with pytest.raises(ValueError, match=message) as excinfo:
        load_cifar10(path)
    assert "'y_train'" in str(excinfo.value) and str(path) in str(excinfo.value)


def test_bad_batch_structure(batches_dir):
    _rewrite_batch(batches_dir, "data_batch_1", data=np.zeros((6, 3072), np.int16))
    with pytest.raises(ValueError, match=r"holds int16 \(6, 3072\) data"):
        load_cifar10(batches_dir)
    path = batches_dir / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8)}))
    with pytest.raises(ValueError, match="has no b'labels' entry"):
        load_cifar10(batches_dir)
    path.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match="holds a list, not a dict"):
        load_cifar10(batches_dir)
    (batches_dir / "batches.meta").write_bytes(pickle.dumps({b"names": []}))
    path.unlink()
    with pytest.raises(ValueError, match="no b'label_names' list"):
        load_cifar10(batches_dir)


# Pickle formats ---------------------------------------------------------------


_DTYPE_STATE = b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"


def _python2_pickle(batch, dtype_state=_DTYPE_STATE):
    """Protocol 2 as Python 2's cPickle wrote the official batches: byte
    strings for str, numpy in ``numpy.core``, dtype state with byte strings."""

    def string(b):
        if len(b) < 256:
            return b"U" + bytes([len(b)]) + b
        return b"T" + struct.pack("<i", len(b)) + b

    def value(v):
        if isinstance(v, bytes):
            return string(v)
        if isinstance(v, int):
            return b"J" + struct.pack("<i", v)
        if isinstance(v, list):
            return b"](" + b"".join(value(x) for x in v) + b"e"
        assert v.dtype == np.uint8 and v.ndim == 2
        dtype = b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R" + dtype_state + b"b"
        return (
            b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
            b"(K\x01"
            + value(v.shape[0])
            + value(v.shape[1])
            + b"\x86"
            + dtype
            + b"\x89"
            + string(v.tobytes())
            + b"tb"
        )

    items = b"".join(string(k) + value(v) for k, v in batch.items())
    return b"\x80\x02}q\x00(" + items + b"u."


@pytest.mark.parametrize("protocol", ["python2", 0, 1, 2, 3, 4, 5])
def test_batches_pickled_by_any_protocol(batches_dir, protocol):
    for path in batches_dir.iterdir():
        batch = pickle.loads(path.read_bytes(), encoding="bytes")
        if protocol == "python2":
            blob = _python2_pickle(batch)
            reference = pickle.loads(blob, encoding="bytes")  # numpy's own reading
            assert reference.keys() == batch.keys()
        else:
            blob = pickle.dumps(batch, protocol=protocol)
        path.write_bytes(blob)
    _check_bunch(load_cifar10(batches_dir, subset="all"), "all")


def test_damaged_memo_index_does_not_allocate(batches_dir):
    # LONG_BINPUT 2**31 - 1: the C unpickler would grow its memo to 16 GiB.
    blob = b"\x80\x02}r\xff\xff\xff\x7f."
    (batches_dir / "test_batch").write_bytes(blob)
    with pytest.raises(ValueError, match="holds a dict|no b'data'"):
        load_cifar10(batches_dir, subset="test")


@pytest.mark.parametrize(
    "state",
    [
        _DTYPE_STATE.replace(b"K\x00t", b"K?t"),  # flags: "holds objects", ...
        _DTYPE_STATE.replace(b"|NNN", b"|N(U\x01atNN"),  # field names
        _DTYPE_STATE.replace(b"K\x03", b"K\x07"),  # version
    ],
)
def test_damaged_dtype_state_is_refused(batches_dir, state):
    # numpy would accept such states and fail later in obscure ways.
    batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}
    path = batches_dir / "test_batch"
    path.write_bytes(_python2_pickle(batch))
    load_cifar10(batches_dir, subset="test")
    path.write_bytes(_python2_pickle(batch, state))
    with pytest.raises(ValueError, match="unexpected dtype state"):
        load_cifar10(batches_dir, subset="test")
