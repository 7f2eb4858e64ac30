"""Posters and labels of the fire safety code: the QR codes decode (with a real decoder) to the
building's public URL, in the PNG and on a rendered page of the PDF; Chinese fonts are embedded;
batches cover exactly the chosen area within the user's scope."""

import base64
import io
import re
import subprocess

import pytest
from PIL import Image

from inspect_app import posters

from . import code_site as fixtures
from .code_site import token_of, zbar
from .conftest import login

code_site = fixtures.code_site  # the fixture shared by the fire safety code tests


@pytest.fixture
def printer(app, code_site):
    client = app.test_client()
    login(client, "street")
    return client


def pdf_pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


def pdf_text(path) -> str:
    """The PDF's text with all white space removed (letter spacing reads back as spaces)."""
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
    return "".join(out.stdout.split())


def render_page(pdf, page: int, out_prefix) -> str:
    subprocess.run(
        ["pdftoppm", "-r", "150", "-f", str(page), "-l", str(page), "-png", "-singlefile"]
        + [str(pdf), str(out_prefix)],
        check=True,
    )
    return f"{out_prefix}.png"


def test_the_qr_png_decodes_to_the_public_url(app, printer, code_site, tmp_path):
    a = code_site["a"]
    response = printer.get(f"/buildings/{a.id}/code.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    path = tmp_path / "code.png"
    path.write_bytes(response.data)
    assert zbar(path) == [f"http://localhost/c/{token_of(app, a)}"]


def test_the_configured_public_address_wins(app, printer, code_site, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://xf.qijiang.example.cn/")
    a = code_site["a"]
    path = tmp_path / "code.png"
    path.write_bytes(printer.get(f"/buildings/{a.id}/code.png").data)
    url = f"https://xf.qijiang.example.cn/c/{token_of(app, a)}"
    assert zbar(path) == [url]
    assert url in printer.get(f"/buildings/{a.id}/code").get_data(as_text=True)


def test_the_a4_poster_page_is_printable_html(app, printer, code_site):
    a = code_site["a"]
    html = printer.get(f"/buildings/{a.id}/poster").get_data(as_text=True)
    assert html.count('class="sheet"') == 1 and html.count('class="qr"') == 1
    for text in ("滨江花园1栋", "滨江路1号", "二类高层住宅", "band-grey", "灰码", "手机扫一扫"):
        assert text in html, text
    assert "发现火情 立即拨打 119" in html and "实时状态以扫码为准" in html
    assert "/static/css/poster.css" in html and "data-print" in html
    labels = printer.get(f"/buildings/{a.id}/poster?size=label").get_data(as_text=True)
    assert labels.count('class="label"') == posters.LABELS_PER_PAGE  # a sheet of one building
    assert printer.get(f"/buildings/{a.id}/poster?size=huge").status_code == 404


def test_the_pdf_embeds_chinese_fonts_and_its_qr_decodes(app, printer, code_site, tmp_path):
    a = code_site["a"]
    response = printer.get(f"/buildings/{a.id}/poster.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / "poster.pdf"
    pdf.write_bytes(response.data)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line or "WenQuanYi" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded
    assert "滨江花园1栋" in pdf_text(pdf) and "高层建筑消防安全码" in pdf_text(pdf)
    assert pdf_pages(pdf) == 1
    png = render_page(pdf, 1, tmp_path / "page")
    assert zbar(png) == [f"http://localhost/c/{token_of(app, a)}"]


def test_a_communitys_labels_in_one_pdf(app, printer, code_site, tmp_path, make):
    """Street S1's community holds A and B; 22 more buildings make a second label sheet."""
    community = code_site["areas"]["S1C"]
    grid = code_site["areas"]["G1"]
    for n in range(22):
        make.building(grid, name=f"批量楼{n:02d}", address=f"批量路{n:02d}号")
    response = printer.get(f"/posters.pdf?area={community.id}&size=label")
    assert response.status_code == 200
    pdf = tmp_path / "labels.pdf"
    pdf.write_bytes(response.data)
    assert pdf_pages(pdf) == 2  # 24 labels, 21 a page
    text = pdf_text(pdf)
    assert "滨江花园1栋" in text and "江南大厦" in text and "古南小区3栋" not in text
    decoded = set(zbar(render_page(pdf, 2, tmp_path / "p2")))
    assert len(decoded) == 3 and all("/c/" in url for url in decoded)
    html = printer.get(f"/posters?area={community.id}&size=a4").get_data(as_text=True)
    assert html.count('class="sheet"') == 24 and "一社区 消防安全码（24 栋）" in html


def test_batch_choices_and_scope(app, printer, code_site):
    areas = code_site["areas"]
    form = printer.get("/posters").get_data(as_text=True)
    assert "一街道" in form and "一社区" in form and "二街道" not in form
    # Another street's area is not there for this street office: 404, as for any object.
    assert printer.get(f"/posters?area={areas['S2C'].id}&size=a4").status_code == 404
    assert printer.get(f"/posters.pdf?area={areas['S2C'].id}&size=a4").status_code == 404
    assert printer.get("/posters?area=abc&size=a4").status_code == 404
    whole = printer.get("/posters?area=&size=a4").get_data(as_text=True)
    assert whole.count('class="sheet"') == 2  # A and B: the street's buildings
    manager = app.test_client()
    login(manager, "manager")
    mine = manager.get("/posters?size=label").get_data(as_text=True)
    assert "滨江花园1栋" in mine and "江南大厦" not in mine
    inspector = app.test_client()
    login(inspector, "inspector")
    assert inspector.get("/posters").status_code == 403
    assert inspector.get(f"/buildings/{code_site['a'].id}/code.png").status_code == 403


def test_too_large_a_batch_asks_for_a_smaller_area(app, printer, code_site, monkeypatch):
    from inspect_app.views import posters as poster_views

    monkeypatch.setattr(poster_views, "MAX_BATCH", 1)
    response = printer.get("/posters?area=&size=a4")
    assert response.status_code == 422
    assert "一次最多打印 1 栋" in response.get_data(as_text=True)


def test_cli_writes_an_areas_posters(app, code_site, tmp_path, monkeypatch):
    out = tmp_path / "s1.pdf"
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["posters", "--area", "S1", "--out", str(out)])
    assert missing.exit_code != 0 and "PUBLIC_BASE_URL" in missing.output
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://xf.example.gov.cn")
    result = runner.invoke(args=["posters", "--area", "S1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 buildings" in result.output and pdf_pages(out) == 2
    png = render_page(out, 1, tmp_path / "cli")
    [url] = zbar(png)
    assert url.startswith("https://xf.example.gov.cn/c/")
    bad = runner.invoke(args=["posters", "--area", "NOPE", "--out", str(out)])
    assert bad.exit_code != 0 and "区域编码不存在：NOPE" in bad.output


def test_the_page_image_is_the_symbol_one_pixel_per_module_drawn_sharp(app, tmp_path):
    url = "https://xf.example.gov.cn/c/abc"
    uri = posters.qr_data_uri(url)
    assert uri.startswith("data:image/png;base64,") and len(uri) < 1000
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    matrix = posters.qr_matrix(url)
    assert image.size == (len(matrix), len(matrix))
    assert [
        [image.getpixel((x, y)) == 0 for x in range(image.width)] for y in range(image.height)
    ] == matrix
    big = tmp_path / "big.png"
    big.write_bytes(posters.qr_png(url, scale=8))
    assert zbar(big) == [url]


def test_pdf_images_are_not_smoothed(app, printer, code_site):
    pdf = printer.get(f"/buildings/{code_site['a'].id}/poster.pdf").data
    assert b"/Interpolate false" in pdf and b"/Interpolate true" not in pdf
