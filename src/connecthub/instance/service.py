"""What the server tells clients about itself: identity, limits, rules and statistics.

Everything except the statistics comes from settings. Statistics are counted by the
repository and cached for `INSTANCE_STATS_CACHE_SECONDS`, because every client asks for the
instance on start-up and the counts need not be exact to the second.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import MASTODON_API_COMPAT, __version__
from connecthub.clock import monotonic, utcnow
from connecthub.config import RegistrationMode, Settings
from connecthub.infra.cache import Cache
from connecthub.infra.engines import Engines
from connecthub.instance import limits, repository
from connecthub.instance import schemas as s
from connecthub.instance.languages import known_languages, language_name
from connecthub.push import service as push

# `api_versions.mastodon`, by what Mastodon's documentation marks each level with: 2 is
# Mastodon 4.3 (grouped notifications, /api/v2/notifications), 3-5 are 4.4 (attribution
# domains, DELETE /api/v1/media/:id, the `blur` filter action), 7 is 4.5 (quotes), 8-10 are
# 4.6 (annual report states, avatar descriptions, collections). Grouped notifications are
# served, but not the rest of 4.3 (the notification policy and requests: clients that see 4.3
# open those screens), so 1, the level before, with MASTODON_API_COMPAT 4.2.0; the two move
# up together (tests/schemas/test_routes.py holds them).
MASTODON_API_VERSION = 1
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.0"
NODEINFO_PATH = "/nodeinfo/2.0"
STATS_CACHE_KEY = "instance:stats:v1"
ACTIVITY_CACHE_KEY = "instance:activity:v1"
ACTIVITY_WEEKS = 12
THUMBNAIL_PATH = "/static/preview.png"
ICON_SIZES = (192, 512)
# Settings change only with a restart, so the start of this process dates them.
SETTINGS_LOADED_AT = utcnow()


def version() -> str:
    """Mastodon's version first, so clients that parse it enable the right features."""
    return f"{MASTODON_API_COMPAT} (compatible; ConnectHub {__version__})"


def streaming_url(settings: Settings) -> str:
    return f"{'wss' if settings.behind_tls else 'ws'}://{settings.local_domain}"


def rules(settings: Settings) -> list[s.Rule]:
    return [s.Rule(id=str(n), text=text) for n, text in enumerate(settings.instance_rules, 1)]


def registrations_open(settings: Settings) -> bool:
    return settings.registration_mode is not RegistrationMode.CLOSED


def approval_required(settings: Settings) -> bool:
    return settings.registration_mode is RegistrationMode.APPROVAL


# --- the documents, rendered ---

# (settings, expiry on the monotonic clock, JSON) per (settings, API version): held by
# identity, so an app built with other settings (tests build many) never reads another's.
_RENDERED: dict[tuple[int, int], tuple[Settings, float, bytes]] = {}


def held_document(engines: Engines, api_version: int) -> bytes | None:
    """`instance_document` when this process holds a rendering still fresh (no await);
    None when it must be rendered."""
    settings = engines.settings
    held = _RENDERED.get((id(settings), api_version))
    if held is not None and held[0] is settings and held[1] > monotonic():
        return held[2]
    return None


async def instance_document(engines: Engines, api_version: int) -> bytes:
    """`/api/v1/instance` or `/api/v2/instance` as JSON, rendered at most once per
    INSTANCE_STATS_CACHE_SECONDS in each process. Every client fetches it at launch and
    nothing in it changes faster than the counts, which are cached as long; building it per
    request cost ~0.5 ms of CPU (a session, the cached counts, two models, serialising)."""
    settings = engines.settings
    ttl = settings.instance_stats_cache_seconds
    key = (id(settings), api_version)
    held = _RENDERED.get(key)
    now = monotonic()
    if held is not None and held[0] is settings and held[1] > now:
        return held[2]
    async with engines.db.session(readonly=True) as session:
        counts = await stats(session, engines.cache, settings)
    if api_version == 1:
        body = instance_v1(settings, counts).model_dump_json().encode()
    else:
        vapid_key = await push.public_key(engines)
        body = instance_v2(settings, counts, vapid_key).model_dump_json().encode()
    if ttl:
        _RENDERED[key] = (settings, now + ttl, body)
    return body


# --- statistics ---


async def stats(session: AsyncSession, cache: Cache, settings: Settings) -> repository.Counts:
    ttl = settings.instance_stats_cache_seconds
    if ttl:
        cached = await cache.get(STATS_CACHE_KEY)
        if cached is not None:
            return repository.Counts(**json.loads(cached))
    now = utcnow()
    counts = await repository.counts(
        session, month_ago=now - timedelta(days=30), halfyear_ago=now - timedelta(days=180)
    )
    if ttl:
        await cache.set(STATS_CACHE_KEY, json.dumps(asdict(counts)).encode(), ttl)
    return counts


async def invalidate_stats(cache: Cache) -> None:
    """For writers that want the counts fresh at once (e.g. after a sign-up commits)."""
    await cache.delete(STATS_CACHE_KEY, ACTIVITY_CACHE_KEY)


def _week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding `moment`."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def activity(session: AsyncSession, cache: Cache, settings: Settings) -> list[s.Activity]:
    """The last twelve weeks, newest first. `statuses` stays 0 until the statuses domain
    can count posts per week."""
    ttl = settings.instance_stats_cache_seconds
    if ttl:
        cached = await cache.get(ACTIVITY_CACHE_KEY)
        if cached is not None:
            return [s.Activity.model_validate(item) for item in json.loads(cached)]
    this_week = _week_start(utcnow())
    starts = [this_week - timedelta(weeks=n) for n in range(ACTIVITY_WEEKS)]
    weeks = await repository.weekly_activity(session, starts)
    result = [
        s.Activity(
            week=str(int(week.start.timestamp())),
            statuses="0",
            logins=str(week.logins),
            registrations=str(week.registrations),
        )
        for week in weeks
    ]
    if ttl:
        payload = json.dumps([item.model_dump() for item in result]).encode()
        await cache.set(ACTIVITY_CACHE_KEY, payload, ttl)
    return result


# --- the instance entities ---


def _statuses_configuration(settings: Settings) -> s.StatusesConfiguration:
    return s.StatusesConfiguration(
        max_characters=settings.max_status_characters,
        max_media_attachments=limits.MAX_MEDIA_ATTACHMENTS,
        characters_reserved_per_url=limits.CHARACTERS_RESERVED_PER_URL,
    )


def _media_configuration(settings: Settings) -> s.MediaConfiguration:
    # The media limits are settings (enforced by media/validation.py); publish those.
    return s.MediaConfiguration(
        supported_mime_types=list(limits.SUPPORTED_MIME_TYPES),
        description_limit=limits.MEDIA_DESCRIPTION_LIMIT,
        image_size_limit=settings.media_image_max_bytes,
        image_matrix_limit=settings.media_image_max_pixels,
        video_size_limit=settings.media_video_max_bytes,
        video_frame_rate_limit=limits.VIDEO_FRAME_RATE_LIMIT,
        video_matrix_limit=limits.VIDEO_MATRIX_LIMIT,
    )


def _polls_configuration() -> s.PollsConfiguration:
    return s.PollsConfiguration(
        max_options=limits.POLL_MAX_OPTIONS,
        max_characters_per_option=limits.POLL_MAX_CHARACTERS_PER_OPTION,
        min_expiration=limits.POLL_MIN_EXPIRATION_SECONDS,
        max_expiration=limits.POLL_MAX_EXPIRATION_SECONDS,
    )


def instance_v1(settings: Settings, counts: repository.Counts) -> s.InstanceV1:
    base_url = settings.base_url
    return s.InstanceV1(
        uri=settings.local_domain,
        title=settings.instance_title,
        short_description=settings.instance_description,
        description=html.escape(settings.instance_description),
        email=settings.instance_contact_email,
        version=version(),
        urls=s.UrlsV1(streaming_api=streaming_url(settings)),
        # No federation yet: no other domains are known.
        stats=s.Stats(user_count=counts.users, status_count=counts.local_posts, domain_count=0),
        thumbnail=base_url + THUMBNAIL_PATH,
        languages=list(settings.instance_languages),
        registrations=registrations_open(settings),
        approval_required=approval_required(settings),
        invites_enabled=False,
        configuration=s.ConfigurationV1(
            accounts=s.AccountsConfigurationV1(max_featured_tags=limits.MAX_FEATURED_TAGS),
            statuses=_statuses_configuration(settings),
            media_attachments=s.MediaConfigurationV1(
                **_media_configuration(settings).model_dump(exclude={"description_limit"})
            ),
            polls=_polls_configuration(),
        ),
        rules=rules(settings),
    )


def instance_v2(settings: Settings, counts: repository.Counts, vapid_key: str) -> s.Instance:
    base_url = settings.base_url
    thumbnail = base_url + THUMBNAIL_PATH
    return s.Instance(
        domain=settings.local_domain,
        title=settings.instance_title,
        version=version(),
        source_url=settings.instance_source_url,
        description=settings.instance_description,
        usage=s.Usage(users=s.UsersUsage(active_month=counts.active_month)),
        thumbnail=s.Thumbnail(url=thumbnail, versions={"@1x": thumbnail, "@2x": thumbnail}),
        icon=[
            s.Icon(src=f"{base_url}/static/icon-{size}.png", size=f"{size}x{size}")
            for size in ICON_SIZES
        ],
        languages=list(settings.instance_languages),
        configuration=s.Configuration(
            urls=s.Urls(streaming=streaming_url(settings), about=f"{base_url}/about"),
            vapid=s.Vapid(public_key=vapid_key),
            accounts=s.AccountsConfiguration(
                max_featured_tags=limits.MAX_FEATURED_TAGS,
                max_pinned_statuses=limits.MAX_PINNED_STATUSES,
                max_profile_fields=limits.MAX_PROFILE_FIELDS,
            ),
            statuses=_statuses_configuration(settings),
            media_attachments=_media_configuration(settings),
            polls=_polls_configuration(),
            translation=s.TranslationConfiguration(enabled=False),
        ),
        registrations=s.Registrations(
            enabled=registrations_open(settings),
            approval_required=approval_required(settings),
            reason_required=False,
            message=None,
            min_age=settings.min_signup_age or None,
        ),
        api_versions=s.ApiVersions(mastodon=MASTODON_API_VERSION),
        contact=s.Contact(email=settings.instance_contact_email),
        rules=rules(settings),
    )


def extended_description(settings: Settings) -> s.ExtendedDescription:
    paragraphs = [p.strip() for p in settings.instance_description.split("\n\n") if p.strip()]
    return s.ExtendedDescription(
        updated_at=SETTINGS_LOADED_AT.isoformat().replace("+00:00", "Z"),
        content="".join(f"<p>{html.escape(p)}</p>" for p in paragraphs),
    )


def languages(settings: Settings) -> list[s.Language]:
    """Languages posts may be tagged with: the instance's own first, then the others."""
    codes = list(dict.fromkeys([*settings.instance_languages, *known_languages()]))
    return [s.Language(code=code, name=language_name(code)) for code in codes]


# --- NodeInfo ---


def nodeinfo_discovery(settings: Settings) -> s.NodeInfoDiscovery:
    return s.NodeInfoDiscovery(
        links=[s.NodeInfoLink(rel=NODEINFO_SCHEMA, href=settings.base_url + NODEINFO_PATH)]
    )


def nodeinfo(settings: Settings, counts: repository.Counts) -> s.NodeInfo:
    return s.NodeInfo(
        version="2.0",
        software=s.NodeInfoSoftware(name="connecthub", version=__version__),
        # Federation (ActivityPub) is not implemented yet, so no protocol is claimed.
        protocols=[],
        services=s.NodeInfoServices(),
        usage=s.NodeInfoUsage(
            users=s.NodeInfoUsers(
                total=counts.users,
                activeMonth=counts.active_month,
                activeHalfyear=counts.active_halfyear,
            ),
            localPosts=counts.local_posts,
        ),
        openRegistrations=settings.registration_mode is RegistrationMode.OPEN,
        metadata={
            "nodeName": settings.instance_title,
            "nodeDescription": settings.instance_description,
        },
    )
