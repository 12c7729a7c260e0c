"""The UI's own CSS and JavaScript, served from the package (no CDN: the daemon may have no internet)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from daemon.server.ui.render import STATIC

MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".svg": "image/svg+xml"}  # fmt: skip


def routes() -> APIRouter:
    """``GET /ui/static/{name}``: only files directly in the static folder with a known type."""
    router = APIRouter()
    files = {p.name: p for p in STATIC.iterdir() if p.suffix in MEDIA_TYPES}

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        path = files.get(name)
        if path is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no static file {name}")
        return FileResponse(
            path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "public, max-age=300"}
        )

    return router
