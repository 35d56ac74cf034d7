"""Tests for sklinear.datasets (no network: downloads are served from tmp_path)."""

import hashlib
import io
import pickle
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


def test_corrupted_archive(tmp_path, archive):
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:-200])
    with pytest.raises(OSError, match="delete it"):
        load_cifar10(truncated)


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
