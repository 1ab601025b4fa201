"""Data Docs must render without internet: fsm.quality.data_docs.localise vendors the CDN assets.

A tiny real site is built with GX (file context, pandas data, one suite with two expectations, one
validation run), localised, then checked statically and - with @pytest.mark.browser - in headless
Chromium with every non-file request aborted.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from fsm.quality.data_docs import ASSETS, VENDOR_DIR, localise, remote_assets
from support.browser import CHROMIUM

CDN_HOSTS = (
    "bootstrapcdn.com", "code.jquery.com", "cdnjs.cloudflare.com", "unpkg.com", "cdn.jsdelivr.net",
    "amazonaws.com", "fonts.googleapis.com", "fonts.gstatic.com",
)  # fmt: skip
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
_ATTR_RE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_CSS_URL_RE = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")


def _build_site(root: Path) -> Path:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    docs = root / "data_docs"
    context = gx.get_context(mode="file", project_root_dir=str(root / "gx"))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name="offline_test",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    frame = pd.DataFrame({"cpr_hash": ["a", "b", "c", None], "hours": [3, 12, 7, 40]})
    batch_def = (
        context.data_sources.add_pandas("frames").add_dataframe_asset("markings").add_batch_definition_whole_dataframe("all")
    )
    suite = context.suites.add(
        gx.ExpectationSuite(
            name="offline_suite",
            expectations=[
                gx.expectations.ExpectColumnValuesToNotBeNull(column="cpr_hash"),  # fails: one null
                gx.expectations.ExpectColumnValuesToBeBetween(column="hours", min_value=0, max_value=37),  # fails: 40
            ],
        )
    )
    vd = context.validation_definitions.add(gx.ValidationDefinition(name="offline_vd", data=batch_def, suite=suite))
    vd.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY"})
    context.build_data_docs(site_names=["offline_test"])
    return docs


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """The GX-built site, untouched (copy it before localising)."""
    return _build_site(tmp_path_factory.mktemp("gx_docs"))


@pytest.fixture(scope="module")
def site(built_site, tmp_path_factory) -> Path:
    docs = tmp_path_factory.mktemp("localised") / "data_docs"
    shutil.copytree(built_site, docs)
    assert localise(docs) > 0
    return docs


def _pages(docs: Path) -> list[Path]:
    return sorted(p for p in docs.rglob("*.html") if "static/vendor" not in p.as_posix())


def _validation_page(docs: Path) -> Path:
    pages = sorted((docs / "validations").rglob("*.html"))
    assert pages, "GX wrote no validation page"
    return pages[0]


def test_vendored_files_match_the_map_and_readme():
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    for target in set(ASSETS.values()):
        rel = target.removeprefix("static/vendor/")
        assert (VENDOR_DIR / rel).is_file(), rel
        assert rel in readme, f"{rel} not documented in vendor README"
    total = sum(p.stat().st_size for p in VENDOR_DIR.rglob("*") if p.is_file())
    assert total < 4_000_000, f"vendored Data Docs assets grew to {total} bytes"


def test_built_site_uses_cdns(built_site):
    """Guards the premise: if a GX upgrade changes the URLs, the map in data_docs_offline must follow."""
    text = (built_site / "index.html").read_text(encoding="utf-8")
    assert "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css" in text
    page = _validation_page(built_site).read_text(encoding="utf-8")
    assert any(url in page for url in ASSETS)


def test_localise_rewrites_all_cdn_urls(site):
    pages = _pages(site)
    assert site / "index.html" in pages
    assert any("validations" in p.parts for p in pages) and any("expectations" in p.parts for p in pages)
    assert remote_assets(site) == []
    checked = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for ref in _ATTR_RE.findall(text) + _CSS_URL_RE.findall(text):
            assert not any(host in ref for host in CDN_HOSTS), f"{page.relative_to(site)} still loads {ref}"
            if ref.startswith(("http:", "https:", "#", "data:", "mailto:", "javascript:")):
                continue
            path = ref.split("#")[0].split("?")[0]
            if "static/" not in path:
                continue  # links between pages
            checked += 1
            if path.endswith("favicon.ico"):
                continue  # GX's own favicon link on validation pages is one "../" short; not ours to fix
            assert (page.parent / unquote(path)).resolve().is_file(), f"{page.relative_to(site)}: {ref} does not exist"
        assert "integrity=" not in text and "crossorigin=" not in text
    assert checked >= 15 * len(pages)
    vpage = _validation_page(site).read_text(encoding="utf-8")
    depth = len(_validation_page(site).relative_to(site).parts) - 1
    assert f'src="{"../" * depth}static/vendor/jquery-3.7.1/jquery.min.js"' in vpage
    assert f'src="{"../" * depth}static/images/logo-long.png"' in vpage


def test_localise_is_idempotent(site):
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert localise(site) == 0
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before


def test_assets_land_in_static_vendor(site):
    vendor = site / "static" / "vendor"
    for src in VENDOR_DIR.rglob("*"):
        if src.is_file():
            assert (vendor / src.relative_to(VENDOR_DIR)).read_bytes() == src.read_bytes()
    assert (vendor / "fontawesome-free-6.6.0" / "webfonts" / "fa-solid-900.woff2").is_file()


@pytest.mark.browser
def test_offline_rendering_in_chromium(site):
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    def abort(route):
        blocked.append(route.request.url)
        route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("http*://**", abort)
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))

            page.goto((site / "index.html").as_uri())
            page.wait_for_load_state("load")
            index_font = page.evaluate("getComputedStyle(document.body).fontFamily")
            # bootstrap-table turns the index's run list into a table with data rows
            page.wait_for_selector(".bootstrap-table tbody tr[data-index]", timeout=15_000)
            assert page.evaluate("typeof jQuery") == "function" and page.evaluate("typeof jQuery.fn.bootstrapTable") == "function"
            assert page.evaluate("typeof vegaEmbed") == "function"
            page.screenshot(path="/tmp/data_docs_index.png", full_page=True)

            page.goto(_validation_page(site).as_uri())
            page.wait_for_load_state("load")
            rows = page.locator(".bootstrap-table table tbody tr")
            page.wait_for_selector(".bootstrap-table table tbody tr", timeout=15_000)
            assert rows.count() >= 2  # the two expectations
            body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
            # bootstrap's reboot: body font is the system stack, not the UA default (Times / serif)
            assert "-apple-system" in body_font or "Segoe UI" in body_font, body_font
            assert index_font == body_font
            # a bootstrap class is styled: .navbar is display:flex, .sticky-top is position:sticky
            assert page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).display") == "flex"
            # Font Awesome CSS and its webfonts load from disk
            fa = page.evaluate(
                "document.fonts.check('900 16px \"Font Awesome 6 Free\"') || "
                "[...document.fonts].some(f => f.family.includes('Font Awesome') && f.status === 'loaded')"
            )
            assert fa, "Font Awesome webfont not available"
            logo_ok = page.evaluate(
                "(() => { const i = document.querySelector('.navbar-brand img'); return i.complete && i.naturalWidth > 0; })()"
            )
            assert logo_ok, "logo did not load"
            page.screenshot(path="/tmp/data_docs_validation.png", full_page=True)
        finally:
            browser.close()
    assert not errors, errors
    # nothing was even attempted from the network, nothing on disk was missing
    assert not blocked, blocked
    assert [u for u in failed if u.startswith("file:") and not u.endswith("favicon.ico")] == []
