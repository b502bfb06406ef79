from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

BIRTH = {
    "applicant": {
        "name": "Nguyễn Thị Ánh",
        "citizen_id": "042199001234",
        "phone": "0912345678",
        "email": "anh@example.vn",
        "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
    },
    "procedure_code": "2.000986",
    "documents": [{"code": "to-khai-lien-thong"}, {"code": "giay-chung-sinh"}],
    "channel": "desk",
    "return_method": "desk",
}


def test_catalogue_and_birth_bundle_submission(intake, make_token):
    listing = intake.get("/procedures").json()
    assert any(p["code"] == "2.000986" for p in listing["procedures"])
    reply = intake.post("/dossiers", json=BIRTH, token=make_token("reception", unit="TEST.SMOKE"))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["code"].startswith("TEST.SMOKE-")
    assert len(body["lookup"]["pin"]) == 6
