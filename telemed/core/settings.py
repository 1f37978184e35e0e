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

from telemed.core.payment_settings import (
    PaymentSettings,
    refuse_incomplete_alipay,
    refuse_incomplete_wechat_pay,
)

DEV_SECRET = "development-only-secret-do-not-use"
DEV_TURN_SECRET = "development-only-turn-secret"

# Shortest retention (days) the national rules allow per record kind; production refuses
# shorter settings. 互联网诊疗管理办法（试行） / 互联网诊疗监管细则（试行）: audio/video and chat
# records of internet diagnosis and treatment are kept at least 3 years, the (outpatient)
# medical record at least 15 years (医疗机构病历管理规定). Leap days included.
RETENTION_MINIMUM_DAYS = {"recording": 3 * 365 + 1, "chat": 3 * 365 + 1, "record": 15 * 365 + 4}


# The placeholder values of `.env.example` (a test keeps this list and the file in step):
# a production deployment that copied the example unchanged refuses to start.
EXAMPLE_SECRETS = frozenset({"CHANGE_ME", "CHANGE_ME_LONG_RANDOM", DEV_SECRET, DEV_TURN_SECRET})
MIN_SECRET_BYTES = 32
# OWASP's smallest recommended argon2id cost (19 MiB, 2 passes): production refuses less.
MIN_ARGON2_MEMORY_KIB = 19 * 1024
MIN_ARGON2_TIME_COST = 2


class SecuritySettings(BaseModel):
    """Tokens, password hashing and policy, login throttling (docs/operations.md)."""

    secret_key: str = DEV_SECRET
    token_ttl_minutes: int = 12 * 60
    # argon2id cost. One hash takes one core (parallelism 1) for about 20 ms on the
    # reference 2-core machine (benchmarks/login_abuse.py prints it); tests run cheap ones.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19 * 1024, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)
    # Password hashes (login, password change) running at once per worker; others queue
    # for at most login_queue_seconds, then get 429 login_busy.
    max_concurrent_hashes: int = Field(default=1, ge=1)
    # Niceness added to the threads that hash passwords (Linux, per thread; 0: hash in the
    # request's own thread at its priority): under contention other requests go first.
    hash_niceness: int = Field(default=10, ge=0, le=19)
    login_queue_seconds: float = Field(default=5.0, gt=0)
    # A throttled login is answered 429 after a pause of half to all of this (at random),
    # held in the event loop without a hash slot or session: a client that ignores
    # Retry-After gets one answer per pause per connection. A refusal the database just
    # gave is held at most what is left of its block; one the worker remembers is held
    # the whole pause, and heard if its block ended meanwhile. At most
    # max_delayed_refusals wait at once per worker; others are answered at once.
    login_refusal_delay_seconds: float = Field(default=2.0, ge=0)
    max_delayed_refusals: int = Field(default=512, ge=0)
    password_min_length: int = Field(default=10, ge=8)
    # zxcvbn score (0-4) a new password must reach.
    password_min_score: int = Field(default=3, ge=0, le=4)
    # Login throttling: failures allowed free, then a block of 1 s doubling per failure
    # up to the cap; counters are forgotten after throttle_forget_seconds without failure.
    address_free_failures: int = Field(default=10, ge=1)
    account_free_failures: int = Field(default=5, ge=1)
    throttle_base_seconds: float = Field(default=1.0, gt=0)
    throttle_max_seconds: float = Field(default=15 * 60, gt=0)
    throttle_forget_seconds: float = Field(default=3600, gt=0)
    # An address that logged in to an account within this many days is known-good for
    # it: failures elsewhere never block the account there.
    known_address_days: int = Field(default=90, ge=1)
    # HSTS on every response (besides those that arrived over TLS or with
    # X-Forwarded-Proto: https, which always get it).
    hsts: bool = False
    hsts_max_age: int = 365 * 24 * 3600
    # Resolved bearer tokens kept per worker (telemed.identity.token_cache): a known token
    # costs no database round trip; any write to users or tokens (logout, revocation,
    # password change, deactivation) empties every worker's cache on this host at once,
    # through a shared epoch file in token_cache_dir (default: the temp directory).
    # 0: off (several hosts: see docs/operations.md).
    token_cache_seconds: float = Field(default=30.0, ge=0)
    token_cache_dir: Path | None = None


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
    # Which C-STORE path modalities use (docs/imaging.md "Ingest paths"): our `gateway`
    # (default; spools durably, also on SQLite), `orthanc-port` (Orthanc's port + change
    # feed) or `orthanc-filter` (Orthanc's port with our filter plugin; the feed then keeps
    # the plugin's view in `filter_view_file`, which Orthanc's `Telemed.ViewFile` names).
    ingest: Literal["gateway", "orthanc-port", "orthanc-filter"] = "gateway"
    filter_view_file: Path = Path("var/orthanc-view.json")
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
    # Retention per record kind (see RETENTION_MINIMUM_DAYS and docs/operations.md).
    recording_retention_days: int = RETENTION_MINIMUM_DAYS["recording"]
    chat_retention_days: int = RETENTION_MINIMUM_DAYS["chat"]
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
    # The server peer refreshes a running recording's heartbeat this often; a recording
    # whose heartbeat is older than recording_stale_seconds was left by a dead server.
    recording_heartbeat_seconds: float = 10.0
    recording_stale_seconds: float = 60.0
    # Signaling fan-out between workers: auto = PostgreSQL LISTEN/NOTIFY on PostgreSQL,
    # in-process on SQLite.
    channel: Literal["auto", "memory", "postgres"] = "auto"
    # Janus (VideoRoom plugin) as the SFU of rooms beyond a pair (telemed.video.sfu, docs/video.md):
    # unset, no Janus is used. Its secrets come from the environment; none has a default.
    janus_url: str | None = None  # the Janus API, e.g. http://127.0.0.1:8088/janus
    janus_admin_url: str | None = None  # the Admin API, e.g. http://127.0.0.1:7088/admin
    janus_api_secret: str | None = None
    janus_admin_secret: str | None = None
    janus_room_admin_key: str | None = None  # the VideoRoom's admin_key, when it has one
    # The Janus API as browsers reach it (a path the deployment proxies, e.g. /janus, or an
    # absolute URL, which the CSP's connect-src then lists); unset: janus_url.
    janus_public_url: str | None = None
    # Participants of a room on Janus (it forwards without re-encoding; docs/video.md).
    max_janus_participants: int = 100


class SchedulingSettings(BaseModel):
    """Slot horizon, holds and booking policy."""

    horizon_days: int = 28
    hold_minutes: int = 5
    patient_cancel_hours_before: int = 2
    noshow_limit: int = 3
    # Admission control of the booking routes (telemed.core.admission), per worker: at most
    # booking_in_flight requests served at once, at most booking_queue more waiting at most
    # booking_queue_seconds each; the rest answered 429 busy_try_later at once with
    # Retry-After booking_retry_after_seconds. See docs/operations.md for the sizing.
    booking_in_flight: int = Field(default=8, ge=1)
    booking_queue: int = Field(default=32, ge=0)
    booking_queue_seconds: float = Field(default=0.05, ge=0)
    booking_retry_after_seconds: float = Field(default=2.0, gt=0)
    # How long a worker remembers a slot it refused 409 slot_full, answering the next
    # unkeyed attempts from memory (scheduling.full_slots; 0: off). The longest a slot
    # with a place given back elsewhere may still be refused so.
    full_slot_memory_seconds: float = Field(default=2.0, ge=0)


class ConsultationSettings(BaseModel):
    """Service levels of remote consultations (minutes, per urgency) and the breach sweep."""

    accept_minutes: dict[str, int] = {"emergency": 30, "urgent": 120, "routine": 48 * 60}
    report_minutes: dict[str, int] = {"emergency": 120, "urgent": 24 * 60, "routine": 72 * 60}
    # per service class and urgency, overriding both the class default and report_minutes
    class_report_minutes: dict[str, dict[str, int]] = {}
    # a request nobody accepted expires at created + expire_factor * accept limit
    expire_factor: float = 2.0
    emergency_session_minutes: int = 30
    max_document_bytes: int = 20 * 1024 * 1024
    # The consultation record (requests, opinions, documents) is never purged automatically;
    # this is the period it is kept at least, refused below the national minimum in production.
    record_retention_days: int = RETENTION_MINIMUM_DAYS["record"]


class FilingAgencySettings(BaseModel):
    """The insurance agency's filing interface (docs/referrals.md); without `url` filings
    are numbered locally in development and test, and wait unsent in production."""

    url: str | None = None  # POST endpoint of the agency gateway
    paasid: str | None = None  # the gateway's x-tif-paasid, issued to the institution
    token: str | None = None  # the gateway's paasToken (signs every request; never logged)
    fixmedins_code: str | None = None  # 定点医药机构编号 (12) of the network
    fixmedins_name: str = ""
    mdtrtarea_admvs: str = "150000"  # 就医地医保区划 (Inner Mongolia)
    recer_sys_code: str = "TELEMED"  # 接收方系统代码 as agreed with the agency
    infver: str = "V1.0"
    timeout_seconds: float = Field(default=10.0, gt=0)
    tries: int = Field(default=2, ge=1)  # within one send (connection errors); then backoff:
    backoff_seconds: int = Field(default=60, ge=1)
    max_backoff_seconds: int = Field(default=3600, ge=1)


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
    filing_agency: FilingAgencySettings = FilingAgencySettings()


class JobSettings(BaseModel):
    """The job runner (procrastinate): where it runs and when each periodic task runs."""

    # Run the worker inside the API process: "auto" = on SQLite (`make run`), where the
    # queue is in memory; in production run `telemed worker` processes instead.
    in_process: Literal["auto", "on", "off"] = "auto"
    concurrency: int = Field(default=2, ge=1)
    # Cron expressions (UTC; a sixth field is seconds) overriding telemed.jobs.tasks' own.
    schedules: dict[str, str] = {}
    max_attempts: int = Field(default=5, ge=1)  # a failing periodic run is retried this often
    retry_wait_base: int = Field(default=4, ge=0)  # retry n waits base**(n+1) s: 4, 16, 64 s...


class SmsSettings(BaseModel):
    """SMS delivery: `log` (development) or Aliyun SMS (`aliyun`, API SendSms 2017-05-25)."""

    provider: Literal["log", "aliyun"] = "log"
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    region_id: str = "cn-hangzhou"
    access_key_id: str | None = None
    access_key_secret: str | None = None
    sign_name: str | None = None  # the approved signature (短信签名), e.g. 内蒙古远程医疗
    # Approved template code (模板CODE) per notification kind, e.g. {"waitlist.offer": "SMS_1"}
    template_codes: dict[str, str] = {}
    timeout_seconds: float = 10.0
    # Delivery attempts before a message is dead-lettered, and the first retry delay
    # (doubling each time, at most max_backoff_seconds).
    max_attempts: int = Field(default=6, ge=1)
    backoff_seconds: int = Field(default=60, ge=1)
    max_backoff_seconds: int = Field(default=3600, ge=1)


class LiveSettings(BaseModel):
    """The push channel `GET /api/v1/events` (telemed.core.live, docs/api.md)."""

    # A comment line this often keeps proxies from closing an idle stream; the caller's
    # token is checked again at each one (a logout elsewhere ends the stream).
    keepalive_seconds: float = Field(default=15.0, gt=0)
    # Wake-ups waiting per connection; beyond it the connection is told to refetch.
    queue_size: int = Field(default=256, ge=1)


class MetricsSettings(BaseModel):
    """`/metrics` (Prometheus): a bearer token is required outside development."""

    token: str | None = None


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
    # Ping each connection at checkout (a round trip per request). Off: a connection broken
    # by a server restart fails its first statement, which is answered 503 + Retry-After
    # and invalidates the pool's older connections (docs/operations.md).
    db_pool_pre_ping: bool = False
    # /docs, /redoc and /openapi.json; unset: on in development and test, off in production.
    api_docs: bool | None = None
    log_level: str = "INFO"
    log_json: bool = True
    frontend_dir: Path | None = None
    security: SecuritySettings = SecuritySettings()
    dicom: DicomSettings = DicomSettings()
    video: VideoSettings = VideoSettings()
    scheduling: SchedulingSettings = SchedulingSettings()
    consultations: ConsultationSettings = ConsultationSettings()

    referrals: ReferralSettings = ReferralSettings()
    jobs: JobSettings = JobSettings()
    sms: SmsSettings = SmsSettings()
    metrics: MetricsSettings = MetricsSettings()
    live: LiveSettings = LiveSettings()
    payments: PaymentSettings = PaymentSettings()

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
            if self.video.janus_url:
                missing = [
                    f"TELEMED_VIDEO__{name.upper()}"
                    for name in ("janus_admin_url", "janus_api_secret", "janus_admin_secret")
                    if not getattr(self.video, name)
                ]
                if missing:
                    raise ValueError("Janus (TELEMED_VIDEO__JANUS_URL) needs " + ", ".join(missing))
            if self.sms.provider == "aliyun":
                missing = [
                    name
                    for name in ("access_key_id", "access_key_secret", "sign_name")
                    if not getattr(self.sms, name)
                ]
                if missing:
                    raise ValueError(
                        "Aliyun SMS needs "
                        + ", ".join(f"TELEMED_SMS__{m.upper()}" for m in missing)
                    )
            if "alipay" in self.payments.providers:
                refuse_incomplete_alipay(self.payments, self.env, EXAMPLE_SECRETS)
            agency, prefix = self.referrals.filing_agency, "TELEMED_REFERRALS__FILING_AGENCY__"
            needed = ("paasid", "token", "fixmedins_code") if agency.url else ()
            if missing := [f"{prefix}{n.upper()}" for n in needed if not getattr(agency, n)]:
                raise ValueError(f"the filing agency ({prefix}URL) needs " + ", ".join(missing))
        if self.env == "production":
            self._refuse_weak_production_configuration()
            self._refuse_short_retention()
        return self

    def _refuse_weak_production_configuration(self) -> None:
        secrets = {"TELEMED_SECRET_KEY": self.security.secret_key}
        if self.video.turn_urls:
            secrets["TELEMED_TURN_SECRET"] = self.video.turn_secret
        if self.referrals.filing_agency.url:
            secrets["TELEMED_REFERRALS__FILING_AGENCY__TOKEN"] = (
                self.referrals.filing_agency.token or ""
            )
        if self.video.janus_url:
            secrets["TELEMED_VIDEO__JANUS_API_SECRET"] = self.video.janus_api_secret or ""
            secrets["TELEMED_VIDEO__JANUS_ADMIN_SECRET"] = self.video.janus_admin_secret or ""
        for name, value in secrets.items():
            if value in EXAMPLE_SECRETS:
                raise ValueError(f"{name} is an example value; set a random secret of its own")
            if len(value.encode()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"{name} is {len(value.encode())} bytes; production needs at least "
                    f"{MIN_SECRET_BYTES} (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'`)"
                )
        if "wechat" in self.payments.providers:
            refuse_incomplete_wechat_pay(self.payments, EXAMPLE_SECRETS)
        if self.dicom.orthanc_password in EXAMPLE_SECRETS:
            raise ValueError("TELEMED_ORTHANC_PASSWORD is an example value; set the real one")
        if any(f":{example}@" in self.database_url for example in EXAMPLE_SECRETS):
            raise ValueError("TELEMED_DATABASE_URL carries an example password; set the real one")
        sec = self.security
        if sec.argon2_memory_kib < MIN_ARGON2_MEMORY_KIB or sec.argon2_time_cost < (
            MIN_ARGON2_TIME_COST
        ):
            raise ValueError(
                "argon2 cost below the production minimum "
                f"({MIN_ARGON2_MEMORY_KIB} KiB, {MIN_ARGON2_TIME_COST} passes): "
                "cheap hashing is for TELEMED_ENV=test only"
            )

    def _refuse_short_retention(self) -> None:
        configured = {
            "recording": (
                "TELEMED_VIDEO__RECORDING_RETENTION_DAYS",
                self.video.recording_retention_days,
            ),
            "chat": ("TELEMED_VIDEO__CHAT_RETENTION_DAYS", self.video.chat_retention_days),
            "record": (
                "TELEMED_CONSULTATIONS__RECORD_RETENTION_DAYS",
                self.consultations.record_retention_days,
            ),
        }
        for kind, (name, days) in configured.items():
            if days < RETENTION_MINIMUM_DAYS[kind]:
                raise ValueError(
                    f"{name}={days} is shorter than the national minimum of "
                    f"{RETENTION_MINIMUM_DAYS[kind]} days (docs/operations.md, retention)"
                )

    @property
    def api_docs_enabled(self) -> bool:
        """Whether /docs, /redoc and /openapi.json are served."""
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
