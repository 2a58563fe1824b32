"""Typed settings read from the environment (and an optional `.env`), validated at start.

Mode is chosen by configuration alone: `DATABASE_URL` and `REDIS_URL` decide whether the
embedded engines (SQLite, in-process) or the distributed ones (PostgreSQL, Redis) are used.
"""

from __future__ import annotations

import base64
import ipaddress
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class RegistrationMode(StrEnum):
    OPEN = "open"
    APPROVAL = "approval"
    CLOSED = "closed"


class RateLimit:
    """A limit written as `count/seconds`, e.g. `300/300` (300 requests per 5 minutes)."""

    def __init__(self, count: int, period: int) -> None:
        if count < 1 or period < 1:
            raise ValueError("count and period must be positive")
        self.count = count
        self.period = period

    @classmethod
    def parse(cls, value: object) -> RateLimit:
        if isinstance(value, RateLimit):
            return value
        try:
            count, period = str(value).split("/")
            return cls(int(count), int(period))
        except ValueError as exc:
            raise ValueError(f"expected 'count/seconds', got {value!r}") from exc

    def __str__(self) -> str:
        return f"{self.count}/{self.period}"


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]

GOOGLE_ISSUER = "https://accounts.google.com"


class OidcProvider(BaseModel):
    """One OpenID Connect provider people may sign in with (see docs/oidc.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    label: str = ""
    issuer: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    scopes: str = "openid email profile"

    @field_validator("issuer")
    @classmethod
    def _check_issuer(cls, value: str) -> str:
        # Plain http only for a provider on this machine (development and tests).
        url = urlsplit(value)
        loopback = url.scheme == "http" and url.hostname in ("127.0.0.1", "localhost", "::1")
        if not (url.scheme == "https" and url.hostname) and not loopback:
            raise ValueError("issuer must be an https:// URL")
        return value.rstrip("/")

    @property
    def display_name(self) -> str:
        return self.label or self.name.replace("_", " ").replace("-", " ").title()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    secret_key: str = DEFAULT_SECRET

    # Instance identity. Without LOCAL_DOMAIN: `localhost:<PORT>` (`_local_domain_follows_port`).
    local_domain: str = "localhost:8000"
    instance_title: str = "ConnectHub"
    instance_description: str = "A ConnectHub community."
    instance_contact_email: str = ""
    instance_rules: CommaList = Field(
        default_factory=lambda: [
            "Be kind and respectful.",
            "No harassment, hate speech or threats.",
            "No spam or misleading content.",
        ]
    )
    instance_languages: CommaList = Field(default_factory=lambda: ["en", "id"])
    # Where the running code can be downloaded (AGPL); shown as `source_url` when set.
    instance_source_url: str = ""
    max_status_characters: int = Field(default=500, ge=1, le=100_000)
    # How long user and post counts shown by the instance endpoints may lag (0: never cached).
    instance_stats_cache_seconds: int = Field(default=60, ge=0, le=86_400)

    # The first-party web app's build (web/dist, made by `make run`), served at /
    # (docs/web-app.md). Empty: the checkout's web/dist.
    web_app_dir: str = ""

    # HTTP server
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1, le=64)
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_body_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    behind_tls: bool = False
    trusted_proxies: CommaList = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    shutdown_drain_seconds: int = Field(default=10, ge=0, le=300)
    # Overload (docs/operations.md): requests one server process works on at once; the next
    # is refused at once (503 + Retry-After) before any database or Redis work. Unset:
    # DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW, so an admitted request never queues for a
    # pooled connection behind the others; 0: no limit.
    max_requests_in_flight: int | None = Field(default=None, ge=0, le=100_000)
    # Slow clients: a request's headers must arrive within this many seconds of its first
    # byte (of the connection, for the first request); a body that stalls this long
    # between two reads is dropped; an idle keep-alive connection is closed after
    # HTTP_KEEP_ALIVE_SECONDS (behind a proxy, keep it above the proxy's own idle timeout).
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    http_body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    http_keep_alive_seconds: int = Field(default=5, ge=1, le=3600)
    # Several server processes (WEB_CONCURRENCY > 1): a new process has this long to start
    # serving, and a serving one this long to answer its supervisor's health ping (answered
    # by a thread: a busy process answers) and to turn its event loop, before it is killed
    # and replaced.
    web_startup_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    web_healthcheck_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # The liveness port (docs/operations.md, "Liveness and readiness"): `/health/live` on
    # HOST:LIVENESS_PORT, answered by a thread of `serve` from the event loops' heartbeat,
    # so a probe never waits behind the load; 503 once no loop has turned for
    # LIVENESS_STALL_SECONDS. Unset: no such port (`/health/live` on PORT still answers).
    liveness_port: int | None = Field(default=None, ge=1, le=65535)
    liveness_stall_seconds: float = Field(default=10.0, gt=0, le=3600)

    # Engines
    database_url: str = "sqlite:///./data/connecthub.db"
    database_replica_urls: CommaList = Field(default_factory=list)
    # `transaction`: DATABASE_URL and the replica URLs go through a pooler in transaction
    # pooling mode (PgBouncer, docs/database.md): no server-side prepared statement outlives
    # a statement, no session state. `none`: straight to PostgreSQL.
    database_pooler: Literal["none", "transaction"] = "none"
    # Straight to the primary, never through the pooler: migrations (`connecthub migrate`)
    # and anything else that needs one server session. Unset: DATABASE_URL.
    database_direct_url: str | None = None
    # A replica whose replay lags the primary by more than this, or that does not answer,
    # leaves the read rotation until it is back under it (checked every
    # DATABASE_REPLICA_CHECK_SECONDS; lag is the metric connecthub_db_replica_lag_seconds).
    database_replica_max_lag_seconds: float = Field(default=5.0, gt=0, le=3600)
    database_replica_check_seconds: float = Field(default=1.0, gt=0, le=60)
    # Read-your-writes: after an account's write commits, its reads use only replicas that
    # have replayed that commit, for this many seconds (0: off). Above the lag bound.
    database_read_your_writes_seconds: int = Field(default=60, ge=0, le=86_400)
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_max_overflow: int = Field(default=10, ge=0, le=500)
    database_echo: bool = False
    # Seconds a request waits for a free pooled connection before it is answered 503.
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # PostgreSQL: seconds to open a connection before the request is answered 503 (a host
    # that does not answer at all would otherwise hold it for a minute).
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # SQLite: seconds a writer waits for another writer's lock before giving up (503).
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    redis_url: str | None = None
    redis_key_prefix: str = "connecthub:"
    # Connections one process may open to Redis; commands wait for a free one when all are
    # busy (infra/redis.py).
    redis_max_connections: int = Field(default=100, ge=4, le=10_000)
    media_storage_url: str = "file://./data/media"
    # Media (docs/media.md). MEDIA_STORAGE_URL is file://<dir> or
    # s3://<bucket>?endpoint=<url>&region=<name>; the S3 credentials are separate settings.
    media_s3_access_key_id: str | None = None
    media_s3_secret_access_key: SecretStr | None = None
    # Where clients fetch media from: a CDN or the store's public address (default: this
    # server's /system/media for a local directory, <endpoint>/<bucket> for S3).
    media_public_base_url: str | None = None
    media_image_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    media_video_max_bytes: int = Field(default=99 * 1024 * 1024, ge=1024)  # video and audio
    media_image_max_pixels: int = Field(default=33_177_600, ge=1)  # 7680 x 4320
    # Bytes of stored media one account may hold (0: no quota).
    media_account_quota_bytes: int = Field(default=10 * 1024**3, ge=0)
    media_unattached_max_age_seconds: int = Field(default=86_400, ge=60)
    # A local media directory refuses uploads (507) that would leave less free disk than
    # this, so the database and logs on the same disk never meet a full disk.
    media_local_min_free_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    # Use the ffmpeg command (when on PATH) for video poster frames; audio and video are
    # verified and re-muxed by PyAV either way. Off: no poster frames.
    media_ffmpeg: bool = True
    # How far ahead a scheduled status must be (Mastodon: 5 minutes). Tests lower it to
    # see a scheduled status published by the real queue within seconds.
    scheduled_status_min_lead_seconds: int = Field(default=300, ge=1)
    # Web Push (docs/push.md). The instance's VAPID key pair: unset, one is generated on first
    # use and kept in the database (`web_push_vapid_keys`); set, it wins. The private key is
    # the raw 32-byte P-256 scalar, base64url (what `vapid --gen` / Mastodon's keys are); the
    # public key, when given, must be the one it derives.
    vapid_private_key: SecretStr | None = None
    vapid_public_key: str | None = None
    # Push endpoints must be https and resolve to public addresses only (checked again on
    # every connection). Hosts named here may be plain http and private (tests, development).
    push_endpoint_test_hosts: CommaList = Field(default_factory=list)
    # Preview cards (docs/preview-cards.md): a status' first link is fetched by a job under
    # infra/public_fetch.py's rules (public addresses only, on every redirect hop; a time
    # and a size cap; HTML for the page, an image for its picture). Off: no card is fetched.
    # Explore (explore/): trends are scored by a job every TRENDS_REFRESH_SECONDS; with
    # TRENDS_REQUIRE_REVIEW (Mastodon's default) the public sees only items a moderator
    # approved. Thresholds are distinct accounts a day (hashtags, links) or interacting
    # (posts); scores halve every half-life after their peak (posts: with their age).
    trends_enabled: bool = True
    trends_require_review: bool = True
    trends_refresh_seconds: float = Field(default=300.0, ge=1, le=86_400)
    trends_tag_threshold: int = Field(default=5, ge=1)
    trends_link_threshold: int = Field(default=5, ge=1)
    trends_status_threshold: int = Field(default=5, ge=1)
    trends_half_life_seconds: float = Field(default=4 * 3600.0, gt=0)
    trends_status_half_life_seconds: float = Field(default=2 * 3600.0, gt=0)
    trends_status_max_age_seconds: float = Field(default=2 * 86_400.0, gt=0)
    trends_cooldown_seconds: float = Field(default=2 * 86_400.0, gt=0)
    # The "For you" ranker is fitted again by a job once per this long (0: never; the last
    # fitted model, or the prior, keeps serving).
    for_you_train_seconds: float = Field(default=3600.0, ge=0, le=7 * 86_400)
    # The profile directory (`/api/v1/directory`): off answers 404, as Mastodon.
    directory_enabled: bool = True
    preview_cards_enabled: bool = True
    # Hosts, as written in URLs (`127.0.0.1`, `intranet.example`), fetched even though
    # their addresses are not public: tests' servers on loopback, a trusted intranet site.
    # Empty by default; every other host still meets every rule.
    preview_card_allowed_hosts: CommaList = Field(default_factory=list)
    preview_card_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    preview_card_max_page_bytes: int = Field(default=1024 * 1024, ge=1024)
    preview_card_max_image_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Automated detection (docs/detection.md). Public and unlisted statuses and profile
    # text are scored by a job (never on the request path) with the offensive-language model
    # (alt-profanity-check) and an Indonesian word list; at or above the report threshold a
    # system report goes to the moderation queue. Off: nothing is scored.
    detection_enabled: bool = True
    detection_report_threshold: float = Field(default=0.9, gt=0, le=1)
    # Set, public and unlisted statuses wait for their score before they are published: at
    # or above it they stay held for a moderator (docs/status-review.md). Unset: off.
    detection_hold_threshold: float | None = Field(default=None, gt=0, le=1)
    # Hold public and unlisted statuses for a moderator's approval before they are
    # published: `off`, `new_accounts` (younger than SPAM_NEW_ACCOUNT_HOURS) or `all`.
    status_review: Literal["off", "new_accounts", "all"] = "off"
    # Texts scored in one call of the model; a job waits this long for others to join it.
    detection_batch_size: int = Field(default=64, ge=1, le=4096)
    detection_batch_wait_ms: int = Field(default=20, ge=0, le=5000)
    # Spam heuristics apply to accounts younger than this.
    spam_new_account_hours: float = Field(default=72.0, ge=0)
    # Each heuristic counts over a sliding window; reaching its limit trips it.
    spam_window_seconds: int = Field(default=3600, ge=10, le=7 * 86_400)
    spam_links_limit: int = Field(default=20, ge=1)
    spam_mentions_limit: int = Field(default=30, ge=1)
    spam_repeats_limit: int = Field(default=4, ge=2)
    spam_follows_limit: int = Field(default=60, ge=1)
    # Sign-ups from one IPv4 /24 (IPv6 /48) in the window.
    spam_sign_ups_per_range_limit: int = Field(default=10, ge=1)
    # What a tripped heuristic does to the account: `report` (a system report), `rate_limit`
    # (new statuses refused with 429 for the rest of the window, and a report) or `hold`
    # (its login held for a moderator's approval, and a report).
    spam_action: Literal["report", "rate_limit", "hold"] = "report"
    # What `hold` holds: the account's login (`account`), or, when the trip came from its
    # statuses (links, mentions, repeats), those statuses, taken back for a moderator's
    # review (`statuses`, docs/status-review.md; a follow or sign-up trip holds the login).
    spam_hold: Literal["account", "statuses"] = "account"
    jobs_visibility_timeout_seconds: int = Field(default=300, ge=1)
    jobs_max_attempts: int = Field(default=8, ge=1, le=100)
    # Run a job worker inside each `serve` process too. Default: only in embedded mode, where
    # it is the only worker; a small distributed deployment may turn it on instead of
    # running `connecthub worker`.
    jobs_in_server: bool | None = None
    # A failed job waits base * 2^(attempt-1) seconds (with jitter, capped at an hour).
    jobs_retry_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    # The job outbox (docs/adr/0007-transactional-outbox.md; not the mail OUTBOX_DIR): a
    # job row still there this long after its commit was not relayed (a crash, Redis down),
    # and the relay loop beside every job worker queues it; it looks every half this long.
    jobs_outbox_relay_after_seconds: float = Field(default=5.0, gt=0, le=3600)
    # The sweeper (infra/sweeper.py) queues again, every interval, must-run work the
    # database says is pending for longer than the grace period (0: no sweeps).
    jobs_sweep_interval_seconds: float = Field(default=60.0, ge=0, le=86_400)
    jobs_sweep_grace_seconds: float = Field(default=300.0, ge=0, le=7 * 86_400)
    # `connecthub worker` serves its own `/metrics` on this port when set (none by default),
    # on WORKER_METRICS_HOST; the METRICS_TOKEN rule is the server's.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # Extra modules whose `@job` handlers workers load (plugins, tests), beside the domains'.
    task_modules: CommaList = Field(default_factory=list)

    # Home feeds in Redis (distributed mode; docs/adr/0005-home-feed-fan-out.md): ids kept per
    # feed, days an unread feed lives (it is rebuilt from the database on the next read),
    # and followers handled per fan-out job.
    home_feed_max_items: int = Field(default=800, ge=40, le=100_000)
    home_feed_ttl_days: int = Field(default=14, ge=1, le=365)
    home_fan_out_batch: int = Field(default=1000, ge=1, le=100_000)
    # With read replicas, every entity-cache invalidation is repeated this long after its
    # commit, for a rendering read from a replica that had not replayed the write yet
    # (infra/entity_cache.py; without replicas nothing needs it); 0 repeats at once.
    entity_cache_repeat_seconds: float = Field(default=2.0, ge=0, le=60)
    # Distributed mode: how long a process keeps its own copy of a bearer token it looked
    # up (infra/near_cache.py; revocations drop the copies everywhere at once); 0: none.
    near_cache_seconds: float = Field(default=30.0, ge=0, le=300)
    # Distributed mode: how many entity-cache entries (status and account renderings, filter
    # rules) a process keeps its own copy of, for `near_cache_seconds`, so a timeline read
    # needs no round trip for them (infra/entity_cache.py, ADR 0042); 0: none.
    entity_near_cache_entries: int = Field(default=10_000, ge=0, le=1_000_000)
    # Embedded mode: how long the server answers from what it holds before it looks again
    # whether another process (a `connecthub admin` command) wrote the database, to forget
    # what it holds from before (infra/outside_writes.py); 0: before every request.
    outside_writes_poll_seconds: float = Field(default=1.0, ge=0, le=60)

    # Rate limits (count/seconds); defaults follow Mastodon's.
    rate_limit_enabled: bool = True
    rate_limit_ip: Annotated[RateLimit, NoDecode] = RateLimit(300, 300)
    rate_limit_token: Annotated[RateLimit, NoDecode] = RateLimit(300, 300)
    rate_limit_account: Annotated[RateLimit, NoDecode] = RateLimit(1500, 300)
    rate_limit_sign_up: Annotated[RateLimit, NoDecode] = RateLimit(5, 1800)
    rate_limit_sign_in_ip: Annotated[RateLimit, NoDecode] = RateLimit(25, 300)
    rate_limit_sign_in_email: Annotated[RateLimit, NoDecode] = RateLimit(25, 3600)
    rate_limit_password: Annotated[RateLimit, NoDecode] = RateLimit(5, 1800)
    rate_limit_penalty_base_seconds: int = Field(default=60, ge=1)
    rate_limit_penalty_max_seconds: int = Field(default=86400, ge=1)
    rate_limit_penalty_memory_seconds: int = Field(default=86400, ge=1)

    # Accounts
    registration_mode: RegistrationMode = RegistrationMode.OPEN
    min_signup_age: int = Field(default=16, ge=0, le=120)
    enable_password_grant: bool | None = None
    # Sign-up with an address that has an account: false (default) answers as for a fresh
    # sign-up and mails the owner a notice, so sign-up cannot tell who is registered;
    # true answers 422 "email: is already taken", as Mastodon does.
    reveal_taken_emails: bool = False
    # Sign-up also checks the e-mail domain's mail exchangers (DNS MX) against the e-mail
    # domain blocks, as Mastodon does; off by default (it needs DNS).
    email_domain_mx_check: bool = False
    # Tests only (refused unless ENVIRONMENT=test): Argon2id at its lowest cost, so the
    # thousands of users a test run makes do not spend minutes of CPU on hashing.
    fast_password_hashing_for_tests: bool = False
    smtp_url: str | None = None
    mail_from: str = "ConnectHub <notifications@localhost>"
    outbox_dir: str = "./data/outbox"

    # Sign-in with OpenID Connect: OIDC_PROVIDERS is a JSON list of
    # {"name", "label", "issuer", "client_id", "client_secret"}; GOOGLE_CLIENT_ID and
    # GOOGLE_CLIENT_SECRET add Google without writing JSON.
    oidc_providers: list[OidcProvider] = Field(default_factory=list)
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    # Version of the terms of service and privacy policy that sign-up records consent to
    # until an admin publishes a terms document (then its effective date is the version).
    terms_version: str = "2026-01"

    # Retention (privacy/retention.py, docs/privacy.md): how long each kind of record is
    # kept before the retention job purges it; the job runs every RETENTION_INTERVAL_SECONDS
    # (0: never) from the sweeper, wherever jobs run.
    retention_interval_seconds: float = Field(default=3600.0, ge=0, le=7 * 86_400)
    # IP addresses in browser sessions and on tokens (sign-in history), by sign-in date.
    retention_ip_days: int = Field(default=365, ge=1, le=36_500)
    # Tokens revoked (or expired without a refresh token) this long ago; their rows keep
    # a replayed refresh token detectable until then.
    retention_ended_token_days: int = Field(default=90, ge=1, le=36_500)
    # Browser sessions signed out or revoked this long ago.
    retention_ended_session_days: int = Field(default=90, ge=1, le=36_500)
    # OAuth authorization codes (one-time codes), used or expired this long ago.
    retention_used_code_days: int = Field(default=7, ge=1, le=36_500)
    # Idempotency-Key records (only the first hour is ever read).
    retention_idempotency_hours: int = Field(default=24, ge=1, le=87_600)

    # Product analytics (analytics/, docs/analytics.md): events of consenting accounts only,
    # pseudonymised under a key replaced every ANALYTICS_KEY_ROTATION_DAYS, kept
    # ANALYTICS_EVENT_DAYS; a published cell needs ANALYTICS_MIN_GROUP distinct accounts
    # (k) and carries Laplace noise of scale 1/ANALYTICS_EPSILON (0: no noise).
    analytics_key_rotation_days: int = Field(default=7, ge=1, le=366)
    analytics_event_days: int = Field(default=35, ge=1, le=3660)
    analytics_min_group: int = Field(default=10, ge=1, le=1_000_000)
    analytics_epsilon: float = Field(default=1.0, ge=0, le=100)

    # Streaming (WebSocket + SSE): browser origins allowed to open a socket besides this
    # host (empty: any origin, as Mastodon, since streams are authenticated by token only;
    # clients that send no Origin header are always allowed).
    streaming_allowed_origins: CommaList = Field(default_factory=list)
    streaming_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    # Events buffered per connection before a slow consumer is disconnected.
    streaming_max_pending: int = Field(default=1000, ge=1, le=1_000_000)
    # Caps on what one client can hold open: subscriptions on one WebSocket, connections
    # (WebSocket or SSE) per access token and per account, across every server process.
    streaming_max_subscriptions: int = Field(default=100, ge=1, le=100_000)
    streaming_max_connections_per_token: int = Field(default=50, ge=1, le=100_000)
    streaming_max_connections_per_account: int = Field(default=100, ge=1, le=100_000)
    # Presence and connection-count entries live this long in Redis unless their server
    # process refreshes them (distributed mode): a process that dies leaks nothing longer.
    presence_ttl_seconds: int = Field(default=60, ge=3, le=3600)
    typing_seconds: int = Field(default=6, ge=1, le=60)

    # Observability
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "connecthub"
    sentry_dsn: str | None = None
    # `/metrics` asks for `Authorization: Bearer METRICS_TOKEN` when this is set; unset, it is
    # open outside production and absent (404) in production.
    metrics_token: str = ""
    # `/docs`, `/redoc` and `/openapi.json`: unset means on outside production, off in it.
    api_docs_enabled: bool | None = None

    @field_validator(
        "rate_limit_ip",
        "rate_limit_token",
        "rate_limit_account",
        "rate_limit_sign_up",
        "rate_limit_sign_in_ip",
        "rate_limit_sign_in_email",
        "rate_limit_password",
        mode="before",
    )
    @classmethod
    def _parse_rate(cls, value: object) -> RateLimit:
        return RateLimit.parse(value)

    @field_validator(
        "instance_rules",
        "instance_languages",
        "trusted_proxies",
        "database_replica_urls",
        "task_modules",
        "push_endpoint_test_hosts",
        "preview_card_allowed_hosts",
        mode="before",
    )
    @classmethod
    def _parse_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("streaming_allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @field_validator("database_url", "database_replica_urls", "database_direct_url")
    @classmethod
    def _check_database_url(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is None or value == "":
            return None if value == "" else value
        for url in [value] if isinstance(value, str) else value:
            if not url.startswith(("sqlite", "postgresql", "postgres://")):
                raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value == "":
            return None
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @model_validator(mode="before")
    @classmethod
    def _local_domain_follows_port(cls, data: object) -> object:
        """Without LOCAL_DOMAIN the instance is this machine's server at its own port: the
        links, media URLs and OAuth redirects it emits point where it listens
        (`PORT=9000 make run`), not at the default port."""
        if isinstance(data, dict) and not data.get("local_domain") and "port" in data:
            return {**data, "local_domain": f"localhost:{data['port']}"}
        return data

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.secret_key == DEFAULT_SECRET:
                raise ValueError(
                    "SECRET_KEY: the development default is refused in production; "
                    "set a random value of at least 32 characters"
                )
            if len(self.secret_key) < 32:
                raise ValueError("SECRET_KEY: must be at least 32 characters in production")
        return self

    @model_validator(mode="after")
    def _check_database_topology(self) -> Settings:
        if self.is_sqlite and self.database_pooler != "none":
            raise ValueError("DATABASE_POOLER: a pooler needs a postgresql:// DATABASE_URL")
        if self.is_sqlite and self.database_direct_url is not None:
            raise ValueError("DATABASE_DIRECT_URL: only for a postgresql:// DATABASE_URL")
        ryw = self.database_read_your_writes_seconds
        if ryw and ryw <= self.database_replica_max_lag_seconds:
            raise ValueError(
                "DATABASE_READ_YOUR_WRITES_SECONDS: must exceed "
                "DATABASE_REPLICA_MAX_LAG_SECONDS (or be 0: off)"
            )
        return self

    @model_validator(mode="after")
    def _check_vapid_keys(self) -> Settings:
        if self.vapid_private_key is None:
            if self.vapid_public_key:
                raise ValueError("VAPID_PUBLIC_KEY: set VAPID_PRIVATE_KEY with it")
            return self
        raw = self.vapid_private_key.get_secret_value().strip()
        try:
            scalar = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            if len(scalar) != 32:
                raise ValueError
            key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
        except ValueError:
            raise ValueError("VAPID_PRIVATE_KEY: not a base64url P-256 private key") from None
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        derived = base64.urlsafe_b64encode(point).rstrip(b"=").decode()
        if self.vapid_public_key and self.vapid_public_key.rstrip("=") != derived:
            raise ValueError("VAPID_PUBLIC_KEY: is not the key VAPID_PRIVATE_KEY derives")
        return self

    @model_validator(mode="after")
    def _refuse_fast_hashing_outside_tests(self) -> Settings:
        if self.fast_password_hashing_for_tests and self.environment is not Environment.TEST:
            raise ValueError(
                "FAST_PASSWORD_HASHING_FOR_TESTS: only with ENVIRONMENT=test; "
                "real passwords are always hashed at full cost"
            )
        return self

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: str) -> str:
        if value and len(value) < 24:
            raise ValueError("must be at least 24 characters (a random value)")
        return value

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        if bool(self.google_client_id) != bool(self.google_client_secret):
            raise ValueError("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together")
        names = [provider.name for provider in self.sign_in_providers]
        if len(names) != len(set(names)):
            raise ValueError("OIDC_PROVIDERS: provider names must be unique (google included)")
        return self

    @property
    def sign_in_providers(self) -> list[OidcProvider]:
        """Every configured OpenID Connect provider, Google's shortcut included."""
        providers = list(self.oidc_providers)
        if self.google_client_id and self.google_client_secret:
            google = OidcProvider(
                name="google",
                label="Google",
                issuer=GOOGLE_ISSUER,
                client_id=self.google_client_id,
                client_secret=self.google_client_secret,
            )
            providers.insert(0, google)
        return providers

    @property
    def base_url(self) -> str:
        """This server's public origin, the root of every absolute URL it emits: built
        from LOCAL_DOMAIN and BEHIND_TLS only, never from a request's Host header, which
        any client can forge."""
        scheme = "https" if self.behind_tls else "http"
        return f"{scheme}://{self.local_domain}"

    @property
    def requests_in_flight_limit(self) -> int | None:
        """MAX_REQUESTS_IN_FLIGHT, or the database pool's size when unset; None: no limit."""
        if self.max_requests_in_flight is None:
            return self.database_pool_size + self.database_max_overflow
        return self.max_requests_in_flight or None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_embedded(self) -> bool:
        return self.is_sqlite and self.redis_url is None

    @property
    def runs_jobs_in_server(self) -> bool:
        if self.jobs_in_server is not None:
            return self.jobs_in_server
        return self.redis_url is None

    @property
    def serves_api_docs(self) -> bool:
        if self.api_docs_enabled is not None:
            return self.api_docs_enabled
        return self.environment is not Environment.PRODUCTION

    @property
    def metrics_open_without_token(self) -> bool:
        """`/metrics` without a token: only outside production, and only when none is set."""
        return not self.metrics_token and self.environment is not Environment.PRODUCTION

    @property
    def password_grant_enabled(self) -> bool:
        if self.enable_password_grant is not None:
            return self.enable_password_grant
        return self.environment is not Environment.PRODUCTION


class ConfigurationError(Exception):
    """Raised with one line per invalid variable, ready to print."""


def describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        location = "_".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{location}: {message}" if location else message)
    return "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
