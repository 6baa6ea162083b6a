"""Annotator pseudonyms: a person → `ann-NNN`, the same across pulls and projects.

The map lives outside the repository (default `~/.config/khc/pseudonyms.json`, or
`$KHC_PSEUDONYM_MAP`), written atomically with mode 0600. It is keyed by
HMAC-SHA256(key, sha256(normalised email)), so a dictionary of addresses does not reverse
it without the key; the key is `$KHC_PSEUDONYM_KEY`, or else a file beside the map
(`pseudonyms.key`, mode 0600) made on first use. A map of the first format (keyed by the
plain sha256) is migrated once, in place: every entry's key becomes the HMAC of its old key,
so every person keeps their pseudonym and the plain hashes leave the disk. The map also
remembers each (server, user id) it saw with an address, so a user deleted from Label Studio
(whose annotations the export still holds, without an address) keeps their pseudonym.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builders.errors import fail
from builders.files import write_whole

FORMAT = "khc-pseudonyms-v2"
PSEUDONYM = re.compile(r"ann-[0-9]{3,}")  # the only shape a pull writes into `completed_by`
_CHECK = b"khc pseudonym key check"
KEY_FIX = "set KHC_PSEUDONYM_KEY to the key this map was made with, or restore the key file beside it"


def default_map_path() -> Path:
    if os.environ.get("KHC_PSEUDONYM_MAP"):
        return Path(os.environ["KHC_PSEUDONYM_MAP"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "khc" / "pseudonyms.json"


def key_path(map_path: Path) -> Path:
    return map_path.with_suffix(".key")


class Pseudonyms:
    """The map `path` (read, and migrated if it is of the first format, on construction)."""

    def __init__(self, path: Path):
        self.path = path
        raw = _read_json(path) if path.exists() else None
        self.secret = _secret(path, create=raw is None or "format" not in raw)
        self.map: dict[str, str] = {}
        self.user_ids: dict[str, str] = {}  # HMAC of (server, user id) → pseudonym, for users deleted later
        if raw is None:
            return
        if "format" not in raw:  # first format: sha256(email) → pseudonym
            self.map = {self._hmac(old): name for old, name in _users(raw, path).items()}
            self.save()
            return
        if raw.get("format") != FORMAT:
            fail(f"unknown pseudonym map format {raw.get('format')!r}", file=str(path), fix="upgrade khc")
        if not hmac.compare_digest(str(raw.get("key_check", "")), self._check()):
            fail("the pseudonym key does not match this map (made with another key)", file=str(path), fix=KEY_FIX)
        self.map = _users(raw, path)
        self.user_ids = _users(raw, path, "user_ids")

    def _hmac(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def _check(self) -> str:
        return hmac.new(self.secret, _CHECK, hashlib.sha256).hexdigest()[:16]

    def key(self, email: str) -> str:
        return self._hmac(hashlib.sha256(email.strip().lower().encode()).hexdigest())

    def of(self, email: str) -> str:
        key = self.key(email)
        if key not in self.map:
            taken = [int(name.removeprefix("ann-")) for name in self.map.values()]
            self.map[key] = f"ann-{max(taken, default=0) + 1:03d}"
        return self.map[key]

    def of_user(self, server: str, user_id: object, email: str | None) -> str:
        """A user's pseudonym by address; by server and user id once the address is gone, so a
        person deleted from Label Studio keeps the pseudonym their annotations had."""
        alias = self._hmac(f"user-id:{server}:{user_id}")
        if email:
            self.user_ids[alias] = self.of(email)
        return self.user_ids.get(alias) or self.of(f"deleted-user-{user_id}")

    def save(self) -> None:
        data = {"format": FORMAT, "key_check": self._check(), "users": self.map, "user_ids": self.user_ids}
        write_private(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")


@contextmanager
def locked(map_path: Path) -> Iterator[None]:
    """Hold the map's lock: two pulls at once never give one pseudonym to two people."""
    _private_folder(map_path.parent)
    fd = os.open(map_path.parent / f".{map_path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_private(path: Path, text: str) -> None:
    """Write `path` with mode 0600, atomically: a reader finds the old file or the new one."""
    _private_folder(path.parent)
    write_whole(path, text, mode=0o600)


def _private_folder(folder: Path) -> None:
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(f"the pseudonym map is not JSON ({exc})", file=str(path), fix="restore it from your backup")
    if not isinstance(data, dict):
        fail("the pseudonym map is not a JSON object", file=str(path), fix="restore it from your backup")
    return data


def _users(raw: dict, path: Path, section: str = "users") -> dict[str, str]:
    users = raw.get(section, {})
    bad = sorted(str(v) for v in (users.values() if isinstance(users, dict) else [users]) if not _is_pseudonym(v))
    if bad:
        fail(
            f"the pseudonym map holds entries that are not pseudonyms ann-NNN: {bad[:5]}",
            file=str(path),
            fix="restore the map from your backup; never edit it by hand",
        )
    return dict(users)


def _is_pseudonym(value: object) -> bool:
    return isinstance(value, str) and PSEUDONYM.fullmatch(value) is not None


def _secret(map_path: Path, *, create: bool) -> bytes:
    """The HMAC key: `$KHC_PSEUDONYM_KEY`, or the key file beside the map (made only for a new map)."""
    if os.environ.get("KHC_PSEUDONYM_KEY"):
        value = os.environ["KHC_PSEUDONYM_KEY"]
        if len(value) < 16:
            fail("KHC_PSEUDONYM_KEY is shorter than 16 characters", fix="use a long random value, e.g. 64 hex digits")
        return value.encode()
    path = key_path(map_path)
    if not path.exists():
        if not create:
            fail("the pseudonym key is missing", file=str(path), fix=KEY_FIX)
        _private_folder(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another pull made it just now
            return path.read_text(encoding="ascii").strip().encode()
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())  # without it the map cannot be read: never lose it
    return path.read_text(encoding="ascii").strip().encode()
