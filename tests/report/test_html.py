"""tranche_report.html: self-contained, the figures and sentences in place, and as Chromium renders it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from report.support import needs_chromium, opened_in_chromium


def test_html_is_self_contained_and_has_the_content(reports):
    html = (reports["dir"] / "tranche_report.html").read_text(encoding="utf-8")
    assert '<html lang="da">' in html
    assert "@page" in html and "size: A4" in html and "break-before: page" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)  # nothing loads from the network
    assert not re.search(r"<link[^>]+stylesheet", html) and "<script" not in html
    assert html.count("data:image/png;base64,") >= 3  # coverage, national line, small multiples
    assert "INTERN – indeholder små tal" in html
    assert 'id="total-due">200.000,00<' in html
    assert 'id="total-earned">808.333,33<' in html
    assert 'id="total-outstanding">775.000,01<' in html
    assert 'id="total-granted">1.583.333,34<' in html
    assert "133.333,33" in html and "dækning 50 % (3 af 6) i 2018-03; kræver 100 % (P2)" in html
    assert "Ændringer siden sidste måned (2018-02)" in html
    assert "Krævet aktivitetsandel for rate 3 (%)" in html  # Rules.describe(), in Danish
    size = len(html.encode("utf-8"))
    assert size < 2_000_000, size


@pytest.mark.browser
@needs_chromium
def test_html_renders_in_headless_chromium_with_its_charts(reports):
    with opened_in_chromium(reports["dir"] / "tranche_report.html") as (page, requests):
        images = page.evaluate(
            "() => Array.from(document.images).map(i => ({id: i.id, w: i.naturalWidth, h: i.naturalHeight, ok: i.complete}))"
        )
        assert len(images) >= 3
        assert all(i["ok"] and i["w"] > 0 and i["h"] > 0 for i in images), images
        assert {"chart-coverage", "chart-national"} <= {i["id"] for i in images}
        assert page.inner_text("#total-due") == "200.000,00"
        assert page.locator("#status-table tbody tr").count() == 3
        assert page.locator(".banner.internal").is_visible()
        assert all(u.startswith(("file:", "data:")) for u in requests), requests  # no network
        page.screenshot(path="/tmp/report_screenshot.png", full_page=True)
        pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 8  # a page per section at least
        Path("/tmp/report_screenshot.pdf").write_bytes(pdf)


# --- edge cases ----------------------------------------------------------------------------------


def test_fsm2_html_section(fsm2_reports):
    html = (fsm2_reports["dir"] / "tranche_report.html").read_text(encoding="utf-8")
    assert '<section id="fsm2"' in html and "Flere skal med 2 (FSM2): resultatandel" in html
    chart = re.search(r'<img class="chart" id="chart-fsm2-national"[^>]+src="(data:image/png;base64,[^"]+)"', html)
    assert chart and len(chart.group(1)) > 5000
    assert html.count('class="chart multiples fsm2"') == 1  # 31 panels in one figure
    assert 'id="fsm2-share">20,69\u00a0%<' in html
    assert 'id="fsm2-met-20">2 / 31<' in html
    table = html[html.index('id="fsm2-table"') : html.index("</table>", html.index('id="fsm2-table"'))]
    assert "22,22\u00a0%" in table and "✓ 2019-01" in table and "resultatandel 15 % (3 af 20) i 2019-02 (≥ 15 %, F8)" in table
    assert 'class="num good">22,22' in table  # ≥ 20 %
    origin = html[html.index('id="fsm2-origin-table"') : html.index("</table>", html.index('id="fsm2-origin-table"'))]
    assert "Ikke-vestlig" in origin and "16,67\u00a0%" in origin  # national share of January: 5 of 30
    assert 'class="num fair">16,67' in origin  # ≥ 15 %, < 20 %
    # what changed: Frederiksberg met 20 % this month (København met both in January, Frederiksberg 15 % in February)
    new = html[html.index('id="fsm2-new-table"') : html.index("</table>", html.index('id="fsm2-new-table"'))]
    assert new.count("<tr>") == 2 and "Frederiksberg" in new and "20&nbsp;%" in new and "København" not in new
    assert html.index('id="changes"') < html.index('id="fsm2"') < html.index('id="dq"')
    assert "Flere skal med (FSM1) · Flere skal med 2 (FSM2)" in html


@pytest.mark.browser
@needs_chromium
def test_fsm2_html_renders_in_headless_chromium(fsm2_reports):
    with opened_in_chromium(fsm2_reports["dir"] / "tranche_report.html") as (page, requests):
        images = page.evaluate(
            "() => Array.from(document.images).map(i => ({id: i.id, cls: i.className, w: i.naturalWidth,"
            " h: i.naturalHeight, ok: i.complete}))"
        )
        assert all(i["ok"] and i["w"] > 0 and i["h"] > 0 for i in images), images
        assert {"chart-coverage", "chart-national", "chart-fsm2-national"} <= {i["id"] for i in images}
        assert any("fsm2" in i["cls"] for i in images)
        assert page.locator("#fsm2-table tbody tr").count() == 31
        assert page.inner_text("#fsm2-share") == "20,69\u00a0%"
        assert page.locator("#fsm2").is_visible()
        assert all(u.startswith(("file:", "data:")) for u in requests), requests
        page.locator("#fsm2").screenshot(path="/tmp/report_fsm2.png")
