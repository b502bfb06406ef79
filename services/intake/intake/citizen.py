"""The citizen's side of intake's HTTP API: the key read from a POST body (JSON or an HTML form)
or from the link's `t`, and answers that no cache, proxy or referrer keeps."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError
from motcua_kit.http import json_response, load_json, validation_error
from werkzeug.wrappers import Request, Response

from intake.domain.lookup import LINK, PIN, Credential

FORM = "application/x-www-form-urlencoded"
# A lookup answer is personal to whoever holds the key: not cached, and a page opened with the
# link secret in its URL does not send that URL on as a Referer.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def load_body(request: Request, schema: Schema) -> Any:
    """A POST body as JSON or as an HTML form, loaded with `schema` (400 naming every problem)."""
    if request.mimetype == FORM:
        try:
            return schema.load(request.form.to_dict())
        except ValidationError as exc:
            raise validation_error(exc) from exc
    return load_json(request, schema)


def credential(values: dict[str, Any]) -> Credential:
    """The key the schema let through: the link secret `t` or the PIN."""
    if values.get("t") is not None:
        return Credential(LINK, str(values["t"]))
    return Credential(PIN, str(values["pin"]))


def answer(status: int, body: dict[str, Any], now: datetime) -> Response:
    headers = dict(PRIVATE)
    if status == 429:  # locked: say when, also to machines
        wait = (datetime.fromisoformat(body["retry_at"]) - now).total_seconds()
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return json_response(body, status, headers)


def private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response
