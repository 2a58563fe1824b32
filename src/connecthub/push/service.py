"""Push subscription rules: one subscription per access token (subscribing again replaces
it), what each subscription wants pushed (alerts by type, and a policy on who from), and
the instance's VAPID key (settings, else one row made on first use and kept).

Other domains call `queue_pushes` inside their unit of work for the notifications they
created; the jobs (push/tasks.py) do the rest after commit, never the request."""

from __future__ import annotations

import json
import weakref

import structlog

from connecthub import entities
from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.errors import NotFound, ValidationFailed
from connecthub.infra.db import Database
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications.models import Notification
from connecthub.push import delivery, repository, schemas
from connecthub.push.delivery import EndpointRefused, check_endpoint
from connecthub.push.keys import VapidKeys, seal_token, unseal_token
from connecthub.push.models import WebPushSubscription
from connecthub.push.serializers import payload, subscription_entity

log = structlog.get_logger(__name__)

FAN_OUT_JOB = "push.notification"
DELIVER_JOB = "push.deliver"

# The database's key pair, read once per process (rotating it means restarting them all:
# docs/push.md). Keyed by the Database, as tests run several instances in one process.
_KEYS: weakref.WeakKeyDictionary[Database, VapidKeys] = weakref.WeakKeyDictionary()


async def vapid_keys(engines: Engines) -> VapidKeys:
    settings = engines.settings
    if settings.vapid_private_key is not None:
        return VapidKeys.from_private(settings.vapid_private_key.get_secret_value())
    known = _KEYS.get(engines.db)
    if known is not None:
        return known
    # A read first, on a reader: only the instance's very first start writes (a request that
    # already holds SQLite's write lock must not wait for a second writer), and a start that
    # only reads opens no writer connection. A replica behind the primary only costs a write
    # that keeps the row already there (`insert_vapid_row`).
    async with engines.db.session(readonly=True) as session:
        row = await repository.vapid_row(session)
    if row is None:
        async with engines.db.transaction() as session:
            fresh = VapidKeys.generate()
            await repository.insert_vapid_row(session, fresh.private_key, fresh.public_key)
            row = await repository.vapid_row(session)
    assert row is not None  # inserted now, or by a process that got there first
    keys = VapidKeys(private_key=row.private_key, public_key=row.public_key)
    _KEYS[engines.db] = keys
    return keys


async def rotate_vapid_keys(db: Database) -> tuple[VapidKeys | None, int]:
    """A new key pair in the database (None when the settings hold the key: it is changed
    there), and every subscription removed: push services bind a subscription to the key it
    was made with, so apps must subscribe again. Running processes keep the old key until
    they restart."""
    async with db.transaction() as session:
        removed = await repository.delete_all_subscriptions(session)
        if db.settings.vapid_private_key is not None:
            return None, removed
        fresh = VapidKeys.generate()
        await repository.replace_vapid_row(session, fresh.private_key, fresh.public_key)
    _KEYS.pop(db, None)
    return fresh, removed


async def public_key(engines: Engines) -> str:
    """`vapid_key` of the instance and of applications."""
    return (await vapid_keys(engines)).public_key


def test_hosts(engines: Engines) -> frozenset[str]:
    return frozenset(host.lower() for host in engines.settings.push_endpoint_test_hosts)


async def _entity(uow: UnitOfWork, row: WebPushSubscription) -> entities.WebPushSubscription:
    return subscription_entity(row, await public_key(uow.engines))


async def subscribe(
    uow: UnitOfWork,
    *,
    account_id: int,
    token_id: int,
    access_token: str,
    subscription: schemas.Subscription,
    data: schemas.Data,
) -> entities.WebPushSubscription:
    try:
        check_endpoint(subscription.endpoint, test_hosts(uow.engines))
    except EndpointRefused as refused:
        raise ValidationFailed("subscription[endpoint]", str(refused)) from None
    session = uow.session
    await repository.delete_for_token(session, token_id)
    row = WebPushSubscription(
        account_id=account_id,
        token_id=token_id,
        endpoint=subscription.endpoint,
        key_p256dh=subscription.key_p256dh,
        key_auth=subscription.key_auth,
        standard=subscription.standard,
        alerts=data.alerts,
        policy=data.policy,
        sealed_token=seal_token(uow.engines.settings.secret_key, access_token),
    )
    session.add(row)
    await session.flush()
    return await _entity(uow, row)


async def _own(uow: UnitOfWork, token_id: int) -> WebPushSubscription:
    row = await repository.by_token(uow.session, token_id)
    if row is None:
        raise NotFound()
    return row


async def get(uow: UnitOfWork, token_id: int) -> entities.WebPushSubscription:
    return await _entity(uow, await _own(uow, token_id))


async def update(
    uow: UnitOfWork, token_id: int, data: schemas.Data
) -> entities.WebPushSubscription:
    row = await _own(uow, token_id)
    row.alerts = data.alerts
    row.policy = data.policy
    row.updated_at = utcnow()
    await uow.session.flush()
    return await _entity(uow, row)


async def unsubscribe(uow: UnitOfWork, token_id: int) -> None:
    """Idempotent, as Mastodon's: no subscription is no error."""
    await repository.delete_for_token(uow.session, token_id)


def queue_pushes(uow: UnitOfWork, notification_ids: list[int]) -> None:
    """One push job per new notification, run after commit."""
    for notification_id in notification_ids:
        uow.enqueue(
            FAN_OUT_JOB, {"notification_id": notification_id}, job_id=f"push:{notification_id}"
        )


def wants(
    subscription: WebPushSubscription,
    notification_type: str,
    *,
    recipient_follows_sender: bool,
    sender_follows_recipient: bool,
) -> bool:
    """The subscription's alert for the type is on, and its policy lets the sender through."""
    if not subscription.alerts.get(notification_type, False):
        return False
    match subscription.policy:
        case "all":
            return True
        case "followed":
            return recipient_follows_sender
        case "follower":
            return sender_follows_recipient
        case _:
            return False


async def fan_out(uow: UnitOfWork, notification: Notification) -> None:
    """One delivery job per subscription of the recipient that wants this notification;
    subscriptions whose token is gone are removed on the way."""
    session = uow.session
    recipient_id = notification.account_id
    await repository.delete_dead(session, recipient_id)
    subscriptions = await repository.live_for_account(session, recipient_id)
    if not subscriptions:
        return
    follows, followed_by = await repository.follows(
        session, recipient_id, notification.from_account_id
    )
    for subscription in subscriptions:
        if wants(
            subscription,
            notification.type,
            recipient_follows_sender=follows,
            sender_follows_recipient=followed_by,
        ):
            uow.enqueue(
                DELIVER_JOB,
                {"subscription_id": subscription.id, "notification_id": notification.id},
                job_id=f"push:{notification.id}:{subscription.id}",
            )


def vapid_subject(settings: Settings) -> str:
    """Who to contact about our pushes (RFC 8292 `sub`): the contact address, else the
    instance's URL."""
    contact = settings.instance_contact_email
    return f"mailto:{contact}" if contact else settings.base_url


async def message(
    uow: UnitOfWork, subscription_id: int, notification: Notification, sender: Account
) -> delivery.Message | None:
    """The push message for one subscription, or None when there is nothing to send
    (the subscription is gone, or its token cannot be unsealed: SECRET_KEY changed)."""
    session = uow.session
    subscription = await repository.live_by_id(session, subscription_id)
    if subscription is None:
        return None
    settings = uow.engines.settings
    access_token = unseal_token(settings.secret_key, subscription.sealed_token)
    if access_token is None:
        log.warning("push.token_unsealable", subscription_id=subscription_id)
        return None
    status_text = None
    if notification.status_id is not None:
        status_text = await repository.status_text(session, notification.status_id)
    content = payload(
        settings,
        access_token=access_token,
        locale=await repository.locale(session, notification.account_id),
        notification_id=notification.id,
        notification_type=notification.type,
        sender=sender,
        status_text=status_text,
    )
    return delivery.Message(
        endpoint=subscription.endpoint,
        key_p256dh=subscription.key_p256dh,
        key_auth=subscription.key_auth,
        standard=subscription.standard,
        payload=json.dumps(content, ensure_ascii=False).encode(),
    )


async def forget(uow: UnitOfWork, subscription_id: int) -> None:
    """The push service says the subscription is gone (404, 410)."""
    await repository.delete_by_id(uow.session, subscription_id)
