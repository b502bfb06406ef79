"""notification's use cases: each takes its dependencies and the time, and does one thing."""

from notification.workflow.dispatch import dispatch, dispatch_backlog
from notification.workflow.planning import handle_event
from notification.workflow.views import (
    check_gateway_token,
    delivery_log,
    preview,
    refresh_gauges,
    sms_report,
    template_list,
)
from notification.workflow.webhooks import (
    delete_subscriber,
    redrive,
    seal_clear_secrets,
    show_subscriber,
    subscribe,
    subscriber_list,
)

__all__ = [
    "check_gateway_token",
    "delete_subscriber",
    "delivery_log",
    "dispatch",
    "dispatch_backlog",
    "handle_event",
    "preview",
    "redrive",
    "refresh_gauges",
    "seal_clear_secrets",
    "show_subscriber",
    "sms_report",
    "subscribe",
    "subscriber_list",
    "template_list",
]
