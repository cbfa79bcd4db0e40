"""`/docs`: Swagger UI for `/openapi.json`, served from the platform's own files (no CDN). The
Swagger UI 5 bundle and stylesheet come from the `fastapi-swagger` wheel (resources only: its
FastAPI helpers are not used); Swagger UI 5 renders OpenAPI 3.1. The page's one script is a file
under /static (CSP `script-src 'self'`, no inline script), which starts Swagger UI on the schema."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH: Final = "/docs"
ASSETS_PATH: Final = "/docs/assets"
ASSETS_DIR: Final = Path(str(files("fastapi_swagger") / "resources"))

router = APIRouter(include_in_schema=False)

PAGE: Final = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CRM API</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""

# Same-origin everything. Swagger UI sets style attributes and draws icons as data: images;
# "Try it out" calls the API on this origin.
HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@router.get(DOCS_PATH)
async def api_docs() -> HTMLResponse:
    return HTMLResponse(PAGE, headers=HEADERS)


def assets() -> StaticFiles:
    """Swagger UI's files, mounted at ASSETS_PATH."""
    return StaticFiles(directory=ASSETS_DIR)
