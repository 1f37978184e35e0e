"""Seeding: the starter ICD-10 catalogue (demo and production seeds alike)."""

from __future__ import annotations

from sqlmodel import Session

from telemed.core import clock
from telemed.core.settings import Settings
from telemed.reference import service


def seed_reference(session: Session, settings: Settings) -> None:
    """Add the shipped catalogue's missing codes; names imported by an admin are kept."""
    service.load_catalogue(session=session, now=clock.now())
