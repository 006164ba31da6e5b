"""Rendering: the certificate PDF read back as a person and a verifier would read it.

Text through ``pdftotext``, pixels through ``pdftoppm``, the QR code through ``zbarimg``, fonts
through ``pdffonts`` and the Info dictionary through pyHanko's reader; nothing here compares
against stored bytes, so a layout change does not need golden files regenerated.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

import rules
from certificates.content import Issuance, build_certificate
from certificates.model import Certificate, Language, qr_payload, result_digest
from certificates.render import WATERMARK_EN, format_date, format_date_zh, render_certificate
from certificates.scheme import Scheme
from engine.catalogue import MaturityModel, load_catalogue
from engine.result import Result
from tests.tools import require_tool

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
NUMBER = "ASSAY-2026-000001"
PREVIOUS = "ASSAY-2023-000042"
LONG_NAME = "The Royal Borough of Kensington-upon-Thames and Greater Westminster Smart District"
INNER_BORDER = (28.0, 28.0, 567.3, 813.9)
"""The certificate's inner frame (x0, y0 from the top-left, x1, y1): no text may leave it."""
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
ZH_LABELS = [
    "证书编号", "颁发日期", "有效期至", "监督审核日期", "认证机构", "审核组长", "认证决定人", "评估日期",
    "每个特征均达到的级别", "处于各级别的特征数", "平均级别", "验证级别", "声明级别", "特征",
]  # fmt: skip
"""Chinese labels the bilingual certificate prints, in the terms of the GB/T adoption of
ISO/TS 37107:2019 (特征 for characteristic, 级别 for level)."""
NOT_ADOPTION_TERMS = ["特性", "等级"]
"""Terms the adoption does not use for characteristic and level."""
JARGON = ["lowest verified level", "arithmetic mean", "least mature", "aggregation rule", "汇总规则"]
"""Wording of the aggregation rule that the page must not print (certificate.json keeps the rule)."""

Make = Callable[..., Certificate]
Box = tuple[float, float, float, float, str]


@pytest.fixture(scope="module")
def model() -> MaturityModel:
    """The bundled ISO/TS 37107:2019 catalogue (titles in both languages)."""
    return load_catalogue(rules.bundled() / "model.yaml")


@pytest.fixture(scope="module")
def make(model: MaturityModel) -> Make:
    """Build a certificate from a golden result, issued on a fixed date."""

    def build(
        community: str = "harbourton",
        language: Language = "en",
        *,
        test: bool = False,
        number: str = NUMBER,
        renews: str | None = None,
    ) -> Certificate:
        raw = (GOLDEN / community / "result.json").read_bytes()
        issuance = Issuance(
            number, dt.date(2026, 11, 22), "Assay Test Certification Body", "Ana Auditor", "Dee Decider",
            language, test, renews,
        )  # fmt: skip
        return build_certificate(
            Result.model_validate_json(raw), model, Scheme(), issuance,
            trail_head="sha256:" + "1" * 64, result_digest=result_digest(raw),
        )  # fmt: skip

    return build


@pytest.fixture(scope="module")
def english(make: Make) -> Certificate:
    """An English certificate, not a test one."""
    return make("harbourton", "en")


@pytest.fixture(scope="module")
def bilingual(make: Make) -> Certificate:
    """A bilingual test certificate (watermarked)."""
    return make("norbridge", "en+zh", test=True, renews=PREVIOUS)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Certificate], Path]:
    """Render a certificate to a file (once per certificate) for the command-line tools."""
    folder = tmp_path_factory.mktemp("render")
    done: dict[str, Path] = {}

    def path(cert: Certificate) -> Path:
        key = cert.model_dump_json()
        if key not in done:
            done[key] = folder / f"{len(done)}.pdf"
            done[key].write_bytes(render_certificate(cert))
        return done[key]

    return path


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def _text(pdf: Path) -> str:
    return _run(require_tool("pdftotext"), pdf, "-")


def _layout(pdf: Path, page: int = 1) -> str:
    """One page's text with its layout kept: a table row stays on one line."""
    return _run(require_tool("pdftotext"), "-layout", "-f", str(page), "-l", str(page), pdf, "-")


def _page_png(pdf: Path, page: int, dpi: int) -> Image.Image:
    prefix = pdf.with_name(f"{pdf.stem}-{dpi}")
    _run(require_tool("pdftoppm"), "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile",
         pdf, prefix)  # fmt: skip
    return Image.open(prefix.with_suffix(".png")).convert("RGB")


def _words(pdf: Path) -> list[list[Box]]:
    """Every word's box per page, as ``pdftotext -bbox`` sees it (points, origin top-left)."""
    html = _run(require_tool("pdftotext"), "-bbox", pdf, "-")
    return [
        [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in WORD.findall(page)]
        for page in html.split("<page ")[1:]
    ]


def _present(token: str, text: str) -> bool:
    """``token`` occurs as a whole (``4.1`` does not count inside ``4.1.2`` or ``14.1``)."""
    return re.search(rf"(?<![\w.]){re.escape(token)}(?![\w.]|\.\d)", text) is not None


def _fields(cert: Certificate) -> list[str]:
    dates = [cert.issued_on, cert.expires_on, cert.assessed_on, *cert.surveillance_due]
    people = [cert.community, cert.number, cert.body, cert.lead_auditor, cert.decision_maker, cert.scheme]
    digests = [cert.rule_pack_digest, cert.trail_head, cert.result_digest, cert.evaluation_id]
    return [*people, *digests, *map(format_date, dates)]


def test_english_text_layer_states_the_certificate(
    english: Certificate, files: Callable[[Certificate], Path]
) -> None:
    text = _text(files(english))
    flat = " ".join(text.split())
    for field in _fields(english):
        assert field in flat, field
    assert len(english.profile) == 32
    missing = [e.id for e in english.profile if not _present(e.id, text)]
    assert missing == []
    assert all(e.title.en in flat for e in english.profile)
    assert [j for j in JARGON if j.casefold() in flat.casefold()] == []
    assert CJK.search(text) is None


def test_bilingual_text_layer_has_chinese_titles_and_labels(
    bilingual: Certificate, files: Callable[[Certificate], Path]
) -> None:
    text = _text(files(bilingual))
    flat, dense = " ".join(text.split()), "".join(text.split())
    for field in _fields(bilingual):
        assert field in flat, field
    assert [e.id for e in bilingual.profile if not _present(e.id, text)] == []
    # Chinese titles may wrap inside their column; compare without whitespace.
    assert "以目标为导向的城市愿景和战略" in dense
    assert [e.id for e in bilingual.profile if "".join(e.title.zh.split()) not in dense] == []
    assert [label for label in ZH_LABELS if label not in dense] == []
    # Only in the certificate's own labels: the catalogue titles may use any word.
    titles = "".join(e.title.zh for e in bilingual.profile) + "".join(
        d.title.zh for d in bilingual.dimensions
    )
    assert [t for t in NOT_ADOPTION_TERMS if t in dense and t not in titles] == []
    assert [j for j in JARGON if j.casefold() in flat.casefold()] == []
    assert format_date_zh(bilingual.expires_on) in dense
    assert format_date_zh(bilingual.assessed_on) in dense


def test_page_one_is_not_blank(english: Certificate, files: Callable[[Certificate], Path]) -> None:
    image = _page_png(files(english), 1, 50).convert("L")
    dark = sum(image.histogram()[:160])
    assert dark > 0.02 * image.width * image.height


@pytest.mark.parametrize("which", ["english", "bilingual"])
def test_qr_code_decodes_to_the_payload(which: str, request: pytest.FixtureRequest,
                                       files: Callable[[Certificate], Path]) -> None:  # fmt: skip
    cert: Certificate = request.getfixturevalue(which)
    zbarimg = require_tool("zbarimg")
    page = files(cert).with_name(f"{which}-qr.png")
    _page_png(files(cert), 1, 150).save(page)
    assert _run(zbarimg, "--raw", "-q", page).strip() == qr_payload(cert.number, cert.result_digest)


def _page_streams(pdf: bytes) -> list[bytes]:
    reader = PdfFileReader(io.BytesIO(pdf))
    return [page.get_object()["/Contents"].data for page in reader.root["/Pages"]["/Kids"]]


def _reddish(image: Image.Image) -> int:
    """Pixels of the watermark's tint: red clearly above green and blue (the gold has green > blue)."""
    data = image.tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    return sum(1 for r, g, b in pixels if r - g > 15 and r - b > 15 and abs(g - b) < 12)


@pytest.mark.parametrize("test", [True, False])
@pytest.mark.parametrize("language", ["en", "en+zh"])
def test_watermark_on_every_page_of_test_certificates_only(
    language: Language, test: bool, make: Make, files: Callable[[Certificate], Path]
) -> None:
    cert = make("larkfield", language, test=test)
    pdf = files(cert)
    streams = _page_streams(pdf.read_bytes())
    assert len(streams) == 2
    assert [f"({WATERMARK_EN})".encode() in s for s in streams] == [test, test]
    for page in (1, 2):
        assert (_reddish(_page_png(pdf, page, 40)) > 500) is test
    if language == "en+zh":
        # The Chinese watermark is the only place these two characters occur.
        assert ("测" in _text(pdf) and "试" in _text(pdf)) is test


def test_identical_certificate_gives_identical_bytes(
    english: Certificate, make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = render_certificate(english)
    assert render_certificate(make("harbourton", "en")) == first
    # reportlab would otherwise seed the file id with this variable.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert render_certificate(english) == first
    assert render_certificate(make("harbourton", "en", number="ASSAY-2026-000002")) != first


def test_bilingual_rendering_is_deterministic(bilingual: Certificate) -> None:
    assert render_certificate(bilingual) == render_certificate(bilingual)


def test_info_dictionary(bilingual: Certificate) -> None:
    issued_at = dt.datetime(2026, 11, 22, 10, 15, 30, tzinfo=dt.UTC)
    reader = PdfFileReader(io.BytesIO(render_certificate(bilingual, issued_at)))
    info = reader.trailer["/Info"]
    assert info["/Keywords"] == qr_payload(bilingual.number, bilingual.result_digest)
    assert info["/Title"] == f"Certificate {NUMBER}"
    assert info["/Author"] == bilingual.body
    assert info["/Creator"] == "Assay"
    assert info["/Subject"] == f"{bilingual.scope.standard} maturity certificate: {bilingual.community}"
    # Dated by the instant of issue, not by the assessment date (30 June 2026).
    assert (str(info["/CreationDate"]), str(info["/ModDate"])) == ("D:20261122101530Z", "D:20261122101530Z")
    assert reader.root["/Pages"]["/Count"] == 2
    assert [round(float(v)) for v in reader.root["/Pages"]["/Kids"][0]["/MediaBox"]] == [0, 0, 595, 842]


@pytest.mark.parametrize("language", ["en", "en+zh"])
def test_renewal_is_stated(language: Language, make: Make, files: Callable[[Certificate], Path]) -> None:
    renewing = " ".join(_text(files(make("harbourton", language, renews=PREVIOUS))).split())
    assert f"This certificate renews certificate {PREVIOUS}." in renewing
    assert "renews" not in _text(files(make("harbourton", language)))


@pytest.mark.parametrize("language", ["en", "en+zh"])
def test_no_text_leaves_the_frame_or_overlaps(
    language: Language, make: Make, files: Callable[[Certificate], Path]
) -> None:
    long = make("norbridge", language, renews=PREVIOUS).model_copy(
        update={
            "community": LONG_NAME,
            "body": "Assay International Certification & Accreditation Services for Sustainable Communities",
        }
    )
    for cert in (make("harbourton", language), long):
        pages = _words(files(cert))
        assert len(pages) == 2
        for words in pages:
            x0, y0, x1, y1 = INNER_BORDER
            assert [w for w in words if w[0] < x0 or w[1] < y0 or w[2] > x1 or w[3] > y1] == []
            assert _overlapping(words) == []
    assert LONG_NAME in " ".join(_text(files(long)).split())


def _overlapping(words: list[Box]) -> list[tuple[str, str]]:
    """Pairs of words whose boxes intersect by more than half a point each way."""
    found = []
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            if min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5:
                found.append((a[4], b[4]))
    return found


def test_without_an_instant_the_dates_are_the_start_of_the_issue_day(english: Certificate) -> None:
    info = PdfFileReader(io.BytesIO(render_certificate(english))).trailer["/Info"]
    assert str(info["/CreationDate"]) == "D:20261122000000Z"


def test_an_instant_off_the_issue_date_is_refused(english: Certificate) -> None:
    with pytest.raises(ValueError, match="does not fall on the issue date 2026-11-22"):
        render_certificate(english, dt.datetime(2026, 11, 23, 0, 0, 1, tzinfo=dt.UTC))
    # 22 November 23:30 in New York is already 23 November in UTC, the clock's zone.
    with pytest.raises(ValueError, match="does not fall on the issue date"):
        render_certificate(
            english, dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        )


def test_the_same_instant_gives_the_same_bytes_and_another_instant_other_bytes(english: Certificate) -> None:
    at = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    assert render_certificate(english, at) == render_certificate(english, at)
    assert render_certificate(english, at) != render_certificate(english, at + dt.timedelta(hours=1))


@pytest.mark.parametrize("which", ["english", "bilingual"])
def test_issue_date_and_assessment_date_are_labelled_fields(
    which: str, request: pytest.FixtureRequest, files: Callable[[Certificate], Path]
) -> None:
    cert: Certificate = request.getfixturevalue(which)
    assert (cert.issued_on, cert.assessed_on) == (dt.date(2026, 11, 22), dt.date(2026, 6, 30))
    lines = _layout(files(cert)).splitlines()
    # The two dates sit side by side, each after its own label.
    (row,) = [line for line in lines if "ISSUE DATE" in line]
    assert re.search(r"ISSUE DATE\s+22 November 2026\s+ASSESSMENT DATE\s+30 June 2026\s*$", row), row
    (valid,) = [line for line in lines if "VALID UNTIL" in line]
    assert re.search(r"VALID UNTIL\s+21 November 2029\s", valid), valid
    (surveillance,) = [line for line in lines if "SURVEILLANCE DUE" in line]
    assert "22 November 2027" in surveillance


@pytest.mark.parametrize("which", ["english", "bilingual"])
def test_the_headline_table_counts_characteristics_at_each_level(
    which: str, request: pytest.FixtureRequest, files: Callable[[Certificate], Path]
) -> None:
    cert: Certificate = request.getfixturevalue(which)
    flat = " ".join(_text(files(cert)).split())
    assert "LEVEL EVERY CHARACTERISTIC REACHES" in flat
    assert "CHARACTERISTICS AT EACH LEVEL" in flat
    assert "Columns 1 to 5 count a dimension's characteristics at each level" in flat
    expected = []
    for dim in cert.dimensions:
        levels = [e.verified_level for e in cert.profile if e.dimension == dim.id and e.verified_level]
        # What the page says in words holds: no characteristic is below the dimension's level.
        assert dim.level == min(levels)
        counts = [levels.count(n) for n in range(1, 6)]
        expected.append(f"{dim.level} {' '.join(map(str, counts))} {dim.mean:.2f}")
    # Each row's figures stay on one line of the layout (its title may wrap above or below them).
    figures = re.compile(r"\s(\d) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d\.\d\d)\s*$")
    found = [
        " ".join(m.groups()) for line in _layout(files(cert)).splitlines() if (m := figures.search(line))
    ]
    assert found == expected


def test_harbourton_headline_reads_level_2_over_a_spread_of_levels(
    english: Certificate, files: Callable[[Certificate], Path]
) -> None:
    # The case behind the plain words: level 2 everywhere beside averages of 2.38 to 2.83.
    layout = " ".join(_layout(files(english)).split())
    assert "1 Strategy management 2 0 4 6 2 0 2.83" in layout
    assert "2 Citizen-centric service management 2 0 5 3 0 0 2.38" in layout


def test_dates_are_printed_independent_of_locale() -> None:
    assert format_date(dt.date(2027, 1, 5)) == "5 January 2027"
    assert format_date_zh(dt.date(2027, 1, 5)) == "2027年1月5日"
