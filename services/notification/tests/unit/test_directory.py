"""The recipients file: officers and supervisors per agency; every bad entry is named."""

from __future__ import annotations

from typing import Any

import pytest
from notification.domain.directory import AgencyContacts, Directory, directory_from_data

DATA: dict[str, Any] = {
    "agencies": {
        "000.00.08.H38": {
            "name": {
                "vi": "Ủy ban nhân dân xã Thạch Bình",
                "en": "Thach Binh Commune People's Committee",
            },
            "officers": ["motcua@thachbinh.gov.vn", "tuphap@thachbinh.gov.vn"],
            "supervisors": ["chutich@thachbinh.gov.vn"],
        },
        "CA.H38.08": {"name": {"vi": "Công an xã Thạch Bình"}, "officers": ["ca@thachbinh.gov.vn"]},
    }
}


def test_a_good_file_loads() -> None:
    directory = directory_from_data(DATA)
    assert directory == Directory(
        {
            "000.00.08.H38": AgencyContacts(
                {
                    "vi": "Ủy ban nhân dân xã Thạch Bình",
                    "en": "Thach Binh Commune People's Committee",
                },
                ("motcua@thachbinh.gov.vn", "tuphap@thachbinh.gov.vn"),
                ("chutich@thachbinh.gov.vn",),
            ),
            "CA.H38.08": AgencyContacts(
                {"vi": "Công an xã Thạch Bình"}, ("ca@thachbinh.gov.vn",), ()
            ),
        }
    )


def test_lookups() -> None:
    directory = directory_from_data(DATA)
    assert directory.officers("000.00.08.H38") == (
        "motcua@thachbinh.gov.vn",
        "tuphap@thachbinh.gov.vn",
    )
    assert directory.supervisors("000.00.08.H38") == ("chutich@thachbinh.gov.vn",)
    assert directory.supervisors("CA.H38.08") == ()
    assert directory.officers("BHXH.H38") == ()
    assert directory.supervisors("BHXH.H38") == ()


def test_names_fall_back_to_vietnamese_then_to_the_code() -> None:
    directory = directory_from_data(DATA)
    assert directory.name("000.00.08.H38", "en") == "Thach Binh Commune People's Committee"
    assert directory.name("000.00.08.H38", "vi") == "Ủy ban nhân dân xã Thạch Bình"
    assert directory.name("CA.H38.08", "en") == "Công an xã Thạch Bình"
    assert directory.name("BHXH.H38", "vi") == "BHXH.H38"


def test_an_empty_directory_is_valid() -> None:
    assert directory_from_data({"agencies": {}}) == Directory()


def test_loading_does_not_share_the_input_name_dict() -> None:
    data = {"agencies": {"X": {"name": {"vi": "Xã X"}}}}
    directory = directory_from_data(data)
    data["agencies"]["X"]["name"]["vi"] = "changed"
    assert directory.name("X", "vi") == "Xã X"


@pytest.mark.parametrize("data", [{}, {"agencies": []}, {"agencies": None}, {"agencies": "x"}])
def test_agencies_must_be_an_object(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="'agencies' must be an object keyed by agency code"):
        directory_from_data(data)


def test_every_bad_entry_is_named() -> None:
    data = {
        "agencies": {
            "GOOD": {"name": {"vi": "Tốt"}, "officers": ["a@b.vn"]},
            "NO_NAME": {"officers": ["a@b.vn"]},
            "NOT_OBJECT": ["a@b.vn"],
            "NAME_STRING": {"name": "Xã"},
            "BAD_OFFICER": {"name": {"vi": "X"}, "officers": ["a@b.vn", "not-an-address"]},
            "BAD_SUPERVISORS": {"name": {"vi": "X"}, "supervisors": "boss@b.vn"},
            "NUMBER": {"name": {"vi": "X"}, "officers": [42]},
        }
    }
    with pytest.raises(ValueError) as error:
        directory_from_data(data)
    message = str(error.value)
    assert message.startswith("recipients file: ")
    for problem in (
        "NO_NAME: needs a 'name' object",
        "NOT_OBJECT: needs a 'name' object",
        "NAME_STRING: needs a 'name' object",
        "BAD_OFFICER.officers: must be a list of email addresses",
        "BAD_SUPERVISORS.supervisors: must be a list of email addresses",
        "NUMBER.officers: must be a list of email addresses",
    ):
        assert problem in message
    assert "GOOD" not in message
    assert message.count(";") == 5


@pytest.mark.parametrize("value", [5, None, True])
def test_a_non_list_of_addresses_is_named_not_a_crash(value: Any) -> None:
    with pytest.raises(ValueError, match=r"X\.officers: must be a list of email addresses"):
        directory_from_data({"agencies": {"X": {"name": {"vi": "X"}, "officers": value}}})
