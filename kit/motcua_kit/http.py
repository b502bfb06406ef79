"""HTTP entrypoints that answer JSON, authenticate callers, and never show a traceback.

    @http("POST", "/dossiers", roles=("reception",), scope="unit")
    def submit(self, request): ...            # request.officer is the verified Officer

    @http("GET", "/procedures", public=True)  # public only where the citizen needs it

Deny by default: an entrypoint that is not `public=True` must name the roles allowed and the
scope it serves (`motcua_kit.access.SCOPES`), or it refuses to start. The declaration is what
the generated authorization test (tests/test_authorization_matrix.py) reads, route by route.
Every answer carries `X-Request-Id` (the caller's, when well formed), which the audit trail keeps.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from motcua_kit.access import SCOPES
from motcua_kit.auth import TokenVerifier
from motcua_kit.db import settle_transactions
from motcua_kit.errors import ApiError, Problem

log = logging.getLogger(__name__)

JSON = "application/json; charset=utf-8"
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, default=str),
        status=status,
        headers=dict(headers or {}),
        content_type=JSON,
    )


class HttpEntrypoint(HttpRequestHandler):
    def __init__(
        self,
        method: str,
        url: str,
        roles: tuple[str, ...] = (),
        public: bool = False,
        scope: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not public and (not roles or scope not in SCOPES):
            raise ValueError(
                f"{method} {url}: name the roles allowed and a scope ({', '.join(SCOPES)}),"
                " or public=True"
            )
        self.roles = tuple(roles)
        self.public = public
        self.scope = scope
        # Expected failures are logged as warnings by nameko, not as crashes with tracebacks.
        kwargs.setdefault("expected_exceptions", (ApiError, ValidationError))
        super().__init__(method, url, **kwargs)

    def setup(self) -> None:
        if not self.public:  # one verifier (one key cache) per container, shared by its routes
            verifier = getattr(self.container, "motcua_token_verifier", None)
            if verifier is None:
                verifier = TokenVerifier.from_config(self.container.config)
                self.container.motcua_token_verifier = verifier
            self.verifier = verifier
        super().setup()

    def handle_request(self, request: Request) -> Response:
        given = request.headers.get("X-Request-Id", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        response: Response
        if not self.public:
            try:
                officer = self.verifier.verify(request.headers.get("Authorization"))
                if not officer.has_any(self.roles):
                    raise ApiError(
                        403,
                        "forbidden",
                        "Không có quyền thực hiện thao tác này",
                        extra={"required_roles": list(self.roles)},
                    )
            except ApiError as exc:
                response = self.response_from_exception(exc)
                response.headers["X-Request-Id"] = request_id
                return response
            hops = int(self.container.config.get("TRUSTED_PROXY_HOPS") or 0)
            request.officer = officer.at(client_address(request, hops), request_id)  # type: ignore[attr-defined]
        response = super().handle_request(request)
        response.headers["X-Request-Id"] = request_id
        return response

    def handle_result(self, event: Any, worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        result, exc_info = settle_transactions(worker_ctx, result, exc_info)
        return super().handle_result(event, worker_ctx, result, exc_info)

    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            return json_response(exc.to_dict(), status=exc.status)
        if isinstance(exc, ValidationError):
            return json_response(validation_error(exc).to_dict(), status=400)
        if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
            return json_response(
                {"error": "bad_request", "message": exc.description or "Yêu cầu không hợp lệ"},
                status=exc.code,
            )
        log.error("unhandled error in %s %s", self.method, self.url, exc_info=exc)
        return json_response(
            {"error": "internal_error", "message": "Lỗi hệ thống, vui lòng thử lại sau"}, status=500
        )


http = HttpEntrypoint.decorator


def validation_error(exc: ValidationError, status: int = 400) -> ApiError:
    """Every field problem at once, each with a machine code and a Vietnamese message."""
    return ApiError(
        status,
        "validation_failed",
        "Dữ liệu không hợp lệ",
        problems=list(problems_from(exc.messages)),
    )


def problems_from(messages: Any, prefix: str = "") -> list[Problem]:
    found: list[Problem] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":  # marshmallow's key for "this whole object": name the object
                path = prefix or "body"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            found.extend(problems_from(value, path))
    elif isinstance(messages, list):
        for item in messages:
            if isinstance(item, Problem):
                found.append(
                    Problem(prefix or item.field, item.code, item.message, item.message_en)
                )
            elif isinstance(item, (dict, list)):
                found.extend(problems_from(item, prefix))
            else:
                found.append(coded(prefix, str(item)))
    else:
        found.append(coded(prefix, str(messages)))
    return found


# marshmallow's default messages, given a machine code and a Vietnamese wording.
_DEFAULTS = {
    "Missing data for required field.": ("required", "Thiếu trường bắt buộc"),
    "Unknown field.": ("unknown_field", "Trường không được hỗ trợ"),
    "Field may not be null.": ("null", "Trường không được để trống"),
    "Not a valid string.": ("type", "Phải là chuỗi ký tự"),
    "Not a valid integer.": ("type", "Phải là số nguyên"),
    "Not a valid boolean.": ("type", "Phải là đúng/sai (true/false)"),
    "Not a valid email address.": ("email", "Địa chỉ thư điện tử không hợp lệ"),
    "Not a valid list.": ("type", "Phải là danh sách"),
    "Invalid input type.": ("type", "Kiểu dữ liệu không hợp lệ"),
    "Not a valid mapping type.": ("type", "Phải là đối tượng JSON"),
}


def coded(field: str, message: str) -> Problem:
    """Turn a marshmallow message into a Problem; ours are written as 'code|Vietnamese text'."""
    if "|" in message:
        code, text = message.split("|", 1)
        return Problem(field, code, text)
    code, text = _DEFAULTS.get(message, ("invalid", message))
    return Problem(field, code, text, message_en=message)


def load_json(request: Request, schema: Schema) -> Any:
    """Parse the request body with `schema`; 400 naming every problem, 415 for non-JSON."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Nội dung phải là JSON (application/json)")
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ApiError(400, "malformed_json", f"JSON không hợp lệ: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "Nội dung phải là một đối tượng JSON")
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def load_query(request: Request, schema: Schema) -> Any:
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as exc:
        raise validation_error(exc) from exc


def client_address(request: Request, trusted_proxies: int = 0) -> str:
    """The citizen's address, for rate limits. Behind N trusted reverse proxies (config
    `TRUSTED_PROXY_HOPS`), take the Nth address from the right of X-Forwarded-For; without that
    setting the header is ignored, since anyone can send it."""
    if trusted_proxies > 0:
        forwarded = [
            a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()
        ]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return request.remote_addr or "unknown"
