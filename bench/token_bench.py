"""What verifying an access token costs a service: the kit's TokenVerifier on distinct RS256 and
ES256 tokens, keys from a real JWKS over HTTP (fetched once, then cached), one thread.

    .venv/bin/python bench/token_bench.py [--tokens 5000]

Prints microseconds of CPU per verification for each algorithm and the first call's cost (the
JWKS fetch), and writes bench/results/tokens-<time>.json. The whole-request figure (intake's
POST p99 at a fixed open-loop rate, with this in the path) is the platform bench's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "kit"))

from common import busy_before_start, machine, write_results  # noqa: E402
from motcua_kit.auth import KeySet, TokenVerifier  # noqa: E402
from motcua_kit.local_issuer import LocalIssuer  # noqa: E402


def measure(issuer: LocalIssuer, alg: str, n: int) -> dict[str, Any]:
    issuer.rotate(keep_old=False, alg=alg)
    verifier = TokenVerifier(issuer.url, keys=KeySet(issuer.url))
    tokens = [
        issuer.token(roles=["reception"], unit="000.00.08.H38", sub=f"o-{i}") for i in range(n)
    ]
    first_wall = time.perf_counter()
    verifier.verify(f"Bearer {tokens[0]}")  # fetches the discovery document and the JWKS
    first_ms = (time.perf_counter() - first_wall) * 1000
    cpu, wall = time.process_time(), time.perf_counter()
    for token in tokens:
        verifier.verify(f"Bearer {token}")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "tokens": n,
        "cpu_us_per_verification": round(cpu / n * 1e6, 1),
        "wall_us_per_verification": round(wall / n * 1e6, 1),
        "first_call_ms_with_jwks_fetch": round(first_ms, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=5000, help="verifications per algorithm")
    args = parser.parse_args(argv)
    if args.tokens < 1:
        parser.error("--tokens must be at least 1")
    started = datetime.now(UTC)
    busy = busy_before_start()
    with LocalIssuer(Path(tempfile.mkdtemp(prefix="token-bench-"))) as issuer:
        figures = {alg: measure(issuer, alg, args.tokens) for alg in ("RS256", "ES256")}
    for alg, f in figures.items():
        print(
            f"{alg}: {f['cpu_us_per_verification']} µs CPU per verification"
            f" ({f['tokens']} tokens; first call with the JWKS fetch"
            f" {f['first_call_ms_with_jwks_fetch']} ms)"
        )
    path = write_results(
        "tokens",
        started,
        {"machine": machine(), "busy_at_start": busy, "verification": figures},
    )
    print(f"results {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
