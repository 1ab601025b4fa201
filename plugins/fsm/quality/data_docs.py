"""Make Great Expectations Data Docs work without internet access.

GX 1.x renders every Data Docs page with `<link>`/`<script>` tags pointing at public CDNs
(bootstrap, jQuery, popper, bootstrap-table, bootstrap-datepicker, Font Awesome, bootstrap-dark,
vega) and a logo on S3. Offline that yields an unstyled page whose result tables stay empty
(bootstrap-table never runs). `localise(docs_dir)` fixes a built site in place:

1. copies the vendored copies of those files (`fsm/vendor/data_docs/`, provenance in its README.md)
   to `<docs_dir>/static/vendor/`;
2. rewrites each known CDN URL in each `.html` file below `docs_dir` to a path relative to that
   file (`static/vendor/…` from index.html, `../../../../static/vendor/…` from
   validations/<suite>/<run>/<time>/<batch>.html; dotted suite names nest deeper), and the S3 logos
   to the site's own `static/images/logo-long.png`. `integrity`/`crossorigin` attributes on rewritten
   tags are dropped: Chromium refuses CORS-mode loads from file:// ("origin 'null'"), which is how
   the docs are opened. (The vendored files are byte-identical to what those SRI hashes pin.)

Run it after every `context.build_data_docs()` (GX rewrites the pages each build). It is
idempotent: a second run rewrites nothing and returns 0. Links in `<a href>` to
greatexpectations.io stay as they are; they are navigation, not page assets.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

VENDOR_DIR = Path(__file__).resolve().parent / "vendor" / "data_docs"
SITE_VENDOR = "static/vendor"  # relative to the site root
LOGO = "static/images/logo-long.png"  # shipped by GX in every site

_V = SITE_VENDOR
# Exact URLs as written by GX 1.24 templates (page.j2, page_minimal.j2, index_page.j2, js_script_imports.j2)
# -> file below the site root. The un-minified CSS references map to the minified file of the same content.
ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": f"{_V}/bootstrap-4.3.1/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": f"{_V}/bootstrap-4.3.1/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": f"{_V}/jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": f"{_V}/popper.js-1.12.9/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": f"{_V}/bootstrap-table-1.19.1/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": f"{_V}/bootstrap-table-1.19.1/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        f"{_V}/bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    # GX links the filter-control CSS as 1.19.0 (.css on pages, .min.css on the index); 1.19.0 and 1.19.1
    # ship the same rules (only the version banner differs).
    **{
        f"https://unpkg.com/bootstrap-table@{ver}/dist/extensions/filter-control/bootstrap-table-filter-control{ext}": (
            f"{_V}/bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.css"
        )
        for ver in ("1.19.0", "1.19.1")
        for ext in (".css", ".min.css")
    },
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        f"{_V}/bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        f"{_V}/bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": f"{_V}/fontawesome-free-6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        f"{_V}/bootstrap-dark-1.1.0/bootstrap-prefers-dark.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.min.css": (
        f"{_V}/bootstrap-dark-1.1.0/bootstrap-prefers-dark.min.css"
    ),
    # jsDelivr serves a bare `pkg@major` as the package's "jsdelivr" file (build/<pkg>.min.js) of the newest release.
    "https://cdn.jsdelivr.net/npm/vega@5": f"{_V}/vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": f"{_V}/vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": f"{_V}/vega-embed-6.29.0/vega-embed.min.js",
}

_END = r"""(?=["'\s)<>])"""  # a URL ends at a quote, whitespace, `)` (CSS url()) or a tag bracket
_CDN_RE = re.compile("(" + "|".join(re.escape(u) for u in sorted(ASSETS, key=len, reverse=True)) + ")" + _END)
# navbar <img> (logo-long.png?d=…&dataContextId=…) and the dark-mode CSS background (full_logo_dark.png);
# the site has no dark logo, so both become the site's logo-long.png.
_S3_RE = re.compile(
    r"https?://great-expectations-web-assets\.s3[.a-z0-9-]*\.amazonaws\.com/(?:logo-long|full_logo_dark)\.png"
    r"""(?:\?[^"'\s)<>]*)?""" + _END
)
_TAG_RE = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_SRI_ATTR_RE = re.compile(r"""\s+(?:integrity|crossorigin)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?""", re.IGNORECASE)
# Any remaining remote asset reference (script/link/img src or href); <a href> navigation links are not assets.
_REMOTE_ASSET_RE = re.compile(
    r"""<(?:script|link|img|source)\b[^>]*?\b(?:src|href)\s*=\s*["']?(https?:)?//[^"'\s>]+""", re.IGNORECASE
)


def _rel(html: Path, docs_dir: Path, target: str) -> str:
    return Path(os.path.relpath(docs_dir / target, html.parent)).as_posix()


def _localise_text(text: str, html: Path, docs_dir: Path) -> tuple[str, int]:
    count = 0

    def cdn(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return _rel(html, docs_dir, ASSETS[m.group(1)])

    def s3(_m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return _rel(html, docs_dir, LOGO)

    text = _CDN_RE.sub(cdn, text)
    text = _S3_RE.sub(s3, text)
    # SRI/CORS attributes make Chromium fetch file:// in CORS mode, which it refuses; strip them from
    # tags that now point into static/vendor (only those: other tags are none of our business).
    text = _TAG_RE.sub(lambda m: _SRI_ATTR_RE.sub("", m.group(0)) if f"{SITE_VENDOR}/" in m.group(0) else m.group(0), text)
    return text, count


def copy_assets(docs_dir: Path) -> Path:
    """Copy the vendored files to `<docs_dir>/static/vendor/` (overwriting; unchanged files are skipped)."""
    dest = Path(docs_dir) / SITE_VENDOR
    for src in sorted(VENDOR_DIR.rglob("*")):
        if not src.is_file() or "__pycache__" in src.parts:
            continue
        out = dest / src.relative_to(VENDOR_DIR)
        if out.is_file() and out.stat().st_size == src.stat().st_size and out.read_bytes() == src.read_bytes():
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
    return dest


def remote_assets(docs_dir: Path) -> list[tuple[Path, str]]:
    """(page, tag) for every script/link/img/source tag under docs_dir still loading from the network."""
    found = []
    for html in sorted(Path(docs_dir).rglob("*.html")):
        text = html.read_bytes().decode("utf-8", errors="replace")
        found += [(html, m.group(0)) for m in _REMOTE_ASSET_RE.finditer(text)]
    return found


def localise(docs_dir: Path) -> int:
    """Make the Data Docs site at docs_dir self-contained; return the number of URLs rewritten."""
    docs_dir = Path(docs_dir)
    if not any(docs_dir.rglob("*.html")):
        log.warning("Data Docs: no HTML under %s, nothing to localise", docs_dir)
        return 0
    copy_assets(docs_dir)
    total = 0
    for html in sorted(docs_dir.rglob("*.html")):
        if SITE_VENDOR in html.relative_to(docs_dir).as_posix():
            continue  # nothing of ours is HTML, but never touch the vendored tree
        raw = html.read_bytes()
        text = raw.decode("utf-8")
        new, n = _localise_text(text, html, docs_dir)
        if new != text:
            html.write_bytes(new.encode("utf-8"))  # bytes in/out: keeps line endings as GX wrote them
        total += n
    left = remote_assets(docs_dir)
    for page, tag in left[:5]:
        log.warning("Data Docs: unknown remote asset left in %s: %s", page.relative_to(docs_dir), tag[:200])
    if len(left) > 5:
        log.warning("Data Docs: … %d more remote asset references (GX upgrade? extend data_docs_offline.ASSETS)", len(left) - 5)
    log.info("Data Docs localised: %d URLs rewritten under %s", total, docs_dir)
    return total
