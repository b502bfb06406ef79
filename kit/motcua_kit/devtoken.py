"""A real access token from the development identity provider, for scripts and `make token`.

    python -m motcua_kit.devtoken --user tiepnhan.thachbinh
    python -m motcua_kit.devtoken --role reception --unit 000.00.08.H38
    python -m motcua_kit.devtoken --role citizen
    python -m motcua_kit.devtoken --client he-thong-cong-an       # client credentials (a system)

A person is signed in as a browser would sign them in: the authorization code flow with PKCE of
the public client `motcua-cli` (GET the authorize URL, follow the redirects to the provider's login
form, post the username and password, follow the redirects until the client's redirect URI brings
the code, exchange it at the token endpoint). The people, their passwords and the clients come from
deploy/dev-idp/people.json (`--people` or DEV_IDP_PEOPLE otherwise); the provider is `--issuer`,
else IDP_ISSUER, else OIDC_ISSUER, else http://localhost:8009. Only the token is printed.

Exit status 2, with one line on stderr, when the provider is not running or the person is unknown;
1 when the provider refuses (wrong password, an error in the flow).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

DEFAULT_ISSUER = "http://localhost:8009"
DEFAULT_PEOPLE = Path(__file__).resolve().parents[2] / "deploy" / "dev-idp" / "people.json"
CLI_CLIENT = "motcua-cli"
MAX_HOPS = 20


class DevTokenError(Exception):
    """What went wrong, in one line, and the exit status to leave with."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class ProviderNotRunning(DevTokenError):
    def __init__(self, issuer: str, detail: str) -> None:
        super().__init__(
            f"the development identity provider is not running at {issuer} ({detail}); "
            "start it with `make up`",
            status=2,
        )


# --- the directory -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    people: list[dict[str, Any]]
    clients: list[dict[str, Any]]

    @classmethod
    def load(cls, path: Path | str | None = None) -> Directory:
        path = Path(path or os.environ.get("DEV_IDP_PEOPLE") or DEFAULT_PEOPLE)
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(people=list(data["people"]), clients=list(data["clients"]))

    def person(self, username: str) -> dict[str, Any]:
        for person in self.people:
            if person["username"] == username:
                return person
        known = ", ".join(p["username"] for p in self.people)
        raise DevTokenError(f"no demo person {username!r} (known: {known})", status=2)

    def find(self, role: str, unit: str | None = None) -> dict[str, Any]:
        """The first demo person with `role` (and `unit`, when given; citizens have none)."""
        if role == "citizen":
            unit = None
        for person in self.people:
            if role in person["roles"] and (not unit or person.get("unit") == unit):
                return person
        known = ", ".join(f"{'/'.join(p['roles'])}@{p.get('unit') or '-'}" for p in self.people)
        raise DevTokenError(
            f"no demo person with role {role} and unit {unit or '(any)'} (known: {known})",
            status=2,
        )

    def client(self, client_id: str) -> dict[str, Any]:
        for client in self.clients:
            if client["client_id"] == client_id:
                return client
        raise DevTokenError(f"no client {client_id!r} in the demo directory", status=2)

    def system(self, role: str, unit: str | None) -> dict[str, Any] | None:
        """The client-credentials client with `role` (and `unit`), if any."""
        for client in self.clients:
            if role in client.get("roles", []) and (not unit or client.get("unit") == unit):
                return client
        return None


# --- the provider ------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page: action, method and the inputs' default values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "action": attributes.get("action", ""),
                    "method": attributes.get("method", "get").lower(),
                    "fields": {},
                    "types": set(),
                }
            )
        elif tag == "input" and self.forms and attributes.get("name"):
            form = self.forms[-1]
            form["fields"][attributes["name"]] = attributes.get("value", "")
            form["types"].add(attributes.get("type", "text").lower())


def login_form(html: str) -> dict[str, Any] | None:
    """The page's form with a password field, if it has one."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        if "password" in form["types"]:
            return form
    return None


@dataclass(frozen=True)
class AuthorizationRequest:
    """An authorization request in flight: the URL, and what its answer must be checked against."""

    url: str
    state: str
    verifier: str
    redirect_uri: str
    client: dict[str, Any]


@dataclass
class Provider:
    issuer: str
    timeout: float = 10.0
    http: requests.Session = field(default_factory=requests.Session)
    _metadata: dict[str, Any] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                response = self.http.get(url, timeout=self.timeout)
            except requests.ConnectionError as exc:
                raise ProviderNotRunning(self.issuer, "connection refused") from exc
            except requests.Timeout as exc:
                raise ProviderNotRunning(self.issuer, "no answer") from exc
            if response.status_code != 200:
                raise ProviderNotRunning(self.issuer, f"discovery answered {response.status_code}")
            self._metadata = response.json()
        return self._metadata

    def authorization_request(
        self, client: dict[str, Any], scope: str = "openid profile"
    ) -> AuthorizationRequest:
        """Where a browser goes to sign in for `client`, with a fresh PKCE verifier and state."""
        redirect_uri = client["redirect_uris"][0]
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        state = secrets.token_urlsafe(16)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "scope": scope,
                "state": state,
                "nonce": secrets.token_urlsafe(16),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        url = f"{self.metadata['authorization_endpoint']}?{query}"
        return AuthorizationRequest(url, state, verifier, redirect_uri, client)

    def redeem(self, request: AuthorizationRequest, location: str) -> str:
        """The access token for the code that `location` (the redirect URI) brings."""
        code = self._code(location, request.state)
        return self._exchange(code, request)

    def sign_in(self, username: str, password: str, client: dict[str, Any]) -> str:
        """The access token of `username`, through the authorization code flow with PKCE."""
        request = self.authorization_request(client)
        response = self._get(request.url)
        posted = False
        for _ in range(MAX_HOPS):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["location"])
                if target.split("?")[0] == request.redirect_uri:
                    return self.redeem(request, target)
                response = self._get(target)
                continue
            is_html = "html" in response.headers.get("content-type", "")
            form = login_form(response.text) if is_html else None
            if form is None:
                raise DevTokenError(
                    f"the provider answered {response.status_code} at {response.url.split('?')[0]}"
                    " with no login form and no redirect"
                )
            if posted:
                raise DevTokenError(
                    f"the provider refused the sign-in of {username} (wrong username or password)"
                )
            fields = {**form["fields"], "username": username, "password": password}
            action = urljoin(response.url, form["action"] or response.url)
            response = self.http.post(
                action, data=fields, allow_redirects=False, timeout=self.timeout
            )
            posted = True
        raise DevTokenError(f"more than {MAX_HOPS} redirects while signing in")

    def client_credentials(self, client: dict[str, Any]) -> str:
        """The access token of a system, through the client credentials grant."""
        response = self.http.post(
            self.metadata["token_endpoint"],
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
            timeout=self.timeout,
        )
        return self._token(response)

    def _get(self, url: str) -> requests.Response:
        try:
            return self.http.get(url, allow_redirects=False, timeout=self.timeout)
        except requests.ConnectionError as exc:
            raise ProviderNotRunning(self.issuer, "connection refused") from exc

    @staticmethod
    def _code(location: str, state: str) -> str:
        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        if "error" in params:
            raise DevTokenError(
                f"the provider refused: {params['error']} {params.get('error_description', '')}".strip()
            )
        if params.get("state") != state:
            raise DevTokenError("the provider's answer carries another state")
        if "code" not in params:
            raise DevTokenError("the provider's answer carries no code")
        return params["code"]

    def _exchange(self, code: str, request: AuthorizationRequest) -> str:
        client = request.client
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.verifier,
            "client_id": client["client_id"],
        }
        auth = None
        if client.get("client_secret"):
            auth = (client["client_id"], client["client_secret"])
        response = self.http.post(
            self.metadata["token_endpoint"], data=data, auth=auth, timeout=self.timeout
        )
        return self._token(response)

    @staticmethod
    def _token(response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            raise DevTokenError(
                f"the token endpoint answered {response.status_code}: "
                f"{body.get('error', '')} {body.get('error_description', '')}".strip()
            )
        return str(body["access_token"])


# --- what the command does ---------------------------------------------------------------------


def default_issuer() -> str:
    return os.environ.get("IDP_ISSUER") or os.environ.get("OIDC_ISSUER") or DEFAULT_ISSUER


def token_for(
    *,
    user: str | None = None,
    role: str | None = None,
    unit: str | None = None,
    client_id: str | None = None,
    issuer: str | None = None,
    password: str | None = None,
    directory: Directory | None = None,
) -> str:
    """An access token for a demo person (`user`, or `role` + `unit`) or a system (`client_id`,
    or `role` system)."""
    directory = directory or Directory.load()
    provider = Provider(issuer or default_issuer())
    if client_id is None and role and not user:
        system = directory.system(role, unit)
        if system is not None:
            client_id = system["client_id"]
    if client_id is not None:
        return provider.client_credentials(directory.client(client_id))
    if user:
        person = directory.person(user)
    elif role:
        person = directory.find(role, unit)
    else:
        raise DevTokenError("say who: --user, --role (and --unit) or --client", status=2)
    return provider.sign_in(
        person["username"], password or person["password"], directory.client(CLI_CLIENT)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m motcua_kit.devtoken",
        description="Print an access token from the development identity provider.",
    )
    parser.add_argument("--user", help="a demo person's username (deploy/dev-idp/people.json)")
    parser.add_argument("--role", help="the first demo person (or system) with this role")
    parser.add_argument("--unit", help="... and this unit")
    parser.add_argument("--client", help="a client-credentials client (another system)")
    parser.add_argument("--password", help="instead of the demo password of people.json")
    parser.add_argument(
        "--issuer", help=f"the provider (default: IDP_ISSUER, OIDC_ISSUER or {DEFAULT_ISSUER})"
    )
    parser.add_argument("--people", help="the demo directory (default: deploy/dev-idp/people.json)")
    args = parser.parse_args(argv)
    try:
        token = token_for(
            user=args.user,
            role=args.role,
            unit=args.unit or None,
            client_id=args.client,
            issuer=args.issuer,
            password=args.password,
            directory=Directory.load(args.people),
        )
    except DevTokenError as exc:
        print(f"devtoken: {exc}", file=sys.stderr)
        return exc.status
    except requests.RequestException as exc:
        print(f"devtoken: talking to the identity provider failed: {exc}", file=sys.stderr)
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
