from __future__ import annotations

from motcua_kit.http import problems_from


def test_client_address_trusts_forwarded_for_only_behind_configured_proxies():
    from motcua_kit.http import client_address
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    request = Request(
        EnvironBuilder(
            headers={"X-Forwarded-For": "1.1.1.1, 10.0.0.7"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        ).get_environ()
    )
    assert client_address(request) == "10.0.0.1"  # anyone can send the header
    assert client_address(request, trusted_proxies=1) == "10.0.0.7"
    assert client_address(request, trusted_proxies=2) == "1.1.1.1"
    assert client_address(request, trusted_proxies=3) == "10.0.0.1"  # fewer hops than promised


def test_problems_name_the_field_with_a_code_and_vietnamese_text():
    problems = problems_from(
        {
            "applicant": {
                "_schema": ["Invalid input type."],
                "citizen_id": ["citizen_id|12 chữ số"],
            },
            "documents": {0: {"copies": ["Not a valid integer."]}},
            "extra": ["Unknown field."],
        }
    )
    assert [(p.field, p.code) for p in problems] == [
        ("applicant", "type"),
        ("applicant.citizen_id", "citizen_id"),
        ("documents.0.copies", "type"),
        ("extra", "unknown_field"),
    ]
    assert problems[1].message == "12 chữ số"
    assert problems[0].message == "Kiểu dữ liệu không hợp lệ"
