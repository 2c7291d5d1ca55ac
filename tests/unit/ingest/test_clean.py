from hypothesis import given
from hypothesis import strategies as st

from rag.ingest.clean import clean_report
from rag.text.dates import parse_date
from rag.text.normalize import normalize_width


def test_sample_header_is_read_and_kept_without_the_site_chrome(sample_text):
    report = clean_report(sample_text)
    assert report.title == "苏州市科技局2024年度法治政府建设情况报告"
    assert report.publisher == "苏州市科学技术局"
    assert report.published == "2025-02-12"
    for noise in ("您现在的位置", "浏览量", "字体", "打印此页", "关闭窗口", "/span>", "⠂", "⠼", "2025212"):
        assert noise not in report.text
    # the header line stays, citable, without its view counter
    assert report.text.startswith("来源:苏州市科学技术局发布时间:2025-02-12 14:34:40\n\n2024年,在市委市政府领导下")
    assert report.text.endswith("推进科技领域“综合查一次”改革工作。")


def test_braille_filler_inside_a_sentence_is_removed(sample_text):
    text = clean_report(sample_text).text
    assert "科技类社会组织开展年检" in text


def test_signature_is_metadata_not_text(sample_text):
    report = clean_report(sample_text)
    assert report.signature == "苏州市科学技术局"
    assert not report.text.rstrip().endswith("苏州市科学技术局")


def test_every_kept_character_maps_back_to_the_raw_text(sample_text):
    report = clean_report(sample_text)
    raw = normalize_width(sample_text)
    assert all(report.text[i] == raw[report.to_source(i)] for i in range(len(report.text)))
    assert list(report.source_index) == sorted(report.source_index)


def test_width_normalisation():
    report = clean_report("（一）加强领导，２０２４年完成１２件。\n")
    assert report.text == "(一)加强领导,2024年完成12件。"


def test_zero_width_and_spaces_between_chinese_removed():
    report = clean_report("行政\u200b执法  检查\u3000工作。Open data 平台。")
    assert report.text == "行政执法检查工作。Open data 平台。"


def test_parse_date_variants():
    assert parse_date("2025-02-12 14:34:40") == "2025-02-12"
    assert parse_date("2025年2月12日") == "2025-02-12"
    assert parse_date("2025212") == "2025-02-12"
    assert parse_date("20250212") == "2025-02-12"
    assert parse_date("2025123", hint="2025-12-03") == "2025-12-03"
    assert parse_date("no date") is None


@given(st.text(alphabet=st.sampled_from(list("行政执法。,\n ⠂\u200b（）１a<>/span&nbsp;")), max_size=200))
def test_mapping_holds_for_any_text(raw):
    report = clean_report(raw)
    norm = normalize_width(raw)
    assert len(report.source_index) == len(report.text)
    assert all(report.text[i] == norm[report.to_source(i)] for i in range(len(report.text)))
