"""Every domain's tables, imported in one place so Alembic sees the whole schema."""

from connecthub.accounts import models as accounts_models
from connecthub.analytics import models as analytics_models
from connecthub.announcements import models as announcements_models
from connecthub.cards import models as cards_models
from connecthub.conversations import models as conversations_models
from connecthub.denylists import models as denylists_models
from connecthub.detection import models as detection_models
from connecthub.emojis import models as emojis_models
from connecthub.explore import models as explore_models
from connecthub.filters import models as filters_models
from connecthub.flags import models as flags_models
from connecthub.infra import audit_trail, idempotency, job_outbox
from connecthub.infra.db import Base
from connecthub.media import models as media_models
from connecthub.notifications import models as notifications_models
from connecthub.oidc import models as oidc_models
from connecthub.portability import models as portability_models
from connecthub.privacy import models as privacy_models
from connecthub.push import models as push_models
from connecthub.relationships import models as relationships_models
from connecthub.reports import models as reports_models
from connecthub.scheduled import models as scheduled_models
from connecthub.statuses import models as statuses_models
from connecthub.strikes import models as strikes_models
from connecthub.timelines import models as timelines_models

__all__ = [
    "Base",
    "accounts_models",
    "analytics_models",
    "announcements_models",
    "audit_trail",
    "cards_models",
    "conversations_models",
    "denylists_models",
    "detection_models",
    "emojis_models",
    "explore_models",
    "filters_models",
    "flags_models",
    "idempotency",
    "job_outbox",
    "media_models",
    "notifications_models",
    "oidc_models",
    "portability_models",
    "privacy_models",
    "push_models",
    "relationships_models",
    "reports_models",
    "scheduled_models",
    "statuses_models",
    "strikes_models",
    "timelines_models",
]
