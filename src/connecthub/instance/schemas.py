"""The instance entities as Mastodon shapes them (V1::Instance, Instance, Rule, …) and the
NodeInfo 2.0 documents. Field names are Mastodon's (and NodeInfo's camelCase) on purpose."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Rule(BaseModel):
    id: str = Field(description="A string, as Mastodon sends ids")
    text: str
    hint: str = ""


class StatusesConfiguration(BaseModel):
    max_characters: int
    max_media_attachments: int
    characters_reserved_per_url: int


class MediaConfigurationV1(BaseModel):
    supported_mime_types: list[str]
    image_size_limit: int
    image_matrix_limit: int
    video_size_limit: int
    video_frame_rate_limit: int
    video_matrix_limit: int


class MediaConfiguration(MediaConfigurationV1):
    description_limit: int


class PollsConfiguration(BaseModel):
    max_options: int
    max_characters_per_option: int
    min_expiration: int
    max_expiration: int


# --- GET /api/v1/instance (V1::Instance) ---


class AccountsConfigurationV1(BaseModel):
    max_featured_tags: int


class ConfigurationV1(BaseModel):
    accounts: AccountsConfigurationV1
    statuses: StatusesConfiguration
    media_attachments: MediaConfigurationV1
    polls: PollsConfiguration


class UrlsV1(BaseModel):
    streaming_api: str


class Stats(BaseModel):
    user_count: int
    status_count: int
    domain_count: int


class InstanceV1(BaseModel):
    uri: str
    title: str
    short_description: str
    description: str
    email: str
    version: str
    urls: UrlsV1
    stats: Stats
    thumbnail: str | None
    languages: list[str]
    registrations: bool
    approval_required: bool
    invites_enabled: bool
    configuration: ConfigurationV1
    contact_account: dict[str, Any] | None = None
    rules: list[Rule]


# --- GET /api/v2/instance (Instance) ---


class UsersUsage(BaseModel):
    active_month: int


class Usage(BaseModel):
    users: UsersUsage


class Thumbnail(BaseModel):
    url: str
    versions: dict[str, str] = Field(default_factory=dict, examples=[{"@1x": "…", "@2x": "…"}])


class Icon(BaseModel):
    src: str
    size: str = Field(examples=["192x192"])


class Urls(BaseModel):
    streaming: str
    status: str | None = None
    about: str
    privacy_policy: str | None = None
    terms_of_service: str | None = None


class Vapid(BaseModel):
    public_key: str


class AccountsConfiguration(BaseModel):
    max_featured_tags: int
    max_pinned_statuses: int
    max_profile_fields: int


class TranslationConfiguration(BaseModel):
    enabled: bool


class Configuration(BaseModel):
    urls: Urls
    vapid: Vapid
    accounts: AccountsConfiguration
    statuses: StatusesConfiguration
    media_attachments: MediaConfiguration
    polls: PollsConfiguration
    translation: TranslationConfiguration


class Registrations(BaseModel):
    enabled: bool
    approval_required: bool
    reason_required: bool
    message: str | None
    min_age: int | None
    url: str | None = None


class ApiVersions(BaseModel):
    mastodon: int


class Contact(BaseModel):
    email: str
    account: dict[str, Any] | None = None


class Instance(BaseModel):
    domain: str
    title: str
    version: str
    source_url: str
    description: str
    usage: Usage
    thumbnail: Thumbnail
    icon: list[Icon]
    languages: list[str]
    configuration: Configuration
    registrations: Registrations
    api_versions: ApiVersions
    contact: Contact
    rules: list[Rule]


# --- the smaller instance endpoints ---


class Activity(BaseModel):
    """One week; every value is a string, as Mastodon sends them."""

    week: str = Field(description="UNIX time of Monday 00:00 UTC starting the week")
    statuses: str
    logins: str
    registrations: str


class ExtendedDescription(BaseModel):
    updated_at: str
    content: str = Field(description="HTML")


class Language(BaseModel):
    code: str
    name: str


class DomainBlock(BaseModel):
    domain: str
    digest: str
    severity: str
    comment: str | None = None


# --- NodeInfo 2.0 (https://nodeinfo.diaspora.software/) ---


class NodeInfoLink(BaseModel):
    rel: str
    href: str


class NodeInfoDiscovery(BaseModel):
    links: list[NodeInfoLink]


class NodeInfoSoftware(BaseModel):
    name: str
    version: str


class NodeInfoServices(BaseModel):
    inbound: list[str] = Field(default_factory=list)
    outbound: list[str] = Field(default_factory=list)


class NodeInfoUsers(BaseModel):
    total: int
    activeMonth: int
    activeHalfyear: int


class NodeInfoUsage(BaseModel):
    users: NodeInfoUsers
    localPosts: int


class NodeInfo(BaseModel):
    version: str
    software: NodeInfoSoftware
    protocols: list[str]
    services: NodeInfoServices
    usage: NodeInfoUsage
    openRegistrations: bool
    metadata: dict[str, Any]
