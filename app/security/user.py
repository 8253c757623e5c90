"""The staff user: FAB's user with the unit (单位) it belongs to and a work phone."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Column, ForeignKey, Integer, String

from app.database.types import UTCDateTime


class StaffUser(User):
    """Single-table extension of ab_user (FAB's documented way to add user columns)."""

    __tablename__ = "ab_user"
    __table_args__ = {"extend_existing": True}
    # The unit table is generated from model.yaml; the checker insists it exists.
    unit_id = Column(Integer, ForeignKey("unit.id", use_alter=True, name="fk_ab_user_unit_id"),
                     nullable=True, index=True)
    work_phone = Column(String(20), nullable=True)
    # Signing in is refused until then after repeated wrong passwords (fail_login_count is FAB's).
    locked_until = Column(UTCDateTime(), nullable=True)
    # Sessions and tokens issued before this time are revoked (sign-out, password change).
    tokens_valid_after = Column(UTCDateTime(), nullable=True)

    def get_full_name(self) -> str:
        # Chinese order: family name first, no space (王业扩).
        return f"{self.last_name}{self.first_name}"

    def __str__(self) -> str:
        return self.get_full_name()
