"""Configuration from `TELEMED_*` environment variables (pydantic-settings).

Nested groups use a double underscore: `TELEMED_DICOM__PORT=11112`. The most used
options also have flat aliases named in the README (`TELEMED_DATABASE_URL`,
`TELEMED_ORTHANC_URL`, `TELEMED_DICOM_PORT`, `TELEMED_TURN_URLS`, `TELEMED_TURN_SECRET`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "development-only-secret-do-not-use"
DEV_TURN_SECRET = "development-only-turn-secret"


class SecuritySettings(BaseModel):
    """Tokens, passwords and lockout."""

    secret_key: str = DEV_SECRET
    token_ttl_minutes: int = 12 * 60
    max_failed_logins: int = 5
    lockout_minutes: int = 15


class DicomSettings(BaseModel):
    """Imaging archive and the DICOM storage gateway."""

    orthanc_url: str | None = None
    orthanc_username: str | None = None
    orthanc_password: str | None = None
    port: int = 11112
    ae_title: str = "TELEMED"
    archive_dir: Path = Path("var/archive")
    spool_dir: Path = Path("var/spool")
    max_study_bytes: int = 2 * 1024**3
    cors_origins: list[str] = []
    # Run the C-STORE gateway + spool forwarder inside the app process (single-process demo);
    # in production run `telemed dicom gateway` as its own process instead.
    gateway_enabled: bool = False
    gateway_host: str = "0.0.0.0"
    forwarder_workers: int = 2
    # De-identified copies (dicom.deid): option defaults, a request may override them.
    deid_retain_patient_characteristics: bool = True
    deid_retain_device_identity: bool = False
    deid_retain_safe_private: bool = False
    deid_pixel_regions: Path | None = None  # clean-pixel rules; None: the shipped file


class VideoSettings(BaseModel):
    """WebRTC rooms and TURN credentials (coturn shared-secret scheme)."""

    turn_urls: list[str] = []
    turn_secret: str = DEV_TURN_SECRET
    turn_ttl_seconds: int = 3600
    room_opens_minutes_before: int = 15
    room_closes_minutes_after: int = 60
    recordings_dir: Path = Path("var/recordings")
    recording_retention_days: int = 180
    reconnect_grace_seconds: int = 60
    max_message_bytes: int = 64 * 1024
    messages_per_second: float = 20.0
    message_burst: int = 60
    auth_timeout_seconds: float = 10.0
    # Participants of a relayed (server peer) room, and concurrent recordings per worker:
    # from benchmarks/video_capacity.py (see docs/video.md and benchmarks/README.md).
    max_relay_participants: int = 3
    max_p2p_participants: int = 4
    max_recordings_per_worker: int = 2
    # Signaling fan-out between workers: auto = PostgreSQL LISTEN/NOTIFY on PostgreSQL,
    # in-process on SQLite.
    channel: Literal["auto", "memory", "postgres"] = "auto"


class SchedulingSettings(BaseModel):
    """Slot horizon, holds and booking policy."""

    horizon_days: int = 28
    hold_minutes: int = 5
    patient_cancel_hours_before: int = 2
    noshow_limit: int = 3


class ConsultationSettings(BaseModel):
    """Service levels of remote consultations (minutes, per urgency) and the breach sweep."""

    accept_minutes: dict[str, int] = {"emergency": 30, "urgent": 120, "routine": 48 * 60}
    report_minutes: dict[str, int] = {"emergency": 120, "urgent": 24 * 60, "routine": 72 * 60}
    # per service class and urgency, overriding both the class default and report_minutes
    class_report_minutes: dict[str, dict[str, int]] = {}
    # a request nobody accepted expires at created + expire_factor * accept limit
    expire_factor: float = 2.0
    emergency_session_minutes: int = 30
    sweep_interval_seconds: int = 60
    sweep_enabled: bool = True
    max_document_bytes: int = 20 * 1024 * 1024


class ReferralSettings(BaseModel):
    """Tiered referrals and family-doctor contracts (see docs/referrals.md)."""

    # National guidance: one family doctor serves about 2,000 contracted residents.
    residents_per_family_doctor: int = 2000
    contract_months: int = 12
    expiry_reminder_days: int = 30
    # Upward referrals may climb this many tiers at once without urgency or green channel.
    max_tier_step: int = 1
    # Urgencies that may skip tiers (a reason is still recorded).
    tier_skip_urgencies: list[str] = ["urgent", "emergency"]
    # Days (from submission) by which the receiver contacts the patient, per urgency.
    contact_by_days: dict[str, float] = {"routine": 14, "urgent": 2, "emergency": 0.25}
    cross_region_filing_days: int = 180


class Settings(BaseSettings):
    """All configuration; see `.env.example` for every variable."""

    model_config = SettingsConfigDict(
        env_prefix="TELEMED_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    env: Literal["development", "test", "production"] = "production"
    database_url: str = "sqlite:///var/telemed.db"
    # Connections per process (pool + overflow); requests beyond that wait their turn
    # before touching the database (see telemed.core.db.request_gate).
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    frontend_dir: Path | None = None
    security: SecuritySettings = SecuritySettings()
    dicom: DicomSettings = DicomSettings()
    video: VideoSettings = VideoSettings()
    scheduling: SchedulingSettings = SchedulingSettings()
    consultations: ConsultationSettings = ConsultationSettings()

    referrals: ReferralSettings = ReferralSettings()

    # Flat aliases for the options operators set most.
    orthanc_url: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEMED_ORTHANC_URL")
    )
    orthanc_username: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEMED_ORTHANC_USERNAME")
    )
    orthanc_password: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEMED_ORTHANC_PASSWORD")
    )
    dicom_port: int | None = Field(
        default=None, validation_alias=AliasChoices("TELEMED_DICOM_PORT")
    )
    turn_urls: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("TELEMED_TURN_URLS")
    )
    turn_secret: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEMED_TURN_SECRET")
    )
    secret_key: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEMED_SECRET_KEY")
    )

    @model_validator(mode="after")
    def _apply_aliases_and_refuse_default_secrets(self) -> Settings:
        if self.orthanc_url:
            self.dicom.orthanc_url = self.orthanc_url
        if self.orthanc_username:
            self.dicom.orthanc_username = self.orthanc_username
        if self.orthanc_password:
            self.dicom.orthanc_password = self.orthanc_password
        if self.dicom_port is not None:
            self.dicom.port = self.dicom_port
        if self.turn_urls is not None:
            self.video.turn_urls = self.turn_urls
        if self.turn_secret:
            self.video.turn_secret = self.turn_secret
        if self.secret_key:
            self.security.secret_key = self.secret_key
        if self.env != "development":
            if self.security.secret_key == DEV_SECRET:
                raise ValueError(
                    "TELEMED_SECRET_KEY must be set outside development "
                    "(the built-in default is for TELEMED_ENV=development only)"
                )
            if self.video.turn_urls and self.video.turn_secret == DEV_TURN_SECRET:
                raise ValueError("TELEMED_TURN_SECRET must be set when TURN servers are configured")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
