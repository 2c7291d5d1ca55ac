"""HTTP API of ui.app, over a small in-memory assistant (no model, no Gradio).

The fake index loads real reports with `rag.load` and cuts them with
`rag.chunk`; its search scores chunks by shared character bigrams, filters with
the folder index's own `DocTable`, and the fake assistant composes answers with
the real `rag.compose`. What is under test is the server: routes, validation,
errors, limits, uploads, concurrency, the report identity in the JSON.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from rag.answer.extractive import compose_extractive, not_found_answer
from rag.config import Settings
from rag.errors import IndexMismatchError, LoadError
from rag.index.filters import Filters
from rag.index.folder.masks import DocTable
from rag.ingest.chunk import chunk_document
from rag.ingest.load import load_bytes, load_document
from rag.retrieve.query import clean_query
from rag.types import Answer, Chunk, Document, DocumentMeta, Hit, Turn
from tests.conftest import SAMPLE
from ui.app import create_app
from ui.render import render_answer, render_report_page
from ui.service import IDENTITY_FIELDS, safe_filename

HOSTILE = "恶意报告2024\n\n一、情况\n\n<script>alert(1)</script>本年检查单位<img src=x onerror=alert(1)>共7家。\n"


# ------------------------------------------------------------------ a small assistant


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    chunks: int = 0
    seconds: float = 0.0
    errors: list[LoadError] = field(default_factory=list)


class FakeIndex:
    """documents/chunks/add/search, the part of rag.index.Index the server uses."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.documents: dict[str, Document] = {}
        self.chunks: list[Chunk] = []
        self.add_calls: list[list[Path]] = []
        self.saves = 0
        self.add(paths)
        self.add_calls.clear()

    def copy(self) -> FakeIndex:
        other = FakeIndex([])
        other.documents, other.chunks = dict(self.documents), list(self.chunks)
        return other

    def add(self, paths: Sequence[Path]) -> Summary:
        self.add_calls.append(list(paths))
        summary = Summary()
        for path in paths:
            try:
                doc = load_document(path)
            except LoadError as exc:
                summary.errors.append(exc)
                continue
            if doc.doc_id in self.documents:
                summary.skipped += 1
                continue
            self.add_document(doc)
            summary.added += 1
        summary.chunks = len(self.chunks)
        return summary

    def add_document(self, doc: Document) -> None:
        self.documents = {**self.documents, doc.doc_id: doc}
        self.chunks = self.chunks + chunk_document(doc)

    def save(self) -> str:
        self.saves += 1
        return f"gen-{self.saves}"

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        grams = {query[i : i + 2] for i in range(len(query) - 1)}
        allowed = None
        if filters is not None and not filters.empty:
            table = DocTable.of(self.documents)
            passing = table.passing(filters)
            allowed = {doc_id for doc_id, ok in zip(table.ordered, passing, strict=True) if ok}
        scored = []
        for position, chunk in enumerate(self.chunks):
            if allowed is not None and chunk.doc_id not in allowed:
                continue
            score = sum(g in chunk.text for g in grams)
            if score:
                scored.append((-score, position))
        hits = []
        for rank, (score, position) in enumerate(sorted(scored)[:k], start=1):
            chunk = self.chunks[position]
            doc = self.documents[chunk.doc_id]
            hits.append(Hit(chunk, float(-score), rank, doc.title, doc.source, dense_score=0.5))
        return hits


class FakeAssistant:
    def __init__(self, index: FakeIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self.mode = "extractive"
        self.histories: list[tuple[Turn, ...]] = []

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        return self.index.search(clean_query(query, self.settings.max_question_chars), k or 5, filters)

    def stream(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None,
               k: int | None = None) -> Iterator[str | Answer]:
        text = clean_query(question, self.settings.max_question_chars)
        self.histories.append(tuple(history))
        hits = self.index.search(text, max(k or 5, 8), filters)
        if not hits or "火星" in text:
            yield not_found_answer(text, hits[: k or 5])
            return
        yield replace(compose_extractive(text, hits, self.index.documents), hits=tuple(hits[: k or 5]))

    def ask(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None,
            k: int | None = None) -> Answer:
        *_, answer = self.stream(question, history, filters, k)
        assert isinstance(answer, Answer)
        return answer


@pytest.fixture(scope="module")
def base_index() -> FakeIndex:
    return FakeIndex([SAMPLE])


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(index_dir=tmp_path / "index" / "default", **changes)  # type: ignore[arg-type]


def _client(tmp_path: Path, index: FakeIndex, **changes: object) -> tuple[TestClient, FakeAssistant]:
    settings = _settings(tmp_path, **changes)
    assistant = FakeAssistant(index.copy(), settings)  # each test adds to its own copy
    return TestClient(create_app(assistant, settings, with_page=False), raise_server_exceptions=False), assistant


@pytest.fixture
def client(tmp_path: Path, base_index: FakeIndex) -> TestClient:
    return _client(tmp_path, base_index)[0]


# ------------------------------------------------------------------ endpoints


def test_ask_returns_the_answer_with_citations(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": "2024年检查了多少家企业？"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "extractive"
    assert "11" in body["text"] and "54" in body["text"]
    assert body["citations"] and {"marker", "doc_id", "section", "start", "end", "quote"} <= set(body["citations"][0])


def test_ask_returns_a_computed_figure_with_its_operands_markers(client: TestClient) -> None:
    body = client.post("/api/ask", json={"question": "两项检查一共涉及多少家企业？"}).json()
    assert body["calculation"] == {"operation": "sum", "expression": "11 + 54 = 65家", "result": "65家", "markers": [1, 2]}
    assert body["parts"] == []  # one question, not several


def test_ask_passes_history_and_filters(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index)
    doc_id = next(iter(base_index.documents))
    r = client.post(
        "/api/ask",
        json={
            "question": "那2025年呢？",
            "history": [{"question": "2024年检查了多少家企业？", "answer": "11家"}],
            "filters": {"doc_ids": [doc_id], "years": [2024]},
            "k": 3,
        },
    )
    assert r.status_code == 200, r.text
    assert assistant.histories[-1] == (Turn("2024年检查了多少家企业？", "11家"),)
    assert len(r.json()["hits"]) <= 3


def test_ask_filter_to_another_year_finds_nothing(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": "2024年检查了多少家企业？", "filters": {"years": [1999]}})
    assert r.status_code == 200
    assert r.json()["mode"] == "not_found"


def test_search_returns_ranked_hits(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "科技类校外培训机构", "k": 3})
    assert r.status_code == 200, r.text
    hits = r.json()
    assert 1 <= len(hits) <= 3
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert "培训" in hits[0]["text"] and hits[0]["section"]


def test_documents_lists_metadata_and_chunk_counts(client: TestClient, base_index: FakeIndex) -> None:
    r = client.get("/api/documents")
    assert r.status_code == 200
    [doc] = r.json()
    assert set(doc) == {"doc_id", "title", "source", "publisher", "published", "chunks", *IDENTITY_FIELDS}
    assert doc["year"] == 2024 and doc["chunks"] == len(base_index.chunks) and "科技局" in doc["title"]


def test_healthz(client: TestClient, base_index: FakeIndex) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "documents": 1,
        "chunks": len(base_index.chunks),
        "model": Settings().model,
        "mode": "extractive",
    }


def test_openapi_docs_are_served_without_a_cdn(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/search", "/api/documents", "/healthz"} <= set(paths)
    assert {"200", "400", "413", "429", "503"} == set(paths["/api/ask"]["post"]["responses"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/api/ask" in docs.text and "AskRequest" in docs.text
    assert "cdn." not in docs.text and "https://" not in docs.text


@pytest.mark.parametrize("api_key", [None, "s3cret"])
def test_openapi_declares_security_exactly_when_a_key_is_configured(
    tmp_path: Path, base_index: FakeIndex, api_key: str | None
) -> None:
    client, _ = _client(tmp_path, base_index, api_key=api_key)
    headers = {"X-API-Key": api_key} if api_key else {}
    schema = client.get("/openapi.json").json()
    operations = [op for path, ops in schema["paths"].items() if path.startswith("/api/") for op in ops.values()]
    assert ("securitySchemes" in schema["components"]) is bool(api_key)
    assert all(("security" in op) is bool(api_key) for op in operations)
    assert all(("401" in op["responses"]) is bool(api_key) for op in operations)
    assert client.get("/api/documents").status_code == (401 if api_key else 200)
    assert client.get("/api/documents", headers=headers).status_code == 200


def test_openapi_states_what_the_server_enforces(tmp_path: Path, base_index: FakeIndex) -> None:
    client, _ = _client(tmp_path, base_index, max_question_chars=80)
    schema = client.get("/openapi.json").json()
    question = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert question["minLength"] == 1 and question["maxLength"] == 80 and question["pattern"]
    assert client.post("/api/ask", json={"question": "问" * 80}).status_code == 200
    assert client.post("/api/ask", json={"question": "问" * 81}).status_code == 400
    assert client.post("/api/ask", json={"question": "\x00\t"}).status_code == 400  # no usable character
    levels = schema["components"]["schemas"]["FiltersIn"]["properties"]["levels"]
    assert levels["anyOf"][0]["items"]["enum"] == ["国务院", "省", "市", "区县", "部门"]
    upload = schema["paths"]["/api/documents"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][form]["properties"]["file"]["minLength"] == 1
    assert {"400", "403", "413"} <= set(upload["responses"])
    report = schema["paths"]["/report/{doc_id}"]["get"]["responses"]
    assert {"200", "400", "404"} <= set(report) and "text/html" in report["404"]["content"]
    assert client.get("/report/nope").status_code == 404


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/healthz", "GET, HEAD"), ("DELETE", "/api/ask", "POST"), ("PUT", "/api/documents", "GET, HEAD, POST"),
])
def test_an_undeclared_method_is_405_with_allow(client: TestClient, method: str, path: str, allow: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 405 and r.headers["allow"] == allow
    assert r.json()["error"] == "method_not_allowed"


# ------------------------------------------------------------------ the reports' identity (a small portal)

# Three reports whose identity is set here (rag's extraction fills it on real files), all
# answering "生产总值增长目标", plus the sample report with the identity of its bureau.
PORTAL = [
    ("国务院政府工作报告2022\n\n一、2022年目标\n\n今年发展主要预期目标是：国内生产总值增长5.5%左右。\n",
     DocumentMeta(issuer="国务院", level="国务院", genre="政府工作报告", year=2022, reports_on=2021, issued=2022,
                  delivered="2022-03-05", meeting="第十三届全国人民代表大会第五次会议", speaker="李克强",
                  speaker_role="国务院总理")),
    ("2025年江苏省政府工作报告\n\n一、目标\n\n今年主要预期目标是：地区生产总值增长5%以上。\n",
     DocumentMeta(issuer="江苏省人民政府", level="省", place="江苏省", genre="政府工作报告", year=2025)),
    ("国务院关于推进综合监管的意见\n\n一、目标\n\n到2019年底，生产总值增长目标相关的监管全覆盖。\n",
     DocumentMeta(issuer="国务院", level="国务院", genre="意见", year=2019, doc_number="国发〔2019〕5号",
                  effective="2019-02-15")),
]
SAMPLE_IDENTITY = DocumentMeta(publisher="苏州市科学技术局", published="2025-02-12", issuer="苏州市科学技术局",
                               level="部门", place="苏州市", genre="法治政府建设报告", year=2024)


@pytest.fixture(scope="module")
def portal_index(base_index: FakeIndex) -> FakeIndex:
    index = FakeIndex([])
    for doc in base_index.documents.values():
        index.add_document(replace(doc, meta=SAMPLE_IDENTITY))
    for i, (text, meta) in enumerate(PORTAL):
        index.add_document(replace(load_bytes(text.encode(), f"portal-{i}.txt"), meta=meta))
    return index


@pytest.fixture
def portal(tmp_path: Path, portal_index: FakeIndex) -> TestClient:
    return _client(tmp_path, portal_index)[0]


def _identity(meta: DocumentMeta) -> dict[str, object]:
    return {name: getattr(meta, name) for name in IDENTITY_FIELDS}


def test_documents_list_each_reports_identity(portal: TestClient, portal_index: FakeIndex) -> None:
    listed = {d["doc_id"]: d for d in portal.get("/api/documents").json()}
    assert len(listed) == 4
    for doc_id, doc in portal_index.documents.items():
        assert {k: listed[doc_id][k] for k in IDENTITY_FIELDS} == _identity(doc.meta)
    national = next(d for d in listed.values() if d["genre"] == "政府工作报告" and d["level"] == "国务院")
    assert national["place"] is None and national["speaker"] == "李克强" and national["delivered"] == "2022-03-05"


def test_ask_gives_each_citation_and_hit_its_reports_identity(portal: TestClient, portal_index: FakeIndex) -> None:
    body = portal.post("/api/ask", json={"question": "生产总值增长目标是多少？"}).json()
    assert body["citations"] and body["hits"]
    for citation in body["citations"]:
        assert citation["report"] == _identity(portal_index.documents[citation["doc_id"]].meta)
    for hit in body["hits"]:
        assert hit["report"] == _identity(portal_index.documents[hit["chunk"]["doc_id"]].meta)
    assert len({h["chunk"]["doc_id"] for h in body["hits"]}) > 1  # the filters below have something to remove


@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        ({"places": ["江苏"]}, lambda r: r["place"] == "江苏省"),  # short names work
        ({"levels": ["国务院"]}, lambda r: r["level"] == "国务院"),
        ({"genres": ["政府工作报告"]}, lambda r: r["genre"] == "政府工作报告"),
        ({"levels": ["国务院"], "genres": ["意见"]}, lambda r: r["doc_number"] == "国发〔2019〕5号"),
        ({"genres": ["意见", "法治政府建设报告"]}, lambda r: r["genre"] in ("意见", "法治政府建设报告")),
    ],
)
def test_ask_and_search_take_place_genre_and_level_filters(portal: TestClient, filters: dict, allowed) -> None:
    body = portal.post("/api/ask", json={"question": "生产总值增长目标是多少？", "filters": filters}).json()
    reports = [c["report"] for c in body["citations"]] + [h["report"] for h in body["hits"]]
    assert reports and all(allowed(r) for r in reports), reports
    params = {"q": "生产总值增长目标", "place": filters.get("places"), "genre": filters.get("genres"),
              "level": filters.get("levels")}
    hits = portal.get("/api/search", params={k: v for k, v in params.items() if v}).json()
    assert hits and all(allowed(h["report"]) for h in hits), hits


def test_search_hits_carry_their_reports_identity(portal: TestClient, portal_index: FakeIndex) -> None:
    hits = portal.get("/api/search", params={"q": "生产总值增长目标", "k": 10}).json()
    assert len({h["doc_id"] for h in hits}) >= 3
    for hit in hits:
        assert hit["report"] == _identity(portal_index.documents[hit["doc_id"]].meta)


@pytest.mark.parametrize(
    ("filters", "needle"),
    [
        ({"places": "江苏"}, "places"),  # a string, not a list
        ({"places": [1]}, "places"),
        ({"genres": [["意见"]]}, "genres"),
        ({"genres": {"a": 1}}, "genres"),
        ({"levels": ["省级"]}, "省级"),
        ({"levels": [None]}, "levels"),
    ],
)
def test_wrong_identity_filters_are_400(portal: TestClient, filters: dict, needle: str) -> None:
    r = portal.post("/api/ask", json={"question": "生产总值增长目标是多少？", "filters": filters})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_request" and needle in r.json()["message"]


def test_wrong_search_level_is_400(portal: TestClient) -> None:
    r = portal.get("/api/search", params={"q": "目标", "level": "省级"})
    assert r.status_code == 400 and "国务院, 省, 市, 区县, 部门" in r.json()["message"]


def _properties(schema: dict, name: str) -> set[str]:
    return set(schema["components"]["schemas"][name]["properties"])


def test_openapi_documents_the_json_as_it_is(portal: TestClient) -> None:
    """The documented response fields are exactly the fields the endpoints return."""
    schema = portal.get("/openapi.json").json()
    paths = schema["paths"]
    assert paths["/api/ask"]["post"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AskResponse"
    }
    answer = portal.post("/api/ask", json={"question": "生产总值增长目标是多少？"}).json()
    hits = portal.get("/api/search", params={"q": "生产总值增长目标"}).json()
    documents = portal.get("/api/documents").json()
    assert set(answer) == _properties(schema, "AskResponse")
    assert set(answer["citations"][0]) == _properties(schema, "CitationOut")
    assert set(answer["hits"][0]) == _properties(schema, "AnswerHitOut")
    assert set(answer["hits"][0]["chunk"]) == _properties(schema, "ChunkOut")
    assert set(hits[0]) == _properties(schema, "SearchHitOut")
    assert set(documents[0]) == _properties(schema, "DocumentOut")
    assert set(answer["citations"][0]["report"]) == _properties(schema, "ReportIdentity") == set(IDENTITY_FIELDS)
    assert {"place", "genre", "level"} <= {p["name"] for p in paths["/api/search"]["get"]["parameters"]}


# ------------------------------------------------------------------ bad input


def test_bad_json_is_400_with_a_message(client: TestClient) -> None:
    r = client.post("/api/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == "bad_request" and "JSON" in r.json()["message"]


def test_missing_question_is_400_naming_the_field(client: TestClient) -> None:
    r = client.post("/api/ask", json={"history": []})
    assert r.status_code == 400
    assert "question" in r.json()["message"]


@pytest.mark.parametrize("question", ["", "   \n "])
def test_empty_question_is_400(client: TestClient, question: str) -> None:
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 400
    assert "empty" in r.json()["message"]


def test_too_long_question_is_400(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": "问" * 501})
    assert r.status_code == 400 and "limit" in r.json()["message"]


def test_unknown_filter_is_400(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": "检查", "filters": {"colour": ["red"]}})
    assert r.status_code == 400 and "colour" in r.json()["message"]


def test_bad_k_is_400(client: TestClient) -> None:
    assert client.post("/api/ask", json={"question": "检查", "k": 0}).status_code == 400
    assert client.get("/api/search", params={"q": "检查", "k": "many"}).status_code == 400


def test_oversize_body_is_413_by_content_length(client: TestClient) -> None:
    big = b'{"question": "' + b"a" * (2 * 2**20) + b'"}'
    r = client.post("/api/ask", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large" and "MB" in r.json()["message"], r.text


def test_oversize_chunked_body_is_413_without_reading_it_all(tmp_path: Path, base_index: FakeIndex) -> None:
    """Over a real socket: the server answers 413 and stops reading long before 64 MB."""
    settings = _settings(tmp_path)
    app = create_app(FakeAssistant(base_index.copy(), settings), settings, with_page=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        sent, reply = 0, b""
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            piece = b"a" * 2**16
            frame = b"%x\r\n%s\r\n" % (len(piece), piece)
            for _ in range(1000):  # 64 MB if the server read it all
                sock.sendall(frame)
                sent += len(piece)
                if select.select([sock], [], [], 0.001)[0]:  # the server answered early
                    reply = sock.recv(4096)
                    break
        assert reply.startswith(b"HTTP/1.1 413")
        assert sent < 1000 * 2**16
    finally:
        server.should_exit = True
        thread.join(10)


def test_unexpected_error_is_a_generic_500(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    assistant.stream = broken  # type: ignore[method-assign]
    r = client.post("/api/ask", json={"question": "检查"})
    assert r.status_code == 500
    assert "secret" not in r.text and "Traceback" not in r.text
    assert r.json()["error"] == "internal_error"


# ------------------------------------------------------------------ access control and limits


def test_api_key_required_when_configured(tmp_path: Path, base_index: FakeIndex) -> None:
    client, _ = _client(tmp_path, base_index, api_key="s3cret")
    assert client.get("/api/documents").status_code == 401
    assert client.get("/api/documents", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.post("/api/ask", json={"question": "检查"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/documents", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/api/documents", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/healthz").status_code == 200  # health stays open for probes


def test_upload_disabled_is_403(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index, allow_upload=False)
    r = client.post("/api/documents", files={"file": ("a.txt", "某区2024年报告\n\n检查企业3家。".encode())})
    assert r.status_code == 403
    assert assistant.index.add_calls == []


def test_rate_limit_is_429_per_client(tmp_path: Path, base_index: FakeIndex) -> None:
    client, _ = _client(tmp_path, base_index, rate_limit_per_minute=3)
    codes = [client.post("/api/ask", json={"question": "检查"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.post("/api/ask", json={"question": "检查"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert client.get("/api/documents").status_code == 200  # only /api/ask is limited


def test_concurrent_requests_are_all_served(tmp_path: Path, base_index: FakeIndex) -> None:
    client, _ = _client(tmp_path, base_index, rate_limit_per_minute=1000)
    questions = ["2024年检查了多少家企业？", "存在哪些问题和不足？", "2025年有哪些工作打算？", "科技类校外培训机构有多少家？"]

    def worker(i: int) -> list[int]:
        return [client.post("/api/ask", json={"question": questions[(i + j) % 4]}).status_code for j in range(5)]

    with ThreadPoolExecutor(20) as pool:
        codes = [c for result in pool.map(worker, range(20)) for c in result]
    assert codes == [200] * 100


def test_cors_allows_only_configured_origins(tmp_path: Path, base_index: FakeIndex) -> None:
    client, _ = _client(tmp_path, base_index, cors_origins=("https://portal.example.gov.cn",))
    ok = client.get("/healthz", headers={"Origin": "https://portal.example.gov.cn"})
    assert ok.headers.get("access-control-allow-origin") == "https://portal.example.gov.cn"
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


# ------------------------------------------------------------------ uploads


UNIQUE = "某区市场监管局2024年度餐饮安全检查情况报告\n\n一、主要工作\n\n某区2024年共检查餐饮企业137家，均符合要求。\n"


def test_upload_makes_the_report_searchable_at_once(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index)
    r = client.post("/api/documents", files={"file": ("餐饮检查.txt", UNIQUE.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["added"] == 1 and body["documents"] == 2 and body["filename"] == "餐饮检查.txt"
    assert body["saved"] is True and assistant.index.saves == 1
    stored = tmp_path / "index" / "uploads" / "default" / "餐饮检查.txt"
    assert stored.read_bytes() == UNIQUE.encode()
    answer = client.post("/api/ask", json={"question": "某区2024年共检查餐饮企业多少家？"}).json()
    assert "137" in answer["text"]
    assert body["doc_id"] in {d["doc_id"] for d in client.get("/api/documents").json()}
    again = client.post("/api/documents", files={"file": ("copy.txt", UNIQUE.encode())}).json()
    assert again["added"] == 0 and again["skipped"] == 1


def test_upload_stays_searchable_when_saving_fails(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index)

    def fail() -> None:
        raise IndexMismatchError("changed by another writer")

    assistant.index.save = fail  # type: ignore[method-assign]
    body = client.post("/api/documents", files={"file": ("r.txt", UNIQUE.encode())}).json()
    assert body["added"] == 1 and body["saved"] is False and "未能保存" in body["message"]
    assert "137" in client.post("/api/ask", json={"question": "某区2024年共检查餐饮企业多少家？"}).json()["text"]


def test_upload_traversal_name_stays_in_the_uploads_folder(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index)
    r = client.post("/api/documents", files={"file": ("../../x.txt", UNIQUE.encode())})
    assert r.status_code == 200, r.text
    uploads = tmp_path / "index" / "uploads" / "default"
    assert r.json()["filename"] == "x.txt"
    assert (uploads / "x.txt").is_file()
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {uploads / "x.txt"}
    assert assistant.index.add_calls == [[uploads / "x.txt"]]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("evil.exe", b"MZ\x90\x00", "unsupported"),
        ("noext", b"PK\x03\x04 not a zip", "noext.docx"),  # no suffix: read by its content, a broken DOCX
        ("empty.txt", b"", ""),
        ("binary.txt", bytes(range(256)) * 8, ""),
    ],
)
def test_rejected_uploads_are_400_and_write_nothing(
    tmp_path: Path, base_index: FakeIndex, name: str, data: bytes, reason: str
) -> None:
    client, assistant = _client(tmp_path, base_index)
    r = client.post("/api/documents", files={"file": (name, data)})
    assert r.status_code == 400, r.text
    assert reason in r.json()["message"]
    assert assistant.index.add_calls == []
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_upload_over_the_size_limit_is_413(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index, max_upload_mb=1)
    r = client.post("/api/documents", files={"file": ("big.txt", "报告".encode() * 2**20)})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large", r.text
    assert assistant.index.add_calls == []


def test_same_name_different_content_does_not_overwrite(tmp_path: Path, base_index: FakeIndex) -> None:
    client, _ = _client(tmp_path, base_index)
    first = client.post("/api/documents", files={"file": ("r.txt", UNIQUE.encode())}).json()
    other = UNIQUE.replace("137", "138").encode()
    second = client.post("/api/documents", files={"file": ("r.txt", other)}).json()
    assert first["filename"] == "r.txt" and second["filename"].startswith("r-") and second["added"] == 1
    assert (tmp_path / "index" / "uploads" / "default" / "r.txt").read_bytes() == UNIQUE.encode()


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../x.txt", "x.txt"),
        ("..\\..\\windows\\x.txt", "x.txt"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("..txt", "upload.txt"),
        ("a..b.TXT", "a.b.txt"),
        ("苏州 报告<1>.pdf", "苏州_报告_1.pdf"),
        (".hidden.md", "hidden.md"),
        ("x" * 300 + ".docx", "x" * 80 + ".docx"),
        ("blob", "blob.txt"),
    ],
)
def test_safe_filename(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_an_upload_without_a_suffix_is_read_by_its_content(tmp_path: Path, base_index: FakeIndex) -> None:
    """Scripts often send a generic name (`file`, `blob`): the bytes say which reader to use."""
    client, assistant = _client(tmp_path, base_index)
    r = client.post("/api/documents", files={"file": ("file", UNIQUE.encode())})
    assert r.status_code == 200, r.text
    assert r.json()["filename"] == "file.txt" and r.json()["added"] == 1


def test_an_upload_of_several_files_is_refused_not_cut_to_one(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index)
    r = client.post("/api/documents", files=[("file", ("a.txt", UNIQUE.encode())), ("file", ("b.txt", HOSTILE.encode()))])
    assert r.status_code == 400 and "one file" in r.json()["message"]
    assert assistant.index.add_calls == []


# ------------------------------------------------------------------ rendering and the report view


def test_report_view_highlights_and_escapes(tmp_path: Path, base_index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, base_index)
    up = client.post("/api/documents", files={"file": ("hostile.txt", HOSTILE.encode())}).json()
    doc = assistant.index.documents[up["doc_id"]]
    start = doc.text.index("本年检查")
    r = client.get(f"/report/{doc.doc_id}", params={"start": start, "end": start + 4})
    assert r.status_code == 200
    assert f'<mark id="c-{start}">本年检查</mark>' in r.text
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert client.get("/report/nope").status_code == 404
    assert client.get(f"/report/{doc.doc_id}", params={"start": 5, "end": 10**9}).status_code == 200


def test_rendered_answer_escapes_report_text(base_index: FakeIndex) -> None:
    index = base_index.copy()
    doc = load_bytes(HOSTILE.encode(), "hostile.txt")
    index.documents[doc.doc_id] = doc
    index.chunks += chunk_document(doc)
    answer = FakeAssistant(index, Settings()).ask("本年检查单位共几家？")
    html = render_answer(answer, index.documents)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "<mark>" in html
    assert "\n\n" not in html  # one HTML block: Markdown leaves it alone
    page = render_report_page(doc)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_not_found_rendering_offers_closest_passages(client: TestClient, base_index: FakeIndex) -> None:
    answer = FakeAssistant(base_index, Settings()).ask("火星上检查了多少家企业？")
    html = render_answer(answer, base_index.documents)
    assert answer.mode == "not_found"
    assert "报告中未找到相关信息" in html and "最接近的段落（仅供参考）" in html
    assert html.count('class="pq-card pq-hit"') == min(3, len(answer.hits)) > 0
    assert "\n" not in html


def test_a_factory_is_called_once_on_first_use(tmp_path: Path, base_index: FakeIndex) -> None:
    calls = []
    lock = threading.Lock()
    settings = _settings(tmp_path)

    def factory() -> FakeAssistant:
        with lock:
            calls.append(1)
        return FakeAssistant(base_index, settings)

    client = TestClient(create_app(factory, settings, with_page=False))
    assert calls == []
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda _: client.get("/healthz").status_code, range(16))) == {200}
    assert calls == [1]


# ------------------------------------------------------------------ the chat page's handlers (no browser)


class StreamingAssistant(FakeAssistant):
    """LLM-mode stand-in: writes the answer in pieces before the final Answer."""

    def __init__(self, index: FakeIndex, settings: Settings) -> None:
        super().__init__(index, settings)
        self.mode = "llm"

    def stream(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None,
               k: int | None = None) -> Iterator[str | Answer]:
        final = None
        for event in super().stream(question, history, filters, k):
            final = event
        assert isinstance(final, Answer)
        yield "<b>第一段"
        yield "</b>，第二段"
        yield replace(final, mode="llm")


def test_page_streams_keeps_history_and_escapes(tmp_path: Path, base_index: FakeIndex) -> None:
    from ui.page import ChatHandlers
    from ui.service import Service

    settings = _settings(tmp_path, llm_model="qwen2.5")
    assistant = StreamingAssistant(base_index.copy(), settings)
    handlers = ChatHandlers(Service(assistant, settings))
    steps = list(handlers.respond("2024年检查了多少家企业？", [], []))
    chats = [chat for chat, _, _ in steps]
    assert "正在检索" in chats[0][-1]["content"]
    assert any("&lt;b&gt;第一段&lt;/b&gt;，第二段" in c[-1]["content"] for c in chats[1:-1])  # streamed, escaped
    chat, turns, box = steps[-1]
    assert box == "" and len(chat) == 2 and 'class="pq-card"' in chat[-1]["content"]
    assert turns == [["2024年检查了多少家企业？", turns[0][1]]] and "11" in turns[0][1]

    *_, (chat, turns, _) = handlers.respond("<img src=x onerror=alert(1)>那2025年呢？", chat, turns, years=["2024"])
    assert assistant.histories[-1] == (Turn(*turns[0]),)
    assert "<img" not in chat[-2]["content"] and "&lt;img src=x" in chat[-2]["content"]
    assert len(turns) == 2

    *_, (chat, turns, _) = handlers.respond("问" * 600, chat, turns)
    assert "pq-error" in chat[-1]["content"] and "limit" in chat[-1]["content"] and len(turns) == 2
    assert "大模型（qwen2.5）" in handlers.status_html()


class RecordingAssistant(FakeAssistant):
    """Keeps the Filters each question was asked with."""

    def __init__(self, index: FakeIndex, settings: Settings) -> None:
        super().__init__(index, settings)
        self.filters: list[Filters | None] = []

    def stream(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None,
               k: int | None = None) -> Iterator[str | Answer]:
        self.filters.append(filters)
        return super().stream(question, history, filters, k)


def test_page_filters_reach_the_assistant_and_cards_show_the_identity(tmp_path: Path, portal_index: FakeIndex) -> None:
    from ui.facets import NATIONAL
    from ui.page import ChatHandlers
    from ui.service import Service

    settings = _settings(tmp_path)
    assistant = RecordingAssistant(portal_index.copy(), settings)
    handlers = ChatHandlers(Service(assistant, settings))
    places, genres, years, reports = (u["choices"] for u in handlers.refresh()[1:])
    assert [v for _, v in places] == [NATIONAL, "江苏省", "苏州市"]
    assert genres[0] == ("政府工作报告 · 2份", "政府工作报告") and [v for _, v in years] == ["2025", "2024", "2022", "2019"]

    *_, (chat, _, _) = handlers.respond("生产总值增长目标是多少？", [], [], ["江苏省"], ["政府工作报告"], ["2025"])
    assert assistant.filters[-1] == Filters(
        places=frozenset({"江苏省"}), genres=frozenset({"政府工作报告"}), years=frozenset({2025})
    )
    html = chat[-1]["content"]
    assert "5%以上" in html and '<div class="pq-identity">江苏省人民政府 · 政府工作报告 · 2025年</div>' in html
    assert "国务院 ·" not in html  # the national reports were filtered out

    *_, (chat, _, _) = handlers.respond("生产总值增长目标是多少？", [], [], [NATIONAL], [], ["2022"])
    assert assistant.filters[-1] == Filters(levels=frozenset({"国务院"}), years=frozenset({2022}))
    assert "5.5%左右" in chat[-1]["content"] and "国务院 · 政府工作报告 · 2022年" in chat[-1]["content"]

    *_, (chat, _, _) = handlers.respond("生产总值增长目标是多少？", [], [], [NATIONAL, "江苏"], ["意见"], [])
    national_or_jiangsu = {d for d, doc in portal_index.documents.items() if doc.meta.level == "国务院"
                           or doc.meta.place == "江苏省"}
    assert assistant.filters[-1] == Filters(doc_ids=frozenset(national_or_jiangsu), genres=frozenset({"意见"}))
    assert "国务院 · 意见 · 2019年" in chat[-1]["content"] and "江苏省人民政府" not in chat[-1]["content"]

    *_, (chat, _, _) = handlers.respond("生产总值增长目标是多少？", [], [], [], [], [], [reports[0][1]])
    assert assistant.filters[-1] == Filters(doc_ids=frozenset({reports[0][1]}))


def test_page_upload_handler_reports_success_and_rejection(tmp_path: Path, base_index: FakeIndex) -> None:
    from ui.page import ChatHandlers
    from ui.service import Service

    settings = _settings(tmp_path)
    handlers = ChatHandlers(Service(FakeAssistant(base_index.copy(), settings), settings))
    good, bad = tmp_path / "in" / "餐饮.txt", tmp_path / "in" / "bad.exe"
    good.parent.mkdir()
    good.write_text(UNIQUE, encoding="utf-8")
    bad.write_bytes(b"MZ")
    seen: list[str] = []
    message, status, places, genres, years, reports, cleared = handlers.upload(
        str(good), lambda f, desc: seen.append(desc)
    )
    assert "已加入" in message and "餐饮.txt" in message and "2 份报告" in status and cleared is None
    assert seen[-1] == "完成"
    assert any("餐饮安全" in label for label, _ in reports["choices"])
    assert years["choices"] == [("2024年 · 2份", "2024")]
    message, *_ = handlers.upload(str(bad))
    assert "无法加入 bad.exe" in message and "unsupported" in message


def test_page_login_also_guards_the_report_view(tmp_path: Path, base_index: FakeIndex) -> None:
    settings = _settings(tmp_path, ui_user="admin", ui_password="pw", api_key="k")
    app = create_app(FakeAssistant(base_index.copy(), settings), settings)
    doc_id = next(iter(base_index.documents))
    with TestClient(app) as client:
        assert client.get(f"/report/{doc_id}").status_code == 401
        assert client.get(f"/report/{doc_id}", headers={"X-API-Key": "k"}).status_code == 200
        assert client.post("/login", data={"username": "admin", "password": "wrong"}).status_code == 400
        assert client.post("/login", data={"username": "admin", "password": "pw"}).status_code == 200
        assert client.get(f"/report/{doc_id}").status_code == 200  # the login cookie is enough
        assert client.get("/healthz").status_code == 200

