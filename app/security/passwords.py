"""The password policy (FAB_PASSWORD_COMPLEXITY_VALIDATOR): at least 10 characters, letters and
digits or symbols both, not one character repeated, not a well-known password."""
from __future__ import annotations

from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_babel import gettext as _

MIN_LENGTH = 10
COMMON = frozenset({
    "1234567890", "12345678910", "0123456789", "qwertyuiop", "1q2w3e4r5t", "qwerty12345",
    "password12", "password123", "passw0rd12", "admin12345", "admin123456", "abc1234567",
    "a123456789", "woaini1314", "iloveyou12", "1qaz2wsx3edc", "zaq12wsxcde", "p@ssw0rd12",
})


def password_problem(password: str | None) -> str | None:
    """The policy's complaint about ``password`` (translated), or None when it is acceptable."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("The password must have at least %(n)d characters.", n=MIN_LENGTH)
    has_letter = any(ch.isalpha() for ch in password)
    has_other = any(not ch.isalpha() for ch in password)
    if not (has_letter and has_other):
        return _("The password must contain letters and also digits or symbols.")
    if len(set(password)) < 4:
        return _("The password repeats too few different characters.")
    if password.lower() in COMMON:
        return _("This password is too well known; choose another.")
    return None


def password_policy(password: str) -> None:
    """FAB's hook: raise PasswordComplexityValidationError with the reason."""
    problem = password_problem(password)
    if problem:
        raise PasswordComplexityValidationError(problem)
