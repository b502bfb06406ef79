"""The development identity provider (deploy/dev-idp) as a subprocess, for tests.

    idp = DevIdp(tmp_path).start()      # node server.js on a free port, its own keys file
    idp.issuer                          # http://127.0.0.1:<port>
    idp.restart(new_keys=True)          # same port, a fresh keys file: a key rotation
    idp.stop()

`npm ci` runs once in deploy/dev-idp when node_modules is missing or package-lock.json changed
since it last ran (the stamp is node_modules/.motcua-lock, as scripts/up.sh keeps it).
"""

from __future__ import annotations

import filecmp
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
IDP_DIR = REPO / "deploy" / "dev-idp"
PEOPLE_FILE = IDP_DIR / "people.json"
LOCK = IDP_DIR / "package-lock.json"
STAMP = IDP_DIR / "node_modules" / ".motcua-lock"


class DevIdpError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_installed() -> None:
    """`npm ci` in deploy/dev-idp unless node_modules was installed from this package-lock."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise DevIdpError(
            "the development identity provider needs Node.js 20+ and npm (`node`, `npm`)"
        )
    if STAMP.is_file() and filecmp.cmp(STAMP, LOCK, shallow=False):
        return
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=IDP_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise DevIdpError(f"npm ci in {IDP_DIR} failed:\n{done.stdout}\n{done.stderr}")
    shutil.copyfile(LOCK, STAMP)


class DevIdp:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.generation = 0
        self.keys_file = self.workdir / "idp-keys-0.json"
        self.log_file = self.workdir / "idp.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DevIdp:
        ensure_installed()
        env = {
            **os.environ,
            "IDP_ISSUER": self.issuer,
            "IDP_PORT": str(self.port),
            "IDP_HOST": "127.0.0.1",
            "IDP_KEYS_FILE": str(self.keys_file),
            "IDP_PEOPLE_FILE": str(PEOPLE_FILE),
        }
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            ["node", "server.js"], cwd=IDP_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DevIdpError(f"the provider exited ({self.process.returncode}):\n{self.log()}")
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise DevIdpError(f"the provider did not answer within 30 s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, new_keys: bool = False) -> DevIdp:
        """Stop and start again on the same port; with `new_keys`, from a fresh keys file."""
        self.stop()
        if new_keys:
            self.generation += 1
            self.keys_file = self.workdir / f"idp-keys-{self.generation}.json"
        return self.start()

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        response = requests.get(self.discovery_url, timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def config(self) -> dict[str, Any]:
        """The settings a service verifying this provider's tokens gets."""
        return {"OIDC_ISSUER": self.issuer, "OIDC_AUDIENCE": "motcua"}

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")[-4000:]


# --- a real browser on the login page -----------------------------------------------------------

# Debian's Chromium, launched by Playwright (which cannot download its own browser here).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_sign_in(
    *,
    chromium: str,
    url: str,
    redirect_uri: str,
    username: str,
    password: str,
    wrong_password: str,
    artifacts: Path,
) -> dict[str, Any]:
    """Open `url` (an authorize URL) in Chromium, try `wrong_password` then `password` on the
    provider's login page, and report what the page showed and where the browser was sent.

    Run in a plain Python process: Playwright's sync API does not work under eventlet. On failure
    the page is saved to `artifacts` (login.png, login.html) before the error propagates."""
    from playwright.sync_api import sync_playwright

    to_client: list[str] = []
    seen: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(locale="vi-VN")
        page.on(
            "request", lambda r: to_client.append(r.url) if r.url.startswith(redirect_uri) else None
        )
        try:
            page.goto(url)
            seen["lang"] = page.locator("html").get_attribute("lang")
            seen["heading"] = page.locator("h1").inner_text()
            page.fill("#username", username)
            page.fill("#password", wrong_password)
            page.click("button[type=submit]")
            page.wait_for_selector("#login-error")
            seen["refusal"] = page.locator("#login-error").inner_text()
            seen["redirected_before_sign_in"] = list(to_client)
            page.fill("#password", password)
            with page.expect_request(lambda r: r.url.startswith(redirect_uri)) as sent:
                page.click("button[type=submit]")
            seen["location"] = sent.value.url
        except Exception:
            artifacts.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(artifacts / "login.png"), full_page=True)
            (artifacts / "login.html").write_text(page.content(), encoding="utf-8")
            print(f"the browser's page is saved in {artifacts} (login.png, login.html)")
            raise
        finally:
            browser.close()
    return seen


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description="drive the dev provider's login page in Chromium")
    parser.add_argument("action", choices=["browser-sign-in"])
    for option in ("chromium", "url", "redirect-uri", "username", "password", "wrong-password"):
        parser.add_argument(f"--{option}", required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    args = parser.parse_args()
    result = browser_sign_in(
        chromium=args.chromium,
        url=args.url,
        redirect_uri=args.redirect_uri,
        username=args.username,
        password=args.password,
        wrong_password=args.wrong_password,
        artifacts=args.artifacts,
    )
    print(json.dumps(result, ensure_ascii=False))
