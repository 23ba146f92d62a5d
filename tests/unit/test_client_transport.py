"""Client behaviour the simulator does not exercise: paging, gzip, odd bodies.

A requests transport adapter serves canned answers in-process (the simulator covers everything
else over real HTTPS).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from urllib3.response import HTTPResponse

from partner_center import client as client_module
from partner_center.client import DownloadedSheet, PartnerCenterClient, iter_text_lines
from partner_center.config import ClientConfig
from partner_center.errors import MalformedDataError, PartnerCenterError, TransientError

from .common import sheet_lines, software_row


class StaticTokens:
    def get_token(self, scope):
        return "token-for-tests"

    def invalidate(self, scope):
        pass


class CannedAdapter(BaseAdapter):
    """Answers ``(method, path?query)`` from a table; records the requests it saw."""

    def __init__(self, answers):
        super().__init__()
        self.answers = answers
        self.seen = []

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.seen.append((request.method, target, dict(request.headers)))
        status, headers, body = self.answers[(request.method, target)]
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        raw = HTTPResponse(
            body=io.BytesIO(body),
            headers=headers,
            status=status,
            preload_content=False,
            decode_content=True,
        )
        response = requests.Response()
        response.status_code = status
        response.headers = requests.structures.CaseInsensitiveDict(headers)
        response.raw = raw
        response.url = request.url
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def close(self):
        pass


def client_for(answers, **settings):
    adapter = CannedAdapter(answers)
    session = requests.Session()
    session.mount("https://", adapter)
    config = ClientConfig(api_base_url="https://pc.test/v1", max_retries=0, **settings)
    client = PartnerCenterClient(config, session=session, token_provider=StaticTokens())
    return client, adapter


def product(product_id):
    return {"id": product_id, "title": f"Product {product_id}"}


def test_products_follow_next_links_with_continuation_headers():
    first = {
        "items": [product("A")],
        "links": {
            "next": {
                "uri": "/v1/products?country=US&page=2",
                "headers": [{"key": "MS-ContinuationToken", "value": "cont-1"}],
            }
        },
    }
    second = {"items": [product("B")], "links": {"next": {"uri": "/products?page=3"}}}
    third = {"items": [product("C")]}
    client, adapter = client_for(
        {
            ("GET", "/v1/products?country=US&targetView=Software"): (200, {}, first),
            ("GET", "/v1/products?country=US&page=2"): (200, {}, second),
            ("GET", "/v1/products?page=3"): (200, {}, third),
        }
    )
    assert [item.id for item in client.products("US")] == ["A", "B", "C"]
    assert adapter.seen[1][2]["MS-ContinuationToken"] == "cont-1"
    assert all(seen[2]["MS-Contract-Version"] == "v1" for seen in adapter.seen)


def test_a_next_link_pointing_back_stops_the_paging():
    page = {"items": [product("A")], "links": {"next": {"uri": "/products?page=1"}}}
    client, _adapter = client_for(
        {
            ("GET", "/v1/products?country=US&targetView=Software"): (200, {}, page),
            ("GET", "/v1/products?page=1"): (200, {}, page),
        }
    )
    assert [item.id for item in client.products("US")] == ["A", "A"]


def test_skus_listed_without_product_id_belong_to_the_product_asked():
    page = {"items": [{"id": "0001", "title": "SKU"}]}
    client, _adapter = client_for({("GET", "/v1/products/P1/skus?country=US"): (200, {}, page)})
    (sku,) = client.skus("P1", "US")
    assert sku.code == "P1:0001"


def test_headers_of_every_call():
    client, adapter = client_for(
        {("GET", "/v1/customers/t-1"): (200, {}, {"id": "t-1"})}, locale="de-DE"
    )
    client.get_customer("t-1")
    headers = adapter.seen[0][2]
    assert headers["Authorization"] == "Bearer token-for-tests"
    assert headers["Accept"] == "application/json"
    assert headers["X-Locale"] == "de-DE"
    assert headers["MS-CorrelationId"] != headers["MS-RequestId"]


def test_ids_cannot_add_path_levels():
    client, adapter = client_for({("GET", "/v1/customers/..%2Fadmin"): (200, {}, {"id": "x"})})
    client.get_customer("../admin")
    assert adapter.seen[0][1] == "/v1/customers/..%2Fadmin"


def test_error_body_becomes_a_typed_error_with_its_code():
    body = {"code": 800070, "description": "Not sold in this country.", "data": [], "source": "x"}
    client, _adapter = client_for(
        {
            ("POST", "/v1/customers/t/carts"): (400, {"MS-CorrelationId": "corr-9"}, body),
        }
    )
    with pytest.raises(PartnerCenterError) as caught:
        client.create_cart("t", [])
    error = caught.value
    assert (error.code, error.status, error.correlation_id) == (800070, 400, "corr-9")
    assert error.description == "Not sold in this country."


def test_html_error_page_is_still_a_typed_error():
    client, _adapter = client_for(
        {
            ("GET", "/v1/customers/t"): (
                502,
                {"Content-Type": "text/html"},
                b"<html>Bad gateway</html>",
            ),
        }
    )
    with pytest.raises(TransientError) as caught:
        client.get_customer("t")
    assert caught.value.status == 502


def test_success_with_a_body_that_is_not_json():
    client, _adapter = client_for({("GET", "/v1/customers/t"): (200, {}, b"<html>")})
    with pytest.raises(MalformedDataError):
        client.get_customer("t")


# === STREAMED TEXT === #


def streamed(body: bytes, chunk_size: int, headers=None):
    class Chunked(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, chunk_size) if size and size > 0 else chunk_size)

    response = requests.Response()
    response.status_code = 200
    response.headers = requests.structures.CaseInsensitiveDict(headers or {})
    response.raw = HTTPResponse(
        body=Chunked(body), headers=headers or {}, preload_content=False, decode_content=True
    )
    return response


SHEET = "".join(sheet_lines([software_row(title="Überschrift Ωmega"), software_row(sku_id="0008")]))


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        (None, lambda data: data),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
    ],
)
def test_text_lines_undo_the_content_encoding(encoding, compress):
    headers = {"Content-Encoding": encoding} if encoding else {}
    body = compress(("\ufeff" + SHEET).encode("utf-8"))
    lines = list(iter_text_lines(streamed(body, 7, headers)))
    assert "".join(lines) == SHEET
    assert lines[0].startswith('"ProductTitle"')


def test_text_lines_survive_chunks_cutting_characters_and_line_ends():
    body = SHEET.encode("utf-8")
    lines = list(iter_text_lines(streamed(body, 3)))
    assert lines == SHEET.splitlines(keepends=True)
    assert "Überschrift Ωmega" in lines[1]


def test_a_declared_charset_is_honoured():
    text = '"ProductId"\r\n"Caf\u00e9"\r\n'
    response = streamed(text.encode("latin-1"), 5, {"Content-Type": "text/csv; charset=latin-1"})
    response.encoding = "latin-1"
    assert "".join(iter_text_lines(response)) == text


def test_invalid_utf8_is_malformed_data():
    with pytest.raises(MalformedDataError):
        list(iter_text_lines(streamed(b'"ProductId"\n"\xff\xfe"\n', 4)))


def test_a_downloaded_sheet_reads_as_the_streamed_one_and_hashes_the_same():
    body = gzip.compress(("\ufeff" + SHEET).encode("utf-8"))
    streamed_digest, downloaded_digest = hashlib.sha256(), hashlib.sha256()
    lines = list(iter_text_lines(streamed(body, 7, {"Content-Encoding": "gzip"}), streamed_digest))
    sheet = DownloadedSheet(streamed(body, 5, {"Content-Encoding": "gzip"}), downloaded_digest)
    assert list(sheet.lines()) == lines == SHEET.splitlines(keepends=True)
    sheet.close()
    assert sheet.file.closed
    assert downloaded_digest.hexdigest() == streamed_digest.hexdigest()
    told = hashlib.sha256(b"utf-8-sig" + ("\ufeff" + SHEET).encode())
    assert streamed_digest.digest() == told.digest()


def test_the_same_bytes_read_in_another_charset_are_another_digest():
    body = SHEET.encode("utf-8")
    digests = []
    for content_type in ("text/csv", "text/csv; charset=latin-1"):
        response = streamed(body, 5, {"Content-Type": content_type})
        response.encoding = "latin-1" if "latin" in content_type else None
        digests.append(hashlib.sha256())
        list(iter_text_lines(response, digests[-1]))
    assert digests[0].digest() != digests[1].digest()


def test_a_downloaded_sheet_that_is_not_utf8_is_malformed_data():
    sheet = DownloadedSheet(streamed(b'"ProductId"\n"\xff\xfe"\n', 4))
    with pytest.raises(MalformedDataError):
        list(sheet.lines())
    sheet.close()


def test_an_interrupted_download_is_transient_and_keeps_no_file(monkeypatch):
    response = streamed(SHEET.encode(), 4)

    def cut(*args, **kwargs):
        yield b'"ProductTitle"'
        raise requests.ConnectionError("reset by peer")

    monkeypatch.setattr(response, "iter_content", cut)
    opened = []
    monkeypatch.setattr(
        client_module.tempfile,
        "SpooledTemporaryFile",
        lambda **kwargs: opened.append(io.BytesIO()) or opened[-1],
    )
    closed = []
    monkeypatch.setattr(response, "close", lambda: closed.append(True))
    with pytest.raises(TransientError, match="interrupted"):
        DownloadedSheet(response)
    assert opened and opened[0].closed
    assert closed  # the connection too
