"""Object store: one interface, two implementations (local directory, S3).

Both honour the same contract (tested by one suite against both): keys are
validated (``core.keys``), listing is lexicographic with ``start_after`` like
S3's ListObjectsV2, writes are atomic (a reader sees the old object or the new
one, never a partial file), and S3 writes request server-side encryption (P5).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..core.errors import CcrError, InvalidKeyError
from ..core.keys import validate_key, validate_prefix, validate_received_key

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime  # timezone-aware UTC


@dataclass(frozen=True)
class ObjectVersion:
    """One stored version of a key, or a delete marker (versioned S3 buckets). P17, P19: erasure
    and purges delete every version, not only the current object."""

    key: str
    version_id: str  # "null" on an unversioned store
    is_latest: bool
    is_delete_marker: bool
    size: int


class ObjectNotFound(CcrError, KeyError):
    """The key does not exist (message carries the key only, which holds no personal data)."""


class ObjectStore(ABC):
    """The contract every object-store implementation follows."""

    kind: str

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> ObjectInfo: ...

    @abstractmethod
    def put_file(self, key: str, path: str | Path) -> ObjectInfo: ...

    @abstractmethod
    def get_bytes(self, key: str, *, received: bool = False) -> bytes: ...

    @abstractmethod
    def download_file(self, key: str, path: str | Path, *, received: bool = False) -> None: ...

    @abstractmethod
    def head(self, key: str, *, received: bool = False) -> ObjectInfo | None: ...

    @abstractmethod
    def list(self, prefix: str = "", *, start_after: str | None = None, page_size: int = 1000) -> Iterator[ObjectInfo]:
        """Yield objects under *prefix* in lexicographic key order, after *start_after*."""

    @abstractmethod
    def delete(self, key: str, *, received: bool = False) -> None:
        """Delete *key*; deleting a missing key is not an error (S3 semantics).

        ``received=True`` (also on get/head/download) accepts any key found in the
        inbox, valid or not, so that bad uploads can be quarantined and removed."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """Stable address for lineage (``file://…`` or ``s3://bucket/key``)."""

    @abstractmethod
    def access_url(self, key: str, expires_s: int = 3600) -> str:
        """A link a tenant can use: presigned URL (S3) or a local path."""

    @abstractmethod
    def list_versions(self, prefix: str) -> Iterator[ObjectVersion]:
        """Every version and delete marker under *prefix*, by key (a store without versioning
        has one version per object)."""

    @abstractmethod
    def delete_versions(self, versions: list[ObjectVersion]) -> int:
        """Permanently delete these versions / delete markers; returns how many were removed."""

    def put_audit_copy(self, key: str, data: bytes) -> str | None:
        """P6, P13: a write-once copy of audit evidence in the object-locked audit bucket (prod:
        ``object_store.audit_bucket``); returns its address, or None when the store has no audit
        bucket (the embedded default: nothing can lock a local file against its owner)."""
        return None

    def delete_all_versions(self, key: str) -> int:
        """P17, P19: remove *key* for good: every version and delete marker. Idempotent."""
        validate_key(key)
        return self.delete_versions([v for v in self.list_versions(key) if v.key == key])

    def delete_noncurrent_versions(self, key: str) -> int:
        """After a rewrite (erasure of some rows), drop the older versions that still hold them."""
        validate_key(key)
        return self.delete_versions([v for v in self.list_versions(key) if v.key == key and not v.is_latest])

    def delete_prefix_all_versions(self, prefix: str) -> int:
        """Every version of every key under *prefix* (tenant offboarding)."""
        validate_prefix(prefix)
        total, batch = 0, []
        for v in self.list_versions(prefix):
            batch.append(v)
            if len(batch) >= 1000:
                total += self.delete_versions(batch)
                batch = []
        return total + (self.delete_versions(batch) if batch else 0)

    def discard_partial_writes(self, prefix: str = "") -> int:
        """Delete what writers killed mid-write left under *prefix*; returns how many (P3, P19).

        A partial write is never listed, so erasure, retention and reports never see it, yet it may
        hold personal data. On S3 a PUT is atomic and the bucket's lifecycle rule
        (``AbortIncompleteMultipartUpload``, infra/terraform) aborts unfinished multipart uploads,
        so there is nothing to do here."""
        validate_prefix(prefix)
        return 0

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def copy(self, src: str, dst: str, *, received: bool = False) -> ObjectInfo:
        return self.put_bytes(dst, self.get_bytes(src, received=received))

    def sha256(self, key: str) -> str:
        return hashlib.sha256(self.get_bytes(key)).hexdigest()


# ---------------------------------------------------------------------------
class LocalObjectStore(ObjectStore):
    """A directory with object-store semantics: the embedded default."""

    kind = "local"

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str, *, received: bool = False) -> Path:
        checked = validate_received_key(key) if received else validate_key(key)
        path = (self.root / checked).resolve()
        # validate_key already refuses '..'; this is defence in depth against links.
        if self.root not in path.parents:
            raise ValueError("object key resolves outside the store root")
        return path

    def _info(self, key: str, path: Path) -> ObjectInfo:
        st = path.stat()
        return ObjectInfo(
            key=key,
            size=st.st_size,
            # Cheap and stable while the file is unchanged: listing 10,000
            # objects must not read them all. Rewrites get a new etag.
            etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        )

    def _atomic_write(self, key: str, writer) -> ObjectInfo:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise IsADirectoryError(key)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            # A directory cannot be a file too: unlike S3, keys "a/b" and "a/b/c"
            # cannot coexist here. Our layouts never need both (files have extensions).
            raise InvalidKeyError("object key collides with an existing object or folder (local store)") from None
        # Dot-prefixed temp name: never a valid key, so never listed. It names the writer's pid, so
        # that discard_partial_writes can tell a write in progress from one whose writer died.
        fd, tmp = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                writer(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with _suppress():
                os.unlink(tmp)
            raise
        return self._info(key, path)

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        return self._atomic_write(key, lambda fh: fh.write(data))

    def discard_partial_writes(self, prefix: str = "") -> int:
        """Temp files of writers that died (SIGKILL, power loss) before their rename (P3, P19).

        A temp file goes when its writer's pid is no longer running, or when it is older than
        ``PARTIAL_WRITE_MAX_AGE_S`` (a pid reused by another process, or a name without a pid)."""
        _rel, base = self._prefix_dir(prefix)
        removed = 0
        now = time.time()
        # A temp file's target key is unknown: everything under the prefix's folder is in scope.
        for directory, _dirs, files in os.walk(base):
            for name in files:
                if not name.startswith(_TEMP_PREFIX):
                    continue
                path = Path(directory) / name
                try:
                    age = now - path.stat().st_mtime
                except FileNotFoundError:  # renamed by its (live) writer meanwhile
                    continue
                if age > PARTIAL_WRITE_MAX_AGE_S or not _pid_running(_writer_pid(name)):
                    with _suppress():
                        path.unlink()
                        removed += 1
        return removed

    def put_file(self, key: str, path: str | Path) -> ObjectInfo:
        def writer(fh):
            with open(path, "rb") as src:
                shutil.copyfileobj(src, fh, _CHUNK)

        return self._atomic_write(key, writer)

    def get_bytes(self, key: str, *, received: bool = False) -> bytes:
        try:
            return self._path(key, received=received).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def download_file(self, key: str, path: str | Path, *, received: bool = False) -> None:
        src = self._path(key, received=received)
        if not src.is_file():
            raise ObjectNotFound(key)
        shutil.copyfile(src, path)

    def head(self, key: str, *, received: bool = False) -> ObjectInfo | None:
        path = self._path(key, received=received)
        if not path.is_file():
            return None
        return self._info(key, path)

    def list(self, prefix: str = "", *, start_after: str | None = None, page_size: int = 1000) -> Iterator[ObjectInfo]:
        base_rel, base = self._prefix_dir(prefix)  # walk only the folder that can hold the prefix
        if not base.is_dir():
            return
        yield from self._walk(base, base_rel, prefix, start_after)

    def _prefix_dir(self, prefix: str) -> tuple[str, Path]:
        """The folder (relative, absolute) that holds every key starting with *prefix* (validated)."""
        validate_prefix(prefix)
        base_rel = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        return base_rel, (self.root / base_rel if base_rel else self.root)

    def _walk(self, directory: Path, rel: str, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            return
        # Sort as S3 would sort the full keys: a directory sorts as "name/".
        keyed = []
        for e in entries:
            if e.name.startswith("."):
                continue
            is_dir = e.is_dir(follow_symlinks=False)
            key = f"{rel}/{e.name}" if rel else e.name
            keyed.append((key + "/" if is_dir else key, key, is_dir, e))
        keyed.sort(key=lambda t: t[0])
        for sort_key, key, is_dir, entry in keyed:
            if is_dir:
                # prune subtrees that cannot match the prefix or are all <= start_after
                if not (sort_key.startswith(prefix) or prefix.startswith(sort_key)):
                    continue
                if start_after is not None and not start_after.startswith(sort_key) and sort_key < start_after:
                    continue
                yield from self._walk(Path(entry.path), key, prefix, start_after)
            else:
                if not key.startswith(prefix):
                    continue
                if start_after is not None and key <= start_after:
                    continue
                yield self._info(key, Path(entry.path))

    def delete(self, key: str, *, received: bool = False) -> None:
        path = self._path(key, received=received)
        with _suppress():
            path.unlink()
        # Tidy empty parent directories up to the root.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list_versions(self, prefix: str) -> Iterator[ObjectVersion]:
        # A directory keeps no history: the current file is the only version.
        for info in self.list(prefix):
            yield ObjectVersion(key=info.key, version_id="null", is_latest=True, is_delete_marker=False, size=info.size)

    def delete_versions(self, versions: list[ObjectVersion]) -> int:
        n = 0
        for v in versions:
            if self.head(v.key) is not None:
                self.delete(v.key)
                n += 1
        return n

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def access_url(self, key: str, expires_s: int = 3600) -> str:
        return str(self._path(key))


# ---------------------------------------------------------------------------
DAMAGED_READ_ATTEMPTS = 3


def _undamaged(read):
    """*read()* again when the body that came back fails its checksum (botocore's
    FlexibleChecksumError: a body cut short or damaged in transit; S3's advice is to retry), up to
    DAMAGED_READ_ATTEMPTS times. Seen once in 3 full test runs against moto's server on a loaded
    2-core machine: an empty body for a Parquet partition."""
    from botocore.exceptions import FlexibleChecksumError

    for attempt in range(DAMAGED_READ_ATTEMPTS):
        try:
            return read()
        except FlexibleChecksumError:
            if attempt == DAMAGED_READ_ATTEMPTS - 1:
                raise


class S3ObjectStore(ObjectStore):
    """S3 (or an S3-compatible endpoint) through boto3."""

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        region: str = "eu-west-3",
        endpoint_url: str | None = None,
        sse: str = "AES256",
        kms_key_id: str | None = None,
        client=None,
        max_attempts: int = 8,
        read_timeout: float = 60,
        audit_bucket: str | None = None,
        audit_retention_days: int = 1825,
    ):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.region = region
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.audit_bucket = audit_bucket or None
        self.audit_retention_days = int(audit_retention_days)
        self.client = client or boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            # "standard" retries back off with jitter on 5xx, throttling and
            # connection errors: transient S3 faults must not lose a call.
            config=Config(
                retries={"mode": "standard", "max_attempts": max_attempts},
                connect_timeout=10,
                read_timeout=read_timeout,
            ),
        )

    def _sse_args(self) -> dict:
        if self.sse == "none":
            return {}
        args = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args

    def _info(self, key: str, size: int, etag: str, last_modified: datetime) -> ObjectInfo:
        return ObjectInfo(key=key, size=int(size), etag=etag.strip('"'), last_modified=last_modified.astimezone(UTC))

    def put_audit_copy(self, key: str, data: bytes) -> str | None:
        """Object lock COMPLIANCE until now + ``audit_retention_days`` (the bucket's default retention
        is the same; stating it on the write makes the copy's lock explicit): nobody, root included,
        can overwrite this version or delete it before then. IAM: s3:PutObject and
        s3:PutObjectRetention on the audit bucket's prefixes (infra/terraform)."""
        if not self.audit_bucket:
            return None
        import base64
        from datetime import timedelta

        validate_key(key)
        until = datetime.now(UTC) + timedelta(days=self.audit_retention_days)
        resp = self.client.put_object(
            Bucket=self.audit_bucket,
            Key=key,
            Body=data,
            ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),  # required with a lock
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
            **self._sse_args(),
        )
        version = resp.get("VersionId")
        return f"s3://{self.audit_bucket}/{key}" + (f"?versionId={version}" if version else "")

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        validate_key(key)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **self._sse_args())
        info = self.head(key)
        assert info is not None
        return info

    def put_file(self, key: str, path: str | Path) -> ObjectInfo:
        validate_key(key)
        # upload_file switches to multipart for large files; either way the
        # object appears only when complete.
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=self._sse_args() or None)
        info = self.head(key)
        assert info is not None
        return info

    def get_bytes(self, key: str, *, received: bool = False) -> bytes:
        _check(key, received)
        try:
            return _undamaged(lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(key) from None

    def download_file(self, key: str, path: str | Path, *, received: bool = False) -> None:
        _check(key, received)
        from botocore.exceptions import ClientError

        try:
            _undamaged(lambda: self.client.download_file(self.bucket, key, str(path)))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise ObjectNotFound(key) from None
            raise

    def head(self, key: str, *, received: bool = False) -> ObjectInfo | None:
        _check(key, received)
        from botocore.exceptions import ClientError

        try:
            r = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return self._info(key, r["ContentLength"], r["ETag"], r["LastModified"])

    def list(self, prefix: str = "", *, start_after: str | None = None, page_size: int = 1000) -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        kwargs = {"Bucket": self.bucket, "Prefix": prefix, "PaginationConfig": {"PageSize": page_size}}
        if start_after:
            kwargs["StartAfter"] = start_after
        for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
            for obj in page.get("Contents", []):
                yield self._info(obj["Key"], obj["Size"], obj["ETag"], obj["LastModified"])

    def delete(self, key: str, *, received: bool = False) -> None:
        _check(key, received)
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_versions(self, prefix: str) -> Iterator[ObjectVersion]:
        validate_prefix(prefix)
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
            for v in page.get("Versions", []):
                yield ObjectVersion(
                    key=v["Key"],
                    version_id=v.get("VersionId") or "null",
                    is_latest=bool(v.get("IsLatest")),
                    is_delete_marker=False,
                    size=int(v["Size"]),
                )
            for m in page.get("DeleteMarkers", []):
                yield ObjectVersion(
                    key=m["Key"],
                    version_id=m.get("VersionId") or "null",
                    is_latest=bool(m.get("IsLatest")),
                    is_delete_marker=True,
                    size=0,
                )

    def delete_versions(self, versions: list[ObjectVersion]) -> int:
        n = 0
        for i in range(0, len(versions), 1000):  # DeleteObjects takes 1,000 keys at most
            chunk = versions[i : i + 1000]
            r = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Quiet": False, "Objects": [{"Key": v.key, "VersionId": v.version_id} for v in chunk]},
            )
            if r.get("Errors"):
                raise RuntimeError(
                    f"S3 refused to delete {len(r['Errors'])} object version(s): {r['Errors'][0].get('Code')}"
                )
            n += len(r.get("Deleted", []))
        return n

    def copy(self, src: str, dst: str, *, received: bool = False) -> ObjectInfo:
        _check(src, received)
        validate_key(dst)
        try:
            self.client.copy_object(
                Bucket=self.bucket, Key=dst, CopySource={"Bucket": self.bucket, "Key": src}, **self._sse_args()
            )
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(src) from None  # same contract as get/download (and the local store)
        info = self.head(dst)
        assert info is not None
        return info

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{validate_key(key)}"

    def access_url(self, key: str, expires_s: int = 3600) -> str:
        validate_key(key)
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=int(expires_s)
        )


# ---------------------------------------------------------------------------
_TEMP_PREFIX = ".tmp-"
PARTIAL_WRITE_MAX_AGE_S = 24 * 3600  # no single write of ours takes a day


def _writer_pid(temp_name: str) -> int | None:
    head = temp_name[len(_TEMP_PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() and len(head) < 10 else None


def _pid_running(pid: int | None) -> bool:
    """Whether *pid* is a live process on this host (None: unknown writer, treated as live)."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    # a zombie (killed, not yet reaped) holds its pid but writes nothing more
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except OSError:
        return True


def _check(key: str, received: bool) -> str:
    return validate_received_key(key) if received else validate_key(key)


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, OSError)
