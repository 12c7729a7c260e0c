"""HTTP tasks (httpx, async): Request and Download."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from daemon.engine.context import RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_io import HttpDownloadTask, HttpRequestTask
from daemon.tasks.cancel import until_cancelled

# No read timeout of our own: the task's ``timeout`` (enforced by the engine) bounds the whole call.
TIMEOUT = httpx.Timeout(None, connect=30.0)
_FILENAME = re.compile(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", re.IGNORECASE)


def _headers_out(response: httpx.Response) -> dict[str, list[str]]:
    """Response headers as Kestra shows them: name -> list of values."""
    out: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        out.setdefault(name, []).append(value)
    return out


def request_kwargs(task: HttpRequestTask | HttpDownloadTask, ctx: RunContext) -> dict[str, Any]:
    """httpx ``request`` arguments from the rendered task: body as text or JSON, form data, content type."""
    headers = {str(k): str(v) for k, v in ctx.render(task.headers).items()}
    kwargs: dict[str, Any] = {
        "method": str(ctx.render(task.method)).upper(),
        "url": str(ctx.render(task.uri)),
    }
    content_type = ctx.render(task.contentType) if isinstance(task, HttpRequestTask) else None
    form = ctx.render(task.formData) if isinstance(task, HttpRequestTask) else None
    if form is not None:
        if content_type and str(content_type).lower().startswith("multipart/"):
            # httpx writes the multipart boundary into Content-Type itself
            kwargs["files"] = {str(k): (None, _text(v)) for k, v in form.items()}
            content_type = None
        else:
            kwargs["data"] = {str(k): _text(v) for k, v in form.items()}
    elif task.body is not None:
        body = ctx.render(task.body)
        if isinstance(body, str):
            kwargs["content"] = body.encode()
        else:
            kwargs["content"] = json.dumps(body).encode()
            content_type = content_type or "application/json"
    if content_type and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = str(content_type)
    kwargs["headers"] = headers
    return kwargs


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _failure(method: str, url: str, exc: httpx.HTTPError) -> TaskError:
    return TaskError(f"http: {method} {url} failed: {exc or type(exc).__name__}")


async def run_request(task: HttpRequestTask, ctx: RunContext) -> TaskResult:
    """Send the request; outputs ``code``, ``headers``, ``body`` (text) and ``uri``.

    A JSON body stays a string, as in Kestra (expressions use ``fromJson``). A status of 400 or more fails
    unless ``allowFailed``.
    """
    kwargs = request_kwargs(task, ctx)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=True) as client:
            response = await until_cancelled(client.request(**kwargs), ctx.cancelled)
    except httpx.HTTPError as exc:
        raise _failure(kwargs["method"], kwargs["url"], exc) from exc
    if response.status_code >= 400 and not task.allowFailed:
        raise TaskError(
            f"Failed http request with response code '{response.status_code}': {response.text[:500]}"
        )
    if task.failOnEmptyResponse and not response.content:
        raise TaskError(f"http: empty response body from {kwargs['url']}")
    return TaskResult(
        outputs={
            "code": response.status_code,
            "headers": _headers_out(response),
            "body": response.text,
            "uri": str(response.url),
        }
    )


def download_name(response: httpx.Response) -> str:
    """The file name from Content-Disposition, else the last URL path segment, else ``download``."""
    match = _FILENAME.search(response.headers.get("content-disposition", ""))
    name = unquote(match.group(1)) if match else PurePosixPath(unquote(urlsplit(str(response.url)).path)).name
    name = PurePosixPath(name.replace("\\", "/")).name  # never a path, whatever the server says
    return name if name not in ("", ".", "..") else "download"


async def run_download(task: HttpDownloadTask, ctx: RunContext) -> TaskResult:
    """Stream the response body into internal storage; outputs ``uri``, ``code``, ``length``, ``headers``."""
    kwargs = request_kwargs(task, ctx)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=True) as client:
            return await until_cancelled(_download(client, kwargs, task, ctx), ctx.cancelled)
    except httpx.HTTPError as exc:
        raise _failure(kwargs["method"], kwargs["url"], exc) from exc


async def _download(
    client: httpx.AsyncClient, kwargs: dict[str, Any], task: HttpDownloadTask, ctx: RunContext
) -> TaskResult:
    async with client.stream(**kwargs) as response:
        if response.status_code >= 400:
            raise TaskError(f"Failed http request with response code '{response.status_code}'")
        length = 0
        with tempfile.NamedTemporaryFile(dir=ctx.workdir, prefix=".download-", delete=False) as out:
            tmp = Path(out.name)
            async for chunk in response.aiter_bytes():
                out.write(chunk)
                length += len(chunk)
        try:
            if length == 0 and task.failOnEmptyResponse:
                raise TaskError(f"http: empty response body from {kwargs['url']}")
            uri = ctx.storage.put_file(ctx.execution_id, ctx.task_run_id, download_name(response), tmp)
        finally:
            tmp.unlink(missing_ok=True)
        return TaskResult(
            outputs={
                "uri": uri,
                "code": response.status_code,
                "length": length,
                "headers": _headers_out(response),
            }
        )
