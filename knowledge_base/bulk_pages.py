"""Editor pages for bulk work: import a CSV or Excel file (with a row-by-row report) and
export every FAQ in either format (knowledge_base.transfer does the reading and writing)."""
from __future__ import annotations

import asyncio

import aiohttp_jinja2
from aiohttp import web

from knowledge_base.editor_keys import ON_CHANGE, REPOSITORY, USERNAME_OF, page_context
from knowledge_base.transfer import MAX_FILE_BYTES, BadFile, export_csv, export_xlsx, import_file

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _context(request: web.Request, **extra):
    return page_context(max_mb=MAX_FILE_BYTES // (1024 * 1024), **extra)


async def import_form(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("faq_import.html", request, _context(request, report=None, error=None))


async def _uploaded_file(request: web.Request):
    """(file name, bytes) of the form's "file" field, read as a stream: the web service's
    request size limit is for forms, a workbook may be larger (up to MAX_FILE_BYTES)."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise BadFile("Choose a CSV or Excel file to import.") from None
    while True:
        part = await reader.next()
        if part is None:
            raise BadFile("Choose a CSV or Excel file to import.")
        if getattr(part, "name", None) != "file":
            continue
        data = bytearray()
        while True:
            chunk = await part.read_chunk(64 * 1024)
            if not chunk:
                break
            data.extend(chunk)
            if len(data) > MAX_FILE_BYTES:
                raise BadFile(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        if not data:
            raise BadFile("The file is empty.")
        return part.filename or "", bytes(data)


async def import_upload(request: web.Request) -> web.Response:
    try:
        filename, data = await _uploaded_file(request)
        report = await asyncio.to_thread(
            import_file, request.app[REPOSITORY], data, filename, request.app[USERNAME_OF](request))
    except BadFile as bad:
        return aiohttp_jinja2.render_template(
            "faq_import.html", request, _context(request, report=None, error=str(bad)), status=400)
    for slug in report.created + report.updated:
        await request.app[ON_CHANGE](request, slug in report.created, slug)
    return aiohttp_jinja2.render_template(
        "faq_import.html", request, _context(request, report=report, error=None, filename=filename),
        status=200)


async def export(request: web.Request) -> web.Response:
    kind = request.match_info["format"]
    faqs = await asyncio.to_thread(request.app[REPOSITORY].all)
    if kind == "xlsx":
        body, content_type = await asyncio.to_thread(export_xlsx, faqs), XLSX_TYPE
    else:
        body, content_type = await asyncio.to_thread(export_csv, faqs), "text/csv"
    await request.app[ON_CHANGE](request, False, "", change="exported", detail={"format": kind, "faqs": len(faqs)})
    return web.Response(body=body, headers={
        "Content-Type": content_type if kind == "xlsx" else "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="faqs.{kind}"',
    })


def add_routes(app: web.Application) -> None:
    app.router.add_get("/import", import_form)
    app.router.add_post("/import", import_upload)
    app.router.add_get(r"/export.{format:csv|xlsx}", export)
