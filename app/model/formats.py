"""Checks of field formats (ID card, phones): pure functions returning an error template or None."""
from __future__ import annotations

import re

from .problems import N_

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dXx]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def id_card_error(value: str) -> str | None:
    """GB 11643: 17 digits and a check character computed with ISO 7064 MOD 11-2."""
    if not _ID_RE.match(value):
        return N_("An ID card number has 18 characters: 17 digits and a final digit or X.")
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != value[17].upper():
        return N_("The ID card number's check digit is wrong; please check the number.")
    return None


def mobile_error(value: str) -> str | None:
    if not _MOBILE_RE.match(value):
        return N_("A mobile number has 11 digits and starts with 1, e.g. 13812345678.")
    return None


def phone_error(value: str) -> str | None:
    if _MOBILE_RE.match(value) or _LANDLINE_RE.match(value):
        return None
    return N_("Enter a mobile number (13812345678) or a landline with area code (0376-1234567).")


def email_error(value: str) -> str | None:
    return None if _EMAIL_RE.match(value) else N_("Enter a valid e-mail address.")


FORMAT_CHECKS = {"id_card": id_card_error, "mobile": mobile_error, "phone": phone_error,
                 "email": email_error}


def id_card_with_check_digit(first17: str) -> str:
    """Complete 17 digits with their check character (used by demo data and tests)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return first17 + _ID_CHECK[total % 11]
