"""Generate deploy/keycloak/motcua-realm.json (Keycloak's realm import) from the people and clients
of the development identity provider, deploy/dev-idp/people.json, so both hold the same demo people.

    python deploy/keycloak/make_realm.py            # write motcua-realm.json
    python deploy/keycloak/make_realm.py --check    # exit 1 if the committed file is out of date

The realm puts in every access token, through the client scope `motcua`: the audience `motcua`,
`sub`, `preferred_username`, `name` (the person's full name in Vietnamese order, from the user
attribute `full_name`), `unit`, `agency`, `citizen_id` (user attributes) and `roles` (the realm roles,
a flat list). Those are the claim names the services read by default (OIDC_CLAIM_*). Development
only: the passwords and secrets are those of people.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEOPLE = HERE.parent / "dev-idp" / "people.json"
REALM_FILE = HERE / "motcua-realm.json"
REALM = "motcua"
AUDIENCE = "motcua"
SCOPE = "motcua"
ROLES = {
    "reception": "Bộ phận tiếp nhận và trả kết quả (reception desk)",
    "processing": "Cán bộ xử lý của cơ quan (an agency's processing officer)",
    "supervisor": "Giám sát các đơn vị (oversight of units)",
    "admin": "Quản trị nền tảng (the platform's operator)",
    "citizen": "Công dân theo dõi hồ sơ của mình (a citizen)",
    "system": "Hệ thống khác gọi API (another system, client credentials)",
}
# User attributes copied from people.json, each put in the access token under its own name.
TOKEN_ATTRIBUTES = ("unit", "agency", "citizen_id")
PROFILE_ATTRIBUTES = ("full_name", "unit", "agency", "citizen_id", "phone_number")
ID_NAMESPACE = uuid.UUID("6f1f0b9e-5b0e-4c55-9d8e-6d6f74637561")  # stable ids: stable `sub`


def user_id(name: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, name))


def attribute_mapper(attribute: str, claim: str) -> dict[str, Any]:
    return {
        "name": claim,
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-attribute-mapper",
        "consentRequired": False,
        "config": {
            "user.attribute": attribute,
            "claim.name": claim,
            "jsonType.label": "String",
            "multivalued": "false",
            "access.token.claim": "true",
            "id.token.claim": "true",
            "userinfo.token.claim": "true",
            "introspection.token.claim": "true",
        },
    }


def mappers() -> list[dict[str, Any]]:
    return [
        {
            "name": "audience motcua",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "consentRequired": False,
            "config": {
                "included.custom.audience": AUDIENCE,
                "access.token.claim": "true",
                "id.token.claim": "false",
                "introspection.token.claim": "true",
            },
        },
        {
            "name": "sub",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-sub-mapper",
            "consentRequired": False,
            "config": {"access.token.claim": "true", "introspection.token.claim": "true"},
        },
        {
            "name": "preferred_username",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-property-mapper",
            "consentRequired": False,
            "config": {
                "user.attribute": "username",
                "claim.name": "preferred_username",
                "jsonType.label": "String",
                "access.token.claim": "true",
                "id.token.claim": "true",
                "userinfo.token.claim": "true",
                "introspection.token.claim": "true",
            },
        },
        attribute_mapper("full_name", "name"),
        *(attribute_mapper(a, a) for a in TOKEN_ATTRIBUTES),
        {
            "name": "roles",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-realm-role-mapper",
            "consentRequired": False,
            "config": {
                "claim.name": "roles",
                "jsonType.label": "String",
                "multivalued": "true",
                "usermodel.realmRoleMapping.rolePrefix": "",
                "access.token.claim": "true",
                "id.token.claim": "false",
                "userinfo.token.claim": "true",
                "introspection.token.claim": "true",
            },
        },
    ]


def split_name(full: str) -> tuple[str, str]:
    """(given names, family name): Vietnamese names put the family name first."""
    family, _, given = full.partition(" ")
    return given or family, family


def attributes(entry: dict[str, Any]) -> dict[str, list[str]]:
    found = {"full_name": [entry["name"]]}
    for name in PROFILE_ATTRIBUTES[1:]:
        if entry.get(name):
            found[name] = [str(entry[name])]
    return found


def person(entry: dict[str, Any]) -> dict[str, Any]:
    given, family = split_name(entry["name"])
    user: dict[str, Any] = {
        "id": user_id(entry["username"]),
        "username": entry["username"],
        "enabled": True,
        "firstName": given,
        "lastName": family,
        "attributes": attributes(entry),
        "credentials": [{"type": "password", "value": entry["password"], "temporary": False}],
        "realmRoles": list(entry["roles"]),
        "requiredActions": [],
    }
    if entry.get("email"):
        user["email"] = entry["email"]
        user["emailVerified"] = True
    return user


def service_account(entry: dict[str, Any]) -> dict[str, Any]:
    """The user Keycloak signs a client's client-credentials tokens as: its roles and unit."""
    return {
        "id": user_id("service-account-" + entry["client_id"]),
        "username": "service-account-" + entry["client_id"],
        "enabled": True,
        "serviceAccountClientId": entry["client_id"],
        "attributes": attributes(entry),
        "realmRoles": list(entry["roles"]),
        "requiredActions": [],
    }


def client(entry: dict[str, Any]) -> dict[str, Any]:
    grants = set(entry["grant_types"])
    representation: dict[str, Any] = {
        "clientId": entry["client_id"],
        "name": entry["name"],
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": bool(entry.get("public")),
        "standardFlowEnabled": "authorization_code" in grants,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": "client_credentials" in grants,
        "redirectUris": list(entry.get("redirect_uris", [])),
        "webOrigins": [],
        "fullScopeAllowed": True,
        "defaultClientScopes": [SCOPE],
        "optionalClientScopes": [],
        "attributes": {},
    }
    if not entry.get("public"):
        representation["clientAuthenticatorType"] = "client-secret"
        representation["secret"] = entry["client_secret"]
    if "authorization_code" in grants:
        representation["attributes"]["pkce.code.challenge.method"] = "S256"
    if entry.get("post_logout_redirect_uris"):
        representation["attributes"]["post.logout.redirect.uris"] = "##".join(
            entry["post_logout_redirect_uris"]
        )
    return representation


def user_profile() -> dict[str, Any]:
    """Keycloak's declarative user profile: the standard attributes, and motcua's, which only
    administrators see and change (a person cannot move themselves to another unit)."""
    admin_only = {"view": ["admin"], "edit": ["admin"]}
    standard = [
        {
            "name": "username",
            "displayName": "${username}",
            "validations": {"length": {"min": 3, "max": 255}, "username-prohibited-characters": {}},
            "permissions": {"view": ["admin", "user"], "edit": ["admin"]},
            "multivalued": False,
        },
        {
            "name": "email",
            "displayName": "${email}",
            "validations": {"email": {}, "length": {"max": 255}},
            "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
            "multivalued": False,
        },
        {
            "name": "firstName",
            "displayName": "${firstName}",
            "validations": {"length": {"max": 255}},
            "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
            "multivalued": False,
        },
        {
            "name": "lastName",
            "displayName": "${lastName}",
            "validations": {"length": {"max": 255}},
            "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
            "multivalued": False,
        },
    ]
    ours = [
        {"name": name, "displayName": name, "permissions": admin_only, "multivalued": False}
        for name in PROFILE_ATTRIBUTES
    ]
    return {"attributes": standard + ours, "groups": []}


def realm(directory: dict[str, Any]) -> dict[str, Any]:
    systems = [c for c in directory["clients"] if "client_credentials" in c["grant_types"]]
    return {
        "realm": REALM,
        "displayName": "motcua — Một cửa (phát triển / development)",
        "enabled": True,
        "sslRequired": "external",
        "registrationAllowed": False,
        "loginWithEmailAllowed": False,
        "bruteForceProtected": True,
        "internationalizationEnabled": True,
        "supportedLocales": ["vi", "en"],
        "defaultLocale": "vi",
        "accessTokenLifespan": 12 * 60 * 60,
        "defaultDefaultClientScopes": [SCOPE],
        "defaultOptionalClientScopes": [],
        "roles": {
            "realm": [
                {"name": name, "description": description, "composite": False}
                for name, description in ROLES.items()
            ]
        },
        "clientScopes": [
            {
                "name": SCOPE,
                "description": "What motcua's services read in an access token",
                "protocol": "openid-connect",
                "attributes": {
                    "include.in.token.scope": "true",
                    "display.on.consent.screen": "false",
                },
                "protocolMappers": mappers(),
            }
        ],
        "clients": [client(c) for c in directory["clients"]],
        "users": [person(p) for p in directory["people"]] + [service_account(s) for s in systems],
        "components": {
            "org.keycloak.userprofile.UserProfileProvider": [
                {
                    "providerId": "declarative-user-profile",
                    "subComponents": {},
                    "config": {
                        "kc.user.profile.config": [
                            json.dumps(user_profile(), ensure_ascii=False, separators=(",", ":"))
                        ]
                    },
                }
            ]
        },
    }


def render(directory: dict[str, Any]) -> str:
    return json.dumps(realm(directory), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = render(json.loads(PEOPLE.read_text(encoding="utf-8")))
    if args.check:
        if not REALM_FILE.is_file() or REALM_FILE.read_text(encoding="utf-8") != text:
            print(f"{REALM_FILE} is out of date: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    REALM_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {REALM_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
