"""Field encryption for identifying data (name, birth date, contact), AES-256-GCM.

The key is 32 random bytes, written as URL-safe base64. It comes from `DIVERT_KEY` (the key itself),
else from the file named by `DIVERT_KEY_FILE`, else from the default key file
`$XDG_CONFIG_HOME/divert/registry.key` (`~/.config/divert/registry.key`). It is never stored in the
database: the database keeps only a check value (an HMAC of a constant) so that a wrong key is
refused with a clear message instead of producing garbage.

Each value is encrypted with a fresh 96-bit nonce and, as associated data, the participant's code
and the field name, so a ciphertext cannot be moved to another person or field unnoticed. Stored
form: `v1:` + base64(nonce || ciphertext+tag).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from divert.errors import DivertError, InputError

KEY_ENV = "DIVERT_KEY"
KEY_FILE_ENV = "DIVERT_KEY_FILE"
_CHECK_LABEL = b"divert-registry-key-check-v1"


class KeyProblem(DivertError):
    """The encryption key is missing, malformed or not this registry's."""


def default_key_file() -> Path:
    """`$XDG_CONFIG_HOME/divert/registry.key`, by default `~/.config/divert/registry.key`."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "divert" / "registry.key"


def key_file_path() -> Path:
    """The key file divert would read: `DIVERT_KEY_FILE`, else the default key file."""
    named = os.environ.get(KEY_FILE_ENV)
    return Path(named) if named else default_key_file()


def decode_key(text: str, source: str) -> bytes:
    """Decode a URL-safe base64 key of 32 bytes; errors name where the key came from."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii") + b"==")
    except (ValueError, UnicodeEncodeError):
        raise KeyProblem(f"{source}: not URL-safe base64; expected a 32-byte key "
                        "as written by `divert registry init`") from None
    if len(key) != 32:
        raise KeyProblem(f"{source}: the key has {len(key)} bytes; expected 32")
    return key


def load_key() -> tuple[bytes, str]:
    """The key and where it came from; `KeyProblem` when there is none."""
    env = os.environ.get(KEY_ENV)
    if env:
        return decode_key(env, KEY_ENV), KEY_ENV
    path = key_file_path()
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyProblem(f"no encryption key: {path} does not exist; set {KEY_ENV} or {KEY_FILE_ENV}, "
                        "or run `divert registry init` to create a key file") from None
    except OSError as exc:
        raise KeyProblem(f"{path}: cannot read the key file: {exc.strerror}") from None
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        sys.stderr.write(f"warning: key file {path} is readable by others; chmod 600 it\n")
    return decode_key(text, str(path)), str(path)


def create_key_file(path: Path) -> bytes:
    """Write a new random key to `path`, readable and writable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.urlsafe_b64encode(key).decode("ascii") + "\n")
    os.chmod(path, 0o600)
    return key


def key_check(key: bytes) -> str:
    """A check value that tells whether a key is a registry's key without revealing it."""
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).hexdigest()[:32]


def seal_secret(key: bytes, secret: bytes, label: str) -> str:
    """`secret` encrypted under `key`, bound to `label` (the chain key kept in the database)."""
    nonce = secrets.token_bytes(12)
    return "v1:" + base64.b64encode(nonce + AESGCM(key).encrypt(nonce, secret, label.encode())).decode()


def open_secret(key: bytes, stored: str, label: str, source: str) -> bytes:
    """The secret sealed by `seal_secret`; `KeyProblem` naming the key's source when it is not
    the key it was sealed with."""
    try:
        if not stored.startswith("v1:"):
            raise ValueError(stored[:8])
        raw = base64.b64decode(stored[3:], validate=True)
        return AESGCM(key).decrypt(raw[:12], raw[12:], label.encode())
    except (InvalidTag, ValueError):
        raise KeyProblem(f"{source}: cannot open the registry's {label} (not this registry's key, or "
                         "registry_meta was altered)") from None


@dataclass(frozen=True)
class FieldCipher:
    """Encrypts and decrypts one participant's identifying fields."""

    key: bytes

    def encrypt(self, code: str, field: str, value: str | None) -> str | None:
        """Ciphertext of `value` bound to the participant `code` and the `field` name."""
        if value is None:
            return None
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.key).encrypt(nonce, value.encode("utf-8"), f"{code}:{field}".encode())
        return "v1:" + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, code: str, field: str, stored: str | None) -> str | None:
        """The plain value; `KeyProblem` when the key is wrong or the ciphertext was tampered with."""
        if stored is None:
            return None
        if not stored.startswith("v1:"):
            raise KeyProblem(f"{code}.{field}: unknown encryption format")
        raw = base64.b64decode(stored[3:])
        try:
            plain = AESGCM(self.key).decrypt(raw[:12], raw[12:], f"{code}:{field}".encode())
        except InvalidTag:
            raise KeyProblem(f"{code}.{field}: cannot decrypt (wrong key, or the value was "
                            "altered or moved from another participant)") from None
        return plain.decode("utf-8")


def require_text(value: object, field: str) -> str | None:
    """An identifying field must be text (or absent)."""
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"{field}: expected text, got {type(value).__name__}")
