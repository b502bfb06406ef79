"""Bad requests get a 4xx naming every problem in Vietnamese; never a 500, never a traceback."""

from __future__ import annotations

import re

import pytest
from factories import DROP, marriage_status_submission, submission, unit

pytestmark = pytest.mark.integration

VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")


def answer(reply) -> dict:
    """The JSON error body, after the checks every answer must pass."""
    assert reply.status_code < 500, reply.text
    assert "Traceback" not in reply.text and 'File "' not in reply.text
    assert reply.headers["Content-Type"].startswith("application/json"), reply.text
    return reply.json()


def field_name(field: str) -> str:
    """`documents[0].code` and `documents.0.code` name the same field."""
    return re.sub(r"\[(\d+)\]", r".\1", field)


def problems(body: dict) -> dict[str, dict]:
    """Problems by field; each one has a machine code and a Vietnamese message."""
    found = {}
    for problem in body.get("problems", []):
        assert re.fullmatch(r"[a-z_]+", problem["code"]), problem
        assert VIETNAMESE.search(problem["message"].lower()), problem
        found[field_name(problem["field"])] = problem
    return found


@pytest.fixture
def reception(make_token):
    return make_token("reception", unit=unit())


BAD_FIELDS = [
    # (override of the valid birth bundle, field the answer must name)
    ({"applicant": "A"}, "applicant"),  # not an object
    ({"applicant__name": "A"}, "applicant.name"),
    ({"applicant__name": None}, "applicant.name"),
    ({"applicant__name": DROP}, "applicant.name"),
    ({"applicant__name": 42}, "applicant.name"),
    ({"applicant__citizen_id": "12345"}, "applicant.citizen_id"),
    ({"applicant__citizen_id": "04219900123A"}, "applicant.citizen_id"),
    ({"applicant__citizen_id": DROP}, "applicant.citizen_id"),
    ({"applicant__phone": "12345"}, "applicant.phone"),
    ({"applicant__phone": "+1 555 0100"}, "applicant.phone"),
    ({"applicant__email": "not-an-email"}, "applicant.email"),
    ({"applicant__email": 7}, "applicant.email"),
    ({"applicant__address": "x"}, "applicant.address"),
    ({"applicant__address": DROP}, "applicant.address"),
    ({"procedure_code": ""}, "procedure_code"),
    ({"procedure_code": 2000986}, "procedure_code"),
    ({"procedure_code": DROP}, "procedure_code"),
    ({"documents": []}, "documents"),
    ({"documents": "to-khai"}, "documents"),
    ({"documents": DROP}, "documents"),
    ({"documents__0__code": ""}, "documents.0.code"),
    ({"documents__1__code": DROP}, "documents.1.code"),
    ({"documents__0__copies": 0}, "documents.0.copies"),
    ({"documents__0__copies": 51}, "documents.0.copies"),
    ({"documents__0__copies": "2"}, "documents.0.copies"),
    ({"documents__0__copies": 1.5}, "documents.0.copies"),
    ({"channel": "fax"}, "channel"),
    ({"channel": None}, "channel"),
    ({"return_method": "pigeon"}, "return_method"),
    ({"return_method": DROP}, "return_method"),
    ({"note": "x" * 2001}, "note"),
    ({"note": 5}, "note"),
    ({"nickname": "Tèo"}, "nickname"),
]


def case_id(override: dict, field: str) -> str:
    [value] = override.values()
    shown = "missing" if value is DROP else repr(value)
    return f"{field}={shown[:12]}"


@pytest.mark.parametrize(
    ("override", "field"), BAD_FIELDS, ids=[case_id(o, f) for o, f in BAD_FIELDS]
)
def test_each_bad_field_is_named(intake, reception, override, field):
    reply = intake.post("/dossiers", json=submission(**override), token=reception)
    body = answer(reply)
    assert reply.status_code == 400, body
    assert body["error"] == "validation_failed"
    assert field in problems(body), body


def test_every_bad_field_is_listed_at_once(intake, reception):
    bad = submission(
        applicant__name="A",
        applicant__citizen_id="1",
        applicant__email="@",
        documents__0__copies=0,
        channel="fax",
        return_method="pigeon",
        note=5,
    )
    body = answer(intake.post("/dossiers", json=bad, token=reception))
    assert set(problems(body)) == {
        "applicant.name",
        "applicant.citizen_id",
        "applicant.email",
        "documents.0.copies",
        "channel",
        "return_method",
        "note",
    }


def test_missing_mandatory_documents_list_everything_missing_on_form_02(intake, reception):
    only_optional = submission(documents=[{"code": "giay-chung-nhan-ket-hon", "copies": 1}])
    reply = intake.post("/dossiers", json=only_optional, token=reception)
    body = answer(reply)

    assert reply.status_code == 422, body
    assert body["error"] == "dossier_incomplete"
    assert body["form"] == "02"
    assert {m["code"] for m in body["missing"]} == {"to-khai-lien-thong", "giay-chung-sinh"}
    found = problems(body)
    assert {p["code"] for p in found.values()} == {"missing_document"}
    assert set(found) == {"documents.to-khai-lien-thong", "documents.giay-chung-sinh"}


def test_too_few_copies_is_a_missing_document(intake, reception):
    one_copy = marriage_status_submission(documents__1__copies=1)  # two copies required
    reply = intake.post("/dossiers", json=one_copy, token=reception)
    body = answer(reply)

    assert reply.status_code == 422, body
    assert body["error"] == "dossier_incomplete"
    [missing] = body["missing"]
    assert (missing["code"], missing["copies_required"], missing["copies_given"]) == (
        "giay-to-tuy-than",
        2,
        1,
    )


def test_unknown_document_code_is_refused(intake, reception):
    extra = submission(documents__1__code="giay-khai-sinh-cua-me")
    reply = intake.post("/dossiers", json=extra, token=reception)
    body = answer(reply)
    assert reply.status_code == 422, body
    assert problems(body)["documents.1.code"]["code"] == "unknown_document"


def test_unknown_document_and_missing_ones_are_reported_together(intake, reception):
    # reception.py: unknown documents and too few copies are problems "reported together".
    body = submission(documents__1__code="giay-khai-sinh-cua-me")  # so giay-chung-sinh is missing
    reply = intake.post("/dossiers", json=body, token=reception)
    found = problems(answer(reply))
    assert reply.status_code == 422
    assert found["documents.1.code"]["code"] == "unknown_document"
    assert found["documents.giay-chung-sinh"]["code"] == "missing_document"


def test_return_method_the_procedure_does_not_allow_is_refused(intake, reception):
    by_post = marriage_status_submission(return_method="post")  # 1.000894: at the desk only
    reply = intake.post("/dossiers", json=by_post, token=reception)
    body = answer(reply)
    assert reply.status_code == 422, body
    assert problems(body)["return_method"]["code"] == "return_method_not_allowed"


def test_unknown_procedure_is_refused(intake, reception):
    reply = intake.post("/dossiers", json=submission(procedure_code="9.999999"), token=reception)
    body = answer(reply)
    assert reply.status_code == 422, body
    assert problems(body)["procedure_code"]["code"] == "unknown_procedure"


@pytest.mark.parametrize(
    "raw",
    ["{not json", '{"applicant": ', "", "[1, 2]", '"text"', "null", "[" * 100_000],
    ids=["broken", "truncated", "empty", "array", "string", "null", "deeply-nested"],
)
def test_malformed_json_is_a_400(intake, reception, raw):
    reply = intake.post(
        "/dossiers",
        data=raw.encode(),
        headers={"Content-Type": "application/json"},
        token=reception,
    )
    body = answer(reply)
    assert reply.status_code == 400, body
    assert body["error"] == "malformed_json"


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml"]
)
def test_non_json_content_type_is_a_415(intake, reception, content_type):
    reply = intake.post(
        "/dossiers",
        data=b"procedure_code=2.000986",
        headers={"Content-Type": content_type},
        token=reception,
    )
    body = answer(reply)
    assert reply.status_code == 415, body
    assert body["error"] == "unsupported_media_type"


# --- the other POST endpoints -------------------------------------------------------------

OTHER_BODIES = [
    # (path after /dossiers/<code>, role, body, fields the answer must name)
    ("supplement-request", "processing", {}, {"missing", "reason"}),
    ("supplement-request", "processing", {"missing": [], "reason": "x"}, {"missing", "reason"}),
    (
        "supplement-request",
        "processing",
        {"missing": [{}], "reason": "Thiếu giấy"},
        {"missing.0.description"},
    ),
    ("supplements", "reception", {}, {"documents"}),
    (
        "supplements",
        "reception",
        {"documents": [{"code": "giay-chung-sinh", "copies": 0}]},
        {"documents.0.copies"},
    ),
    ("refusal", "processing", {}, {"reason"}),
    ("refusal", "processing", {"reason": "x"}, {"reason"}),
    ("withdrawal", "reception", {"reason": None}, {"reason"}),
    ("result", "processing", {}, {"result_reference"}),
    ("result", "processing", {"result_reference": "KQ-1", "electronic": "maybe"}, {"electronic"}),
    ("return", "reception", {}, {"method"}),
    ("return", "reception", {"method": "fax"}, {"method"}),
]


@pytest.fixture
def dossier(intake, make_token):
    desk = unit()
    reply = intake.post("/dossiers", json=submission(), token=make_token("reception", unit=desk))
    assert reply.status_code == 201, reply.text
    return desk, reply.json()


@pytest.mark.parametrize(
    ("action", "role", "bad", "fields"),
    OTHER_BODIES,
    ids=[f"{a}-{'+'.join(sorted(f))}" for a, _, _, f in OTHER_BODIES],
)
def test_other_endpoints_name_missing_and_invalid_fields(
    intake, make_token, dossier, action, role, bad, fields
):
    desk, received = dossier
    token = make_token(role, unit=desk)
    reply = intake.post(f"/dossiers/{received['code']}/{action}", json=bad, token=token)
    body = answer(reply)
    assert reply.status_code == 400, body
    assert set(problems(body)) == fields


EVALUATIONS = [
    pytest.param({}, {"pin", "ratings"}, id="empty"),
    pytest.param({"pin": "12", "ratings": {"overall": "satisfied"}}, {"pin"}, id="short-pin"),
    pytest.param({"pin": "123456", "ratings": "good"}, {"ratings"}, id="ratings-not-object"),
    pytest.param(
        {"pin": "123456", "ratings": {"bogus": "meh"}},
        {"ratings.bogus.key", "ratings.bogus.value"},
        id="unknown-criterion-and-level",
    ),
    pytest.param(
        {"pin": "123456", "ratings": {"convenience": "satisfied"}}, {"ratings"}, id="no-overall"
    ),
    pytest.param(
        {"pin": "12", "ratings": {"convenience": "satisfied"}},
        {"pin", "ratings"},
        id="short-pin-and-no-overall",
    ),
]


@pytest.mark.parametrize(("bad", "fields"), EVALUATIONS)
def test_evaluation_names_missing_and_invalid_fields(citizen, dossier, bad, fields):
    _, received = dossier
    reply = citizen.post(f"/lookup/{received['code']}/evaluation", json=bad)
    body = answer(reply)
    assert reply.status_code == 400, body
    assert set(problems(body)) == fields


QUERIES = [
    ("/dossiers?limit=0", "reception", {"limit"}),
    ("/dossiers?limit=many", "reception", {"limit"}),
    ("/dossiers/{code}/receipt?format=doc", "reception", {"format"}),
    ("/dossiers/{code}/receipt?lang=fr", "reception", {"lang"}),
    ("/lookup/{code}", None, {"t"}),
    ("/lookup/{code}?t=short", None, {"t"}),
    ("/lookup/{code}?pin=123456", None, {"t", "pin"}),  # the PIN is refused in a URL, by name
    ("/lookup/{code}/receipt?t=short&format=doc", None, {"t", "format"}),
    ("/lookup/{code}/receipt?pin=123456&t=" + "A" * 22, None, {"pin"}),
]


LOOKUPS = [
    pytest.param("", {"lang": "vi"}, {"pin"}, id="no-key"),
    pytest.param("", {"pin": "12ab"}, {"pin"}, id="bad-pin"),
    pytest.param("", {"pin": "123456", "t": "A" * 22}, {"pin"}, id="both-keys"),
    pytest.param("", {"t": "short", "lang": "fr"}, {"t", "lang"}, id="bad-link-and-lang"),
    pytest.param("/receipt", {"pin": "1", "format": "doc"}, {"pin", "format"}, id="receipt"),
]


@pytest.mark.parametrize(("path", "bad", "fields"), LOOKUPS)
@pytest.mark.parametrize("encoding", ["json", "form"])
def test_lookup_bodies_name_every_problem(citizen, dossier, path, bad, fields, encoding):
    _, received = dossier
    url = f"/lookup/{received['code']}{path}"
    reply = citizen.post(url, json=bad) if encoding == "json" else citizen.post(url, data=bad)
    body = answer(reply)
    assert reply.status_code == 400, body
    assert set(problems(body)) == fields


@pytest.mark.parametrize(("url", "role", "fields"), QUERIES, ids=[q[0] for q in QUERIES])
def test_bad_query_parameters_are_named(intake, citizen, make_token, dossier, url, role, fields):
    desk, received = dossier
    url = url.format(code=received["code"])
    reply = intake.get(url, token=make_token(role, unit=desk)) if role else citizen.get(url)
    body = answer(reply)
    assert reply.status_code == 400, body
    assert set(problems(body)) == fields
