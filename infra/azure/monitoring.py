"""`LogAnalytics`: the workspace the cluster's Container insights writes to, and what it collects.

Creates a Log Analytics workspace (pay-as-you-go `PerGB2018`, 30 days'
retention, the free interactive window, and a daily ingestion cap so that a
chatty pod cannot run up the bill: past the cap, collection stops until the
next UTC day) and a data collection rule for Container insights with the
"cost-optimized" streams: container logs (ContainerLogV2), Kubernetes events
and pod inventory, every 5 minutes. The cluster's `omsagent` add-on (Azure
Monitor agent, Microsoft Entra auth) sends through it once infra/azure/aks.py
associates the rule with the cluster.

The rule's shape follows Microsoft's Container insights samples (the DCR with
`ContainerInsightsExtension`, `extensionName: ContainerInsights`,
`dataCollectionSettings` {interval, namespaceFilteringMode, enableContainerLogV2})
in MicrosoftDocs/azure-monitor-docs (container-insights-transformations,
container-insights-cost-config) and the Azure CLI's own onboarding code
(azure-cli, acs/azuremonitormetrics and addonconfiguration.py), read as
second-hand copies in the code index.

Left out: Managed Prometheus and Grafana (their own workspace and prices),
alert rules, and Basic-plan tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
from pulumi import Output, ResourceOptions
from pulumi_azure_native import monitor, operationalinsights

RETENTION_DAYS: Final = 30  # the retention included in ingestion (Azure Monitor Logs pricing)
# About 3 GB a month at most: the pricing assumption (infra/azure/prices.py) is what this cap allows.
DAILY_CAP_GB: Final = 0.1
STREAMS: Final = ("Microsoft-ContainerLogV2", "Microsoft-KubeEvents", "Microsoft-KubePodInventory")
COLLECTION_INTERVAL: Final = "5m"
# The namespaces whose logs are kept: the app, its gateway, cert-manager (the add-ons that can fail it).
LOGGED_NAMESPACES: Final = ("dixi", "envoy-gateway-system", "cert-manager", "nvidia-device-plugin")
DESTINATION: Final = "ciworkspace"


@dataclass(frozen=True)
class LogAnalyticsArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]


class LogAnalytics(pulumi.ComponentResource):
    workspace_id: Output[str]
    collection_rule_id: Output[str]

    def __init__(self, name: str, args: LogAnalyticsArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:azure:LogAnalytics", name, None, opts)
        child = ResourceOptions(parent=self)
        workspace = operationalinsights.Workspace(
            f"{name}-workspace",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=RETENTION_DAYS,
            workspace_capping=operationalinsights.WorkspaceCappingArgs(daily_quota_gb=DAILY_CAP_GB),
            tags=args.tags,
            opts=child,
        )
        rule = monitor.DataCollectionRule(
            f"{name}-containers",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="Linux",
            description="Container insights, cost-optimized: container logs, Kubernetes events and pod inventory",
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                extensions=[
                    monitor.ExtensionDataSourceArgs(
                        name="ContainerInsightsExtension",
                        extension_name="ContainerInsights",
                        streams=list(STREAMS),
                        extension_settings={
                            "dataCollectionSettings": {
                                "interval": COLLECTION_INTERVAL,
                                # Only the namespaces Dixi runs in: kube-system alone can use up the
                                # daily cap, after which the app's logs stop for the day.
                                "namespaceFilteringMode": "Include",
                                "namespaces": list(LOGGED_NAMESPACES),
                                "enableContainerLogV2": True,
                            }
                        },
                    )
                ]
            ),
            destinations=monitor.DataCollectionRuleDestinationsArgs(
                log_analytics=[monitor.LogAnalyticsDestinationArgs(name=DESTINATION, workspace_resource_id=workspace.id)]
            ),
            data_flows=[monitor.DataFlowArgs(streams=list(STREAMS), destinations=[DESTINATION])],
            tags=args.tags,
            opts=child,
        )
        self.workspace_id = workspace.id
        self.collection_rule_id = rule.id
        self.register_outputs({"workspaceId": self.workspace_id, "collectionRuleId": self.collection_rule_id})
