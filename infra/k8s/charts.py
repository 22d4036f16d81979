"""The upstream Helm charts the Kubernetes stacks install, each pinned to one exact version.

A table that `addons.py` and `event_bus.py` read (and tests can list), and
`pinned_release`, the one way an entry becomes a `helm.v3.Release` (a real
Helm release: one custom resource, whose rendered objects the offline plan
never sees). Each entry says where the version (and the
values the components set) was confirmed, and when. A version is always an
exact release, never a range: `pulumi up` a month later installs the same chart.

How to update one (checklist class 11, drift from upstream): read the chart's
release notes and values at the new tag in the `source` repository, bump
`version` and `read` together, and rerun `tests/infra/test_k8s_addons.py` and
`tests/infra/test_k8s_event_bus.py`, whose assertions cite the chart templates
the components rely on (labels, value keys). Helm installs CRDs from a chart's
`crds/` directory on install only: an upgrade of Envoy Gateway does not upgrade
the Gateway API CRDs (see `addons.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import pulumi
import pulumi_kubernetes.helm.v3 as helm
from pulumi import ResourceOptions

# Helm keeps one Secret per revision; ten is enough to roll back.
MAX_HISTORY: Final = 10


@dataclass(frozen=True)
class PinnedChart:
    """One chart at one exact version, from a classic repository (`repo`) or an OCI reference (`chart`)."""

    name: str  # our key for it
    chart: str  # the chart's name in `repo`, or its full `oci://` reference
    repo: str | None  # the Helm repository URL; None for an OCI chart
    version: str  # exact: `helm install --version <this>`
    app_version: str  # what the chart runs at that version
    source: str  # the repository (and path) the version and values were confirmed in
    read: str  # the date that source was read (ISO 8601)


ENVOY_GATEWAY: Final = PinnedChart(
    name="envoy-gateway",
    chart="oci://docker.io/envoyproxy/gateway-helm",
    repo=None,
    # The OCI tags carry the leading "v" (tools/make/helm.mk: CHART_VERSION = RELEASE_VERSION;
    # site/content/en/v1.9/install/install-helm.md: `--version {{< helm-version >}}`, e.g. v1.9.0).
    version="v1.9.3",
    app_version="v1.9.3",
    # v1.9.3 (2026-10-03, Envoy 1.39.2 for CVE-2026-35189): site/content/en/news/releases/notes/v1.9.3.md,
    # the newest 1.x release note; chart values read at v1.9.0 (charts/gateway-helm/values.tmpl.yaml).
    source="github:envoyproxy/gateway charts/gateway-helm, site/content/en/news/releases/notes/v1.9.3.md",
    read="2026-11-30",
)

CERT_MANAGER: Final = PinnedChart(
    name="cert-manager",
    chart="oci://quay.io/jetstack/charts/cert-manager",
    repo=None,
    version="v1.21.1",
    app_version="v1.21.1",
    # Tag v1.21.1 (2026-07-29) is the newest 1.21.x: git tags, and cert-manager/website
    # content/docs/releases/release-notes/release-notes-1.21.md (changelog v1.21.1).
    source="github:cert-manager/cert-manager deploy/charts/cert-manager (tag v1.21.1)",
    read="2026-11-30",
)

NVIDIA_DEVICE_PLUGIN: Final = PinnedChart(
    name="nvidia-device-plugin",
    chart="nvidia-device-plugin",
    repo="https://nvidia.github.io/k8s-device-plugin",
    version="0.20.0",
    app_version="0.20.0",
    # deployments/helm/nvidia-device-plugin/Chart.yaml at v0.20.0, and the repository's
    # index (gh-pages index.yaml, generated 2026-08-20) lists 0.20.0 as the newest.
    source="github:NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin (tag v0.20.0)",
    read="2026-11-30",
)

VALKEY: Final = PinnedChart(
    name="valkey",
    chart="valkey",
    repo="https://valkey.io/valkey-helm/",
    version="0.11.0",
    # The chart runs docker.io/valkey/valkey:<appVersion> when image.tag is empty (templates/_helpers.tpl).
    app_version="9.1.1",
    # valkey/Chart.yaml at tag valkey-0.11.0 (2026-07-22), the newest valkey-* tag; repo URL from README.md.
    source="github:valkey-io/valkey-helm valkey/ (tag valkey-0.11.0)",
    read="2026-11-30",
)

CHARTS: Final = MappingProxyType({c.name: c for c in (ENVOY_GATEWAY, CERT_MANAGER, NVIDIA_DEVICE_PLUGIN, VALKEY)})


def pinned_release(
    resource_name: str,
    chart: PinnedChart,
    *,
    release_name: str,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    create_namespace: bool,
    timeout: int,
    opts: ResourceOptions,
) -> helm.Release:
    """A real Helm release of `chart` at its pinned version, with the settings every release here shares.

    The release name is explicit (Pulumi would otherwise add a random suffix,
    and the charts derive object names from it). `atomic` uninstalls a failed
    install and rolls back a failed upgrade (it also makes Helm wait until the
    release's workloads are ready, so dependents start after it);
    `cleanup_on_fail` deletes what a failed upgrade created; `timeout` (seconds)
    bounds that wait; `max_history` keeps Helm's release Secrets from piling up.
    """
    return helm.Release(
        resource_name,
        name=release_name,
        chart=chart.chart,
        version=chart.version,
        repository_opts=helm.RepositoryOptsArgs(repo=chart.repo) if chart.repo else None,
        namespace=namespace,
        create_namespace=create_namespace,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        timeout=timeout,
        max_history=MAX_HISTORY,
        opts=opts,
    )
