"""A comment's body as commentd stores it: sanitized HTML and the source text beside it."""

from __future__ import annotations

from commentd.services.importers.htmltext import html_to_text, modern_tags
from commentd.services.importers.records import CommentRecord
from commentd.services.render import render


def rendered(record: CommentRecord) -> tuple[str, str]:
    """``(html, text)``: Markdown rendered as the source renders it (or its rendering from the
    source sanitized), the Markdown kept as the text; or HTML sanitized and kept as
    Markdown-ish text."""
    if record.prepared is not None:
        return record.prepared
    if record.markdown is not None:
        if record.html is not None:
            return render(record.html, source="html"), record.markdown
        html = render(record.markdown, breaks=record.breaks, raw_html=record.raw_html)
        return html, record.markdown
    html = render(modern_tags(record.html or ""), source="html")
    return html, html_to_text(html)
