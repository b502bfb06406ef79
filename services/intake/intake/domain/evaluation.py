"""The citizen's satisfaction evaluation: 12 criteria on a 3-level scale (see docs/domain)."""

from __future__ import annotations

CRITERIA: dict[str, tuple[str, str]] = {
    "overall": ("Mức độ hài lòng chung", "Overall satisfaction"),
    "convenience": ("Sự thuận tiện khi thực hiện thủ tục", "Convenience"),
    "on_time": ("Trả kết quả đúng hẹn", "Result returned on time"),
    "staff_attitude": ("Thái độ của cán bộ, công chức", "Staff attitude"),
    "total_time": ("Tổng thời gian so với quy định", "Total time against the legal limit"),
    "time_per_agency": ("Thời gian tại từng cơ quan", "Time at each agency"),
    "contacts": ("Số lần phải liên hệ", "Number of contacts"),
    "agencies": ("Số cơ quan phải liên hệ", "Number of agencies"),
    "desk_handling": ("Giải quyết tại bộ phận một cửa", "Handling at the desk"),
    "publicity": ("Công khai thủ tục hành chính", "Publicity of procedures"),
    "feedback_response": ("Tiếp nhận, xử lý phản ánh, kiến nghị", "Response to feedback"),
    "online_service": ("Dịch vụ công trực tuyến", "Online service"),
}
LEVELS: dict[str, tuple[str, str]] = {
    "very_satisfied": ("Rất hài lòng", "Very satisfied"),
    "satisfied": ("Hài lòng", "Satisfied"),
    "dissatisfied": ("Không hài lòng", "Dissatisfied"),
}
REQUIRED_CRITERIA = ("overall",)
