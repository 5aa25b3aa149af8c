"""Export files in S3: rows streamed into a multipart upload through temporary files, an XLSX made
from a finished CSV, presigned download links.

Memory stays bounded whatever the row count: rows go to a temporary file on disk, each part is
uploaded from its file (botocore streams a file body), and the XLSX is written by openpyxl's
write-only workbook (rows go straight to disk) from the CSV read back as a stream.
"""

from __future__ import annotations

import codecs
import csv
import io
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from ..config import settings
from .aws import client

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_COPY_CHUNK = 256 * 1024


class MultipartWriter:
    """CSV rows into one multipart upload. `parts` are the parts already uploaded (a resumed run
    passes its checkpoint's); rows written since the last `flush` sit in a temporary file."""

    def __init__(
        self, bucket: str, key: str, content_type: str, *, upload_id: str | None, parts: Sequence[dict[str, Any]]
    ) -> None:
        self.bucket, self.key = bucket, key
        s3 = client("s3")
        self.upload_id = upload_id or s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)["UploadId"]
        self.parts: list[dict[str, Any]] = [dict(p) for p in parts]
        self._open()

    def _open(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by flush/close
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.writer(self._text)

    @property
    def buffered(self) -> int:
        return self._file.tell()

    def write_rows(self, rows: Iterable[Sequence[str]]) -> None:
        self._csv.writerows(rows)

    def flush(self) -> None:
        """Upload what is buffered as the next part (nothing when nothing is buffered)."""
        if self.buffered == 0:
            return
        n = len(self.parts) + 1
        self._file.seek(0)
        etag = client("s3").upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=n, Body=self._file)[
            "ETag"
        ]
        self.parts.append({"n": n, "etag": etag})
        self.close()
        self._open()

    def complete(self) -> int:
        """Upload the rest, complete the upload; the object's size."""
        self.flush()
        s3 = client("s3")
        s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": [{"PartNumber": int(p["n"]), "ETag": p["etag"]} for p in self.parts]},
        )
        self.close()
        return int(s3.head_object(Bucket=self.bucket, Key=self.key)["ContentLength"])

    def keep_tail(self, key: str) -> str | None:
        """Keep what is buffered (less than a part: S3 refuses a part under 5 MiB but the last) as its
        own object `key`, for the next invocation to carry on with (`take_tail`); None when nothing is
        buffered. One PutObject from the file."""
        if self.buffered == 0:
            return None
        self._file.seek(0)
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=self._file, ContentType=CONTENT_TYPES["csv"])
        self._file.seek(0, io.SEEK_END)
        return key

    def take_tail(self, key: str) -> None:
        """Start the buffer with a kept tail (`keep_tail`): it goes into the next part. One GetObject."""
        body = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"]
        shutil.copyfileobj(body, self._file, _COPY_CHUNK)

    def close(self) -> None:
        if not self._file.closed:
            self._text.detach()
            self._file.close()

    close_quietly = close


def upload_file(path: str, bucket: str, key: str, content_type: str) -> int:
    """A file on disk into S3 in parts of `export_part_bytes`, each copied to its own temporary file
    (so no part is ever held in memory); the object's size."""
    s3 = client("s3")
    part_bytes = settings().export_part_bytes
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)["UploadId"]
    parts: list[dict[str, Any]] = []
    size = 0
    with open(path, "rb") as source:
        while True:
            with tempfile.TemporaryFile() as part:
                copied = _copy(source, part, part_bytes)
                if copied == 0 and parts:
                    break
                part.seek(0)
                n = len(parts) + 1
                etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=part)["ETag"]
                parts.append({"PartNumber": n, "ETag": etag})
                size += copied
                if copied < part_bytes:
                    break
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    return size


def _copy(source: IO[bytes], target: IO[bytes], limit: int) -> int:
    copied = 0
    while copied < limit:
        chunk = source.read(min(_COPY_CHUNK, limit - copied))
        if not chunk:
            break
        target.write(chunk)
        copied += len(chunk)
    return copied


def csv_to_xlsx(bucket: str, csv_key: str, xlsx_key: str, sheet: str, convert: Callable[[list[str]], list[Any]]) -> int:
    """Read a CSV object as a stream and write it as an XLSX (header row, then `convert` of each row)."""
    from openpyxl import Workbook  # lazily: only export runs pay for it

    body = client("s3").get_object(Bucket=bucket, Key=csv_key)["Body"]
    reader = csv.reader(codecs.getreader("utf-8")(body))
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    header = next(reader, None)
    if header is not None:
        worksheet.append(header)
    for row in reader:
        worksheet.append(convert(row))
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as target:
        workbook.save(target.name)
        return upload_file(target.name, bucket, xlsx_key, CONTENT_TYPES["xlsx"])


def presigned_download(bucket: str, key: str, file_name: str) -> str:
    return str(
        client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="{file_name}"'},
            ExpiresIn=settings().export_link_expiry_s,
        )
    )


def copy_to(stream: IO[bytes], bucket: str, key: str) -> None:
    """Download an object into a stream (tests and tools)."""
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    shutil.copyfileobj(body, stream)


def put_small(bucket: str, key: str, body: bytes, content_type: str) -> int:
    """A small file (a packing list) in one PutObject; its size."""
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    return len(body)
