"""`droplet_alerts`: DigitalOcean Monitoring alert policies for CPU, memory and disk on the stack's Droplets.

Creates three `MonitorAlert`s over the roles' tags, each averaged over a
window, mailed to `dixi:doAlertEmails` (DigitalOcean mails only addresses of
the team's members). Memory and disk figures come from the monitoring agent,
which every Droplet of the stack runs (`monitoring=True`). With no address
set, none are created and the stack output says so: an alert nobody
receives is noise in the control panel.

Left out: load balancer and bus alerts, Slack channels, uptime checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pulumi
import pulumi_digitalocean as digitalocean
from pulumi import ResourceOptions

# (metric, percent, what it means); type names from monitor_alert.py's `type` documentation.
ALERTS: Final = (
    ("v1/insights/droplet/cpu", 90.0, "CPU above 90% for 10 minutes"),
    ("v1/insights/droplet/memory_utilization_percent", 90.0, "memory above 90% for 10 minutes"),
    ("v1/insights/droplet/disk_utilization_percent", 85.0, "disk above 85% for 10 minutes"),
)
WINDOW: Final = "10m"


def droplet_alerts(
    name: str, stack: str, tags: Sequence[pulumi.Input[str]], emails: Sequence[str], parent: pulumi.Resource
) -> list[digitalocean.MonitorAlert]:
    if not emails:
        return []
    return [
        digitalocean.MonitorAlert(
            f"{name}-{metric.rsplit('/', 1)[-1].split('_')[0]}",
            type=metric,
            compare="GreaterThan",
            value=value,
            window=WINDOW,
            description=f"Dixi {stack}: {what}",
            tags=list(tags),
            enabled=True,
            alerts=digitalocean.MonitorAlertAlertsArgs(emails=list(emails)),
            opts=ResourceOptions(parent=parent),
        )
        for metric, value, what in ALERTS
    ]
