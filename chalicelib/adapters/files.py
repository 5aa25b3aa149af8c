"""S3 files: presigned POSTs for uploads straight from the browser, presigned GETs for downloads.

Keys are chosen by the services (scoped per supplier and PO); this module only talks to S3."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import settings
from .aws import client

CONTENT_TYPES: dict[str, str] = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class Upload:
    url: str
    fields: dict[str, str]
    key: str
    expires_in: int
    max_bytes: int


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    last_modified: datetime


def presigned_post(key: str, content_type: str, *, max_bytes: int | None = None) -> Upload:
    """A POST form for exactly this key and content type, at most `max_bytes` (default
    `upload_max_bytes`), short-lived."""
    s = settings()
    limit = s.upload_max_bytes if max_bytes is None else max_bytes
    post = client("s3").generate_presigned_post(
        Bucket=s.uploads_bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, limit]],
        ExpiresIn=s.upload_expiry_s,
    )
    return Upload(
        url=post["url"],
        fields={k: str(v) for k, v in post["fields"].items()},
        key=key,
        expires_in=s.upload_expiry_s,
        max_bytes=limit,
    )


def presigned_get(key: str) -> str:
    return str(
        client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": settings().uploads_bucket, "Key": key}, ExpiresIn=settings().upload_expiry_s
        )
    )


def head(key: str) -> dict[str, Any] | None:
    """The object's metadata, or None when nothing was uploaded under the key."""
    s3 = client("s3")
    try:
        return dict(s3.head_object(Bucket=settings().uploads_bucket, Key=key))
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def list_files(prefix: str, *, limit: int = 1000) -> list[StoredFile]:
    """One ListObjectsV2 page under `prefix` (callers pass a prefix they own)."""
    page = client("s3").list_objects_v2(Bucket=settings().uploads_bucket, Prefix=prefix, MaxKeys=limit)
    return [StoredFile(key=o["Key"], size=int(o["Size"]), last_modified=o["LastModified"]) for o in page.get("Contents", [])]
