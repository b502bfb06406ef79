"""Sample facts per message: the preview endpoint renders them, and every template is rendered
with them when it is loaded, so a template naming a fact that does not exist fails at start."""

from __future__ import annotations

from typing import Any

_CITIZEN = {
    "code": "000.00.08.H38-250702-0001",
    "applicant_name": "Nguyễn Thị Ánh",
    "procedure_name": "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi",
    "lookup_url": "https://motcua.example/lookup/000.00.08.H38-250702-0001?t=mJ0x4Qd2VbT7hLs9KcE1wA",
}
_STEP = {
    "code": "000.00.08.H38-250707-0001",
    "agency_name": "Công an xã Thạch Bình",
    "task": "Đăng ký thường trú cho trẻ",
    "due_date": "09/07/2025",
    "due_time": "14:10",
    "step_id": "000.00.08.H38-250707-0001/2.1",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "receipt": {
        **_CITIZEN,
        "received_date": "02/07/2025",
        "due_date": "07/07/2025",
        "due_time": "09:15",
        "pin": "482913",
    },
    "supplement_request": {
        **_CITIZEN,
        "reason": "Thiếu giấy chứng nhận kết hôn của cha mẹ",
        "missing": ["Bản chụp giấy chứng nhận kết hôn", "Giấy tờ chứng minh chỗ ở hợp pháp"],
    },
    "refusal": {**_CITIZEN, "reason": "Trẻ đã được đăng ký khai sinh tại nơi khác"},
    "apology": {
        **_CITIZEN,
        "reason": "Cơ sở dữ liệu dân cư gián đoạn, chưa xác minh được nơi thường trú",
        "new_date": "14/07/2025",
        "previous_date": "10/07/2025",
        "agency_name": "Công an xã Thạch Bình",
    },
    "result_ready": {
        **_CITIZEN,
        "return_method": "desk",
        "electronic": True,
        "result_reference": "125/2025/TP-KS",
    },
    "evaluation_invite": {**_CITIZEN, "returned_date": "07/07/2025"},
    "task_assigned": {**_STEP, "procedure_name": _CITIZEN["procedure_name"]},
    "step_reminder": dict(_STEP),
    "overdue_escalation": {**_STEP, "overdue_since": "14:10 09/07/2025"},
    "webhook_suspended": {
        "subscriber_id": "5f0c2a9e-1b7d-4c1e-9a43-2f8e7d6c5b4a",
        "subscriber_name": "Hệ thống hộ tịch tỉnh",
        "url": "https://hotich.example.gov.vn/motcua/events",
        "failures": 10,
        "last_error": "HTTP 503: Service Unavailable",
    },
}
