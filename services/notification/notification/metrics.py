"""notification's metrics (the kit's cover latency, consumed events, outbox and dead letters)."""

from prometheus_client import Counter, Gauge

SENT = Counter(
    "motcua_notification_sent_total",
    "Messages handed over (or delivered) per channel and template.",
    ["channel", "template"],
)
FAILED = Counter(
    "motcua_notification_failed_total",
    "Failed attempts: temporary (will be retried), permanent, exhausted (retries spent).",
    ["channel", "template", "failure"],
)
RETRIED = Counter(
    "motcua_notification_retried_total",
    "Attempts scheduled again after a temporary failure.",
    ["channel", "template"],
)
DELIVERED = Counter(
    "motcua_notification_delivery_reports_total",
    "Delivery reports received from the SMS gateway, per outcome.",
    ["outcome"],
)
DEFERRED = Counter(
    "motcua_notification_deferred_total", "Messages held back when queued.", ["channel", "reason"]
)
PENDING = Gauge(
    "motcua_notification_pending", "Deliveries not yet sent (incl. retrying, held).", ["channel"]
)
OLDEST_PENDING_AGE = Gauge(
    "motcua_notification_oldest_pending_age_seconds",
    "Age of the oldest delivery not yet sent.",
    ["channel"],
)
WEBHOOKS_SUSPENDED = Gauge(
    "motcua_notification_webhooks_suspended", "Webhook subscribers suspended (at scrape time)."
)
WEBHOOKS_SUSPENDED_TOTAL = Counter(
    "motcua_notification_webhook_suspensions_total", "Times a webhook subscriber was suspended."
)
