"""Reading execution inputs and labels from an HTTP request, as Kestra takes them.

Inputs come as multipart form fields (file inputs as uploaded files), an url-encoded form, or a JSON body
``{"inputs": {...}}``. Uploaded files are staged in a temporary folder and handed to the executor as local
paths, which it copies into internal storage. A FILE input given as text must be a ``kestra:///`` URI:
the API never lets a caller name a file of the server's own disk.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, status
from starlette.datastructures import UploadFile

from daemon.errors import InputError, UsageError
from daemon.language.model import Flow, Input

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
UPLOAD_CHUNK = 1 << 20


@dataclass
class RequestInputs:
    """What a request gave: plain values, and uploaded files by input id."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, list[UploadFile]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def parse_labels(pairs: list[str]) -> dict[str, str]:
    """Kestra's ``labels=key:value`` query parameters -> dict; 400 naming a malformed one."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep or not key.strip():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"label {pair!r}: expected key:value")
        out[key.strip()] = value
    return out


async def read_inputs(request: Request) -> RequestInputs:
    """The inputs (and JSON-body labels) of a create-execution or webhook request."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    out = RequestInputs()
    if content_type in FORM_TYPES:
        form = await request.form()
        for key in form:
            items = form.getlist(key)
            uploads = [v for v in items if isinstance(v, UploadFile)]
            texts = [v for v in items if not isinstance(v, UploadFile)]
            if uploads:
                out.files[key] = uploads
            if texts:
                out.values[key] = texts[0] if len(texts) == 1 else texts
        return out
    raw = await request.body()
    if not raw.strip():
        return out
    try:
        body = await request.json()
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("inputs", {}), dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail='expected a JSON body {"inputs": {...}}')
    out.values = dict(body.get("inputs") or {})
    labels = body.get("labels") or {}
    if isinstance(labels, list):  # Kestra's [{key, value}] form
        labels = {str(item.get("key")): str(item.get("value")) for item in labels if isinstance(item, dict)}
    if not isinstance(labels, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="labels: expected an object or a list")
    out.labels = {str(k): str(v) for k, v in labels.items()}
    return out


def _is_file_input(spec: Input) -> bool:
    return spec.type == "FILE" or (spec.type == "ARRAY" and spec.itemType == "FILE")


def check_file_inputs(flow: Flow, given: RequestInputs) -> None:
    """InputError for a FILE input given as text that is not an internal storage URI, and for an upload
    sent for an input that is not a FILE."""
    declared = {spec.id: spec for spec in flow.inputs}
    for input_id in given.files:
        spec = declared.get(input_id)
        if spec is None or not _is_file_input(spec):
            raise InputError(input_id, "a file was uploaded but the input is not of type FILE")
    for input_id, value in given.values.items():
        spec = declared.get(input_id)
        if spec is None or not _is_file_input(spec) or value in (None, ""):
            continue
        for item in value if isinstance(value, list) else [value]:
            if not (isinstance(item, str) and item.startswith("kestra:///")):
                raise InputError(input_id, "upload the file as a multipart part, or give a kestra:/// URI")


@contextmanager
def staged_uploads(given: RequestInputs) -> Iterator[dict[str, Any]]:
    """The inputs with each uploaded file saved to a temporary path (kept while the context is open)."""
    values: dict[str, Any] = dict(given.values)
    if not given.files:
        yield values
        return
    folder = Path(tempfile.mkdtemp(prefix="flowd-upload-"))
    try:
        for input_id, uploads in given.files.items():
            paths = []
            for n, upload in enumerate(uploads):
                # the stored file keeps the client's file name (only its last part: no path in it)
                name = Path(upload.filename or "").name
                if "\\" in name or any(ord(c) < 32 for c in name):
                    raise UsageError(
                        f"input '{input_id}': the uploaded file name {name!r} holds a backslash "
                        "or a control character"
                    )
                if name in ("", ".", ".."):
                    name = input_id
                target = folder / str(n) / input_id / name
                target.parent.mkdir(parents=True)
                with target.open("wb") as out:
                    shutil.copyfileobj(upload.file, out, UPLOAD_CHUNK)
                paths.append(str(target))
            values[input_id] = paths[0] if len(paths) == 1 else paths
        yield values
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def merged_labels(query: Mapping[str, str], body: Mapping[str, str]) -> dict[str, str]:
    """Labels of the JSON body, overridden by the query's."""
    return {**body, **query}
