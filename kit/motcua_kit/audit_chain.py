"""The audit trail's hash chain, without I/O: the canonical encoding, the hashes, and the checks
that name the first record of a chain that was altered, deleted, inserted or reordered.

A record's hash is SHA-256 (hex) over the canonical encoding of
`{"chain", "seq", "at", "actor", "origin", "action", "details", "prev_hash"}`: JSON with sorted
keys, no whitespace, non-ASCII characters as themselves, UTF-8; `at` as ISO 8601 in UTC with
microseconds (`2026-03-02T01:02:03.000004+00:00`). The first record of a chain has
`prev_hash` GENESIS. A checkpoint's hash is the same over `{"seq", "at", "heads", "prev_hash"}`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
RECORD_FIELDS = ("chain", "seq", "at", "actor", "origin", "action", "details", "prev_hash")


def utc_iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be aware (timestamptz), not naive")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def as_json(value: Any) -> Any:
    """`value` as it will read back from jsonb (tuples as lists, dates as strings): the hash
    is taken over what is stored, so that it can be taken again from what is read."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str, allow_nan=False))


def record_hash(record: Mapping[str, Any], seq: int | None = None) -> str:
    """The hash of a record's fields (at position `seq` instead of its own, when given)."""
    fields = {name: record[name] for name in RECORD_FIELDS}
    fields["at"] = utc_iso(record["at"])
    if seq is not None:
        fields["seq"] = seq
    return hashlib.sha256(canonical(fields)).hexdigest()


def checkpoint_hash(seq: int, at: datetime, heads: Sequence[Mapping[str, Any]], prev: str) -> str:
    fields = {"seq": seq, "at": utc_iso(at), "heads": list(heads), "prev_hash": prev}
    return hashlib.sha256(canonical(fields)).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first bad place of a chain: its record `seq`, what happened, a plain sentence."""

    chain: str
    seq: int
    kind: str  # altered, deleted, inserted, reordered, checkpoint
    sentence: str


def first_break(chain: str, records: Sequence[Mapping[str, Any]]) -> Break | None:
    """Walk one chain's records in `seq` order; None when every record follows its predecessor."""
    expected_seq, expected_prev = 1, GENESIS
    by_hash = {r["hash"]: r for r in records}
    for index, r in enumerate(records):
        seq = int(r["seq"])
        if seq > expected_seq:
            return Break(
                chain,
                expected_seq,
                "deleted",
                f"chain {chain}: record #{expected_seq} is missing (deleted): "
                f"#{seq} comes after #{expected_seq - 1}",
            )
        if seq < expected_seq:  # only without the unique constraint
            return Break(
                chain, seq, "inserted", f"chain {chain}: a second record #{seq} was inserted"
            )
        if record_hash(r) != r["hash"]:
            return _unmatched(chain, r, records[index - 1] if index else None, records)
        if r["prev_hash"] != expected_prev:
            return _not_following(chain, r, records[index - 1] if index else None, by_hash)
        expected_seq, expected_prev = seq + 1, r["hash"]
    return None


def _unmatched(
    chain: str,
    r: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    records: Sequence[Mapping[str, Any]],
) -> Break:
    """A record whose contents do not give its hash: moved (its contents were written at another
    position), pushed down by a record inserted before it, or altered."""
    seq = int(r["seq"])
    candidates = {int(o["seq"]) for o in records} | {seq - 1, seq + 1}
    written_at = next(
        (s for s in sorted(candidates) if s > 0 and s != seq and record_hash(r, s) == r["hash"]),
        None,
    )
    if written_at == seq - 1 and before is not None and before["prev_hash"] == r["prev_hash"]:
        return Break(
            chain,
            seq - 1,
            "inserted",
            f"chain {chain}: record #{seq - 1} was inserted: it claims the place of the record "
            f"written as #{seq - 1}, which now stands at #{seq}",
        )
    if written_at is not None:
        return Break(
            chain,
            seq,
            "reordered",
            f"chain {chain}: record #{seq} is out of order: it was written as #{written_at}",
        )
    return Break(
        chain,
        seq,
        "altered",
        f"chain {chain}: record #{seq} was altered: its contents do not match its hash",
    )


def _not_following(
    chain: str,
    r: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    by_hash: Mapping[str, Mapping[str, Any]],
) -> Break:
    seq = int(r["seq"])
    linked = by_hash.get(r["prev_hash"])
    if linked is not None:
        return Break(
            chain,
            seq,
            "reordered",
            f"chain {chain}: record #{seq} is out of order: it follows #{linked['seq']}, "
            f"not #{seq - 1}",
        )
    if before is not None:  # a consistent record that #seq was not written after: replaced
        return Break(
            chain,
            seq - 1,
            "altered",
            f"chain {chain}: record #{seq - 1} was altered or replaced (and its hash recomputed): "
            f"#{seq} was not written after it",
        )
    return Break(
        chain,
        seq,
        "inserted",
        f"chain {chain}: record #{seq} does not follow any record of the chain (inserted)",
    )


def head_break(
    chain: str, records: Sequence[Mapping[str, Any]], head: Mapping[str, Any] | None
) -> Break | None:
    """The chain against its head row, kept with each append."""
    last = records[-1] if records else None
    last_seq = int(last["seq"]) if last else 0
    if head is None:
        if last is None:
            return None
        return Break(
            chain,
            1,
            "inserted",
            f"chain {chain}: its records were not appended through the audit trail (no head)",
        )
    head_seq = int(head["seq"])
    if head_seq > last_seq:
        return Break(
            chain,
            last_seq + 1,
            "deleted",
            f"chain {chain}: record #{last_seq + 1} is missing (deleted): the chain was "
            f"{head_seq} records long",
        )
    if head_seq < last_seq:
        return Break(
            chain,
            head_seq + 1,
            "inserted",
            f"chain {chain}: record #{head_seq + 1} was inserted after the last appended "
            f"record #{head_seq}",
        )
    assert last is not None
    if last["hash"] != head["hash"]:
        return Break(
            chain,
            head_seq,
            "altered",
            f"chain {chain}: record #{head_seq} is not the record appended as #{head_seq}: "
            "a record at or before it was changed and the chain recomputed",
        )
    return None


def checkpoint_problems(checkpoints: Sequence[Mapping[str, Any]]) -> list[str]:
    """The checkpoints' own chain: each follows the previous one and matches its hash."""
    problems: list[str] = []
    expected_seq, expected_prev = 1, GENESIS
    for c in checkpoints:
        seq = int(c["seq"])
        if seq != expected_seq or c["prev_hash"] != expected_prev:
            problems.append(f"checkpoint #{expected_seq} is missing or was replaced")
        if checkpoint_hash(seq, c["at"], c["heads"], c["prev_hash"]) != c["hash"]:
            problems.append(f"checkpoint #{seq} was altered: its contents do not match its hash")
        expected_seq, expected_prev = seq + 1, c["hash"]
    return problems


def checkpointed_breaks(
    checkpoints: Sequence[Mapping[str, Any]], hash_at: Mapping[tuple[str, int], str]
) -> dict[str, Break]:
    """Every head the checkpoints hold against the records now (`hash_at`: (chain, seq) to the
    stored hash): per chain, the earliest record that is no longer what was checkpointed."""
    breaks: dict[str, Break] = {}
    for c in checkpoints:
        for head in c["heads"]:
            chain, head_seq = str(head["chain"]), int(head["seq"])
            now = hash_at.get((chain, head_seq))
            if now == head["hash"]:
                continue
            found = breaks.get(chain)
            if found is None or head_seq < found.seq:
                state = "is missing" if now is None else "differs"
                breaks[chain] = Break(
                    chain,
                    head_seq,
                    "checkpoint",
                    f"chain {chain}: record #{head_seq} {state} from checkpoint #{c['seq']} of "
                    f"{utc_iso(c['at'])}: a record at or before #{head_seq} was changed "
                    "after that checkpoint",
                )
    return breaks
