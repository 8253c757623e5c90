"""Verification codes, data fingerprints and QR images for printed forms."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import io
import json
import unicodedata
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import segno

#: Length of the printed verification code. 10 base32 characters carry 50 bits
#: of the HMAC: short enough to read out over the phone, far too many to guess
#: against a rate-limited /verify/<code> endpoint.
CODE_LENGTH = 10

# Crockford base32: no I, L, O or U, so a code read off paper is not
# misread, and normalize_code() maps the look-alikes back. 5 bits a symbol.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def canonical_json(data: Any) -> str:
    """Serialise ``data`` deterministically: sorted keys, compact, ISO dates, Decimals as strings."""
    return json.dumps(
        data,
        default=_json_default,
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )


def _json_default(value: Any) -> Any:
    # Dates and times become ISO 8601 so the same instant always hashes the
    # same; naive and aware datetimes stay distinct on purpose.
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    # str(Decimal) keeps the scale ("10.50" != "10.5"): a changed scale is a
    # changed record, and float conversion would lose digits.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        # json calls this hook again on whatever it returns, so a Date-valued
        # enum still ends up ISO formatted.
        return value.value
    if isinstance(value, (set, frozenset)):
        # Sets have no order; sort their canonical forms so the hash is stable.
        return sorted(value, key=canonical_json)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot fingerprint value of type {type(value).__name__}: {value!r}")


def fingerprint(data: Mapping[str, Any]) -> str:
    """Return the hex SHA-256 of ``canonical_json(data)``, stored with each print to detect later edits."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def make_code(payload: Mapping[str, Any], secret: bytes) -> str:
    """Return a ``CODE_LENGTH``-character code: base32 of HMAC-SHA256(secret, canonical JSON of payload)."""
    if not isinstance(secret, (bytes, bytearray)) or len(secret) < 16:
        # An empty or short key would make codes forgeable by anyone who can
        # read the payload off the paper.
        raise ValueError("secret must be at least 16 bytes")
    digest = hmac.new(bytes(secret), canonical_json(payload).encode("utf-8"), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, 32)
        chars.append(_ALPHABET[index])
    return "".join(chars)


def normalize_code(text: str) -> str:
    """Normalise a code typed back from paper or a phone: full-width forms folded (NFKC), upper-case,
    spaces and dashes dropped, O->0, I/L->1. The one normalisation of every printed code (forms and
    fine notices alike)."""
    folded = unicodedata.normalize("NFKC", text or "")
    cleaned = "".join(ch for ch in folded.upper() if not ch.isspace() and ch not in "-_.")
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def check_code(payload: Mapping[str, Any], secret: bytes, code: str) -> bool:
    """Return whether ``code`` is the code of ``payload``, compared in constant time."""
    return hmac.compare_digest(make_code(payload, secret), normalize_code(code))


def qr_png(text: str, *, scale: int = 4, border: int = 2) -> bytes:
    """Return ``text`` as a QR code PNG (error correction M)."""
    if not text:
        raise ValueError("QR text is empty")
    qr = segno.make_qr(text, error="m")
    buffer = io.BytesIO()
    # segno writes PNG in pure Python; no Pillow needed. A 1-bit image with
    # scale 4 stays crisp when ReportLab scales it down to ~18 mm.
    qr.save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_png_data_uri(text: str) -> str:
    """Return a ``data:image/png;base64,...`` URI of ``text`` as a QR code, for ``<img src>`` in xhtml2pdf."""
    return "data:image/png;base64," + base64.b64encode(qr_png(text)).decode("ascii")
