"""The monthly estimate: each cloud's dated prices, how the plan's own resources are billed, what is left out.

These tests hold the estimator to its decisions (which row it bills, what it
assumes, what it refuses to guess); they do not restate the price table.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from infra import targets
from infra.aws import catalog
from infra.aws import prices as aws_prices
from infra.cost.estimate import estimate, pricers
from infra.cost.pricing import HOURS_PER_MONTH, Price
from infra.plan.model import RecordedPlan, RecordedResource
from infra.plan.run import Plan

PlanOf = Callable[..., Plan]


def _items(plan: Plan, resource_type: str) -> dict[str, float]:
    return {i.sku: i.monthly for i in plan.cost.items if i.resource.type == resource_type}


def test_every_price_of_every_cloud_has_a_source_and_a_date() -> None:
    table = [price for pricer in set(pricers().values()) for price in pricer.prices]
    assert table, "the registered clouds price something"
    for price in table:
        assert price.source.startswith("https://") and price.as_of and price.amount > 0, price


def test_every_gpu_type_the_config_accepts_has_a_price_in_every_region_it_accepts() -> None:
    for region in catalog.REGIONS:
        missing = set(catalog.GPU_TYPES) - set(aws_prices.INSTANCE_HOURLY.get(region, {}))
        assert not missing, f"{region}: accepted but not priced: {missing}"


def test_hourly_prices_are_billed_for_730_hours_and_monthly_ones_as_they_are() -> None:
    assert Price(1.0, "hour", "https://x").monthly(2) == 2 * HOURS_PER_MONTH
    assert Price(1.0, "GB-month", "https://x").monthly(2) == 2


def test_the_host_is_billed_as_its_own_type_in_its_own_region(plan_of: PlanOf) -> None:
    plan = plan_of(**{"aws:region": "us-west-2"})
    skus = _items(plan, "aws:ec2/instance:Instance")
    assert "g4dn.xlarge on-demand us-west-2" in skus, skus
    assert "EBS gp3 100 GB (root volume)" in skus and "public IPv4 address (host)" in skus


def test_a_bigger_instance_changes_only_the_hosts_instance_item(plan_of: PlanOf, ec2_plan: Plan) -> None:
    bigger = plan_of(**{"dixi:gpuInstanceType": "g5.xlarge"})
    before = {(i.resource, i.sku): i.monthly for i in ec2_plan.cost.items}
    after = {(i.resource, i.sku): i.monthly for i in bigger.cost.items}
    changed = {k[1] for k in set(before) ^ set(after)} | {k[1] for k in set(before) & set(after) if before[k] != after[k]}
    assert changed == {"g4dn.xlarge on-demand us-east-1", "g5.xlarge on-demand us-east-1"}, changed
    assert bigger.cost.monthly > ec2_plan.cost.monthly


def test_a_bigger_data_volume_costs_more(plan_of: PlanOf, ec2_plan: Plan) -> None:
    bigger = plan_of(**{"dixi:dataVolumeGiB": "500"})
    assert _items(bigger, "aws:ebs/volume:Volume") == {"EBS gp3 500 GB (data volume)": aws_prices.EBS_GP3_GB_MONTH.monthly(500)}
    assert bigger.cost.monthly > ec2_plan.cost.monthly


def test_usage_priced_items_say_the_usage_they_assume(ec2_plan: Plan) -> None:
    for resource_type in ("aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"):
        assert all("(assumed)" in sku for sku in _items(ec2_plan, resource_type)), resource_type
    logs = _items(ec2_plan, "aws:cloudwatch/logGroup:LogGroup")
    assert any("ingest" in sku and "(assumed)" in sku for sku in logs) and any("30-day retention" in sku for sku in logs)


def test_the_estimate_is_the_same_every_run(plan_of: PlanOf, ec2_plan: Plan) -> None:
    from infra.plan.run import plan_stack

    again = plan_stack("aws-ec2")
    assert [(i.resource, i.sku, i.monthly) for i in again.cost.items] == [(i.resource, i.sku, i.monthly) for i in ec2_plan.cost.items]
    assert again.cost.monthly == ec2_plan.cost.monthly


def test_the_default_stack_costs_less_than_half_the_seeds_aws_figure(ec2_plan: Plan) -> None:
    assert ec2_plan.cost.seed_monthly == aws_prices.SEED_MONTHLY
    assert ec2_plan.cost.monthly < ec2_plan.cost.seed_monthly / 2, ec2_plan.cost.monthly
    assert ec2_plan.cost.gpus == 1


def test_a_resource_type_without_a_price_is_listed_as_unpriced_not_guessed() -> None:
    transit = RecordedResource("aws:ec2transitgateway/transitGateway:TransitGateway", "tgw", True, None, {})
    unknown_cloud = RecordedResource("linode:index/instance:Instance", "vm", True, None, {})
    report = estimate(RecordedPlan("dixi", "t", None, [transit, unknown_cloud]))
    assert report.monthly == 0 and [k.name for k in report.unpriced] == ["tgw", "vm"]


@pytest.mark.parametrize("cloud", sorted((c for c in targets.CLOUDS.values() if c.module("prices")), key=lambda c: c.name), ids=lambda c: c.name)
def test_each_cloud_with_prices_names_the_seeds_figure_when_the_seed_has_one(cloud: targets.Cloud) -> None:
    module = cloud.module("prices")
    assert module is not None
    if not module.PRICER.prices:
        # Kubernetes objects cost nothing by themselves (infra/k8s/prices.py); the seed prices no cluster.
        assert module.PRICER.seed_monthly is None and module.PRICER.requests is not None
        return
    assert module.PRICER.seed_monthly is not None, f"{cloud.name}: the seed gives a monthly figure for it"


# --- The `aws` (ECS) stack kind: hand-made plans, one decision each ---------

US_EAST_1 = SimpleNamespace(region="us-east-1")
TASK_DEF = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
CLUSTER = "aws:ecs/cluster:Cluster"
ASG = "aws:autoscaling/group:Group"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
EFS = "aws:efs/fileSystem:FileSystem"


def _res(type_: str, key: str, /, id_: str = "", state: dict[str, Any] | None = None, **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, key, True, None, inputs, id=id_ or f"{key}-id", state=state or {})


def _task(name: str, cpu: str = "256", memory: str = "512", arch: str | None = None, **inputs: Any) -> RecordedResource:
    platform = {"operatingSystemFamily": "LINUX", **({"cpuArchitecture": arch} if arch else {})}
    return _res(TASK_DEF, name, state={"arn": f"arn:aws:ecs:us-east-1:1:task-definition/{name}:1"}, family=name, cpu=cpu, memory=memory, runtimePlatform=platform, **inputs)


def _estimate(*resources: RecordedResource) -> tuple[dict[tuple[str, str], float], list[str], Any]:
    report = estimate(RecordedPlan("dixi", "aws", US_EAST_1, list(resources)))  # type: ignore[arg-type]
    return {(i.resource.name, i.sku): i.monthly for i in report.items}, [k.name for k in report.unpriced], report


def _skus(items: dict[tuple[str, str], float], name: str) -> dict[str, float]:
    return {sku: monthly for (resource, sku), monthly in items.items() if resource == name}


def test_a_fargate_service_is_billed_its_desired_tasks_at_its_task_definitions_size() -> None:
    task = _task("dixi-frontend")
    service = _res(SERVICE, "dixi-frontend", launchType="FARGATE", desiredCount=2, taskDefinition=task.state["arn"])
    items, unpriced, _ = _estimate(task, service)
    hourly = 0.25 * aws_prices.FARGATE_X86_VCPU_HOUR.amount + 0.5 * aws_prices.FARGATE_X86_GB_HOUR.amount
    assert _skus(items, "dixi-frontend") == {"Fargate 2 tasks x 0.25 vCPU / 0.5 GB (X86_64)": round(2 * hourly * HOURS_PER_MONTH, 2)}
    assert unpriced == []  # the task definition itself is free: billed through its service


def test_an_arm_task_is_billed_at_the_arm_rate() -> None:
    x86, arm = _task("x86", cpu="1024", memory="2048"), _task("arm", cpu="1024", memory="2048", arch="ARM64")
    items, _, _ = _estimate(
        x86, arm,
        _res(SERVICE, "on-x86", launchType="FARGATE", desiredCount=1, taskDefinition=x86.state["arn"]),
        _res(SERVICE, "on-arm", launchType="FARGATE", desiredCount=1, taskDefinition=arm.state["arn"]),
    )  # fmt: skip
    (arm_sku, arm_monthly), = _skus(items, "on-arm").items()
    (_, x86_monthly), = _skus(items, "on-x86").items()
    assert "(ARM64)" in arm_sku and arm_monthly < x86_monthly


def test_an_autoscaled_service_is_billed_its_desired_count_and_its_scaling_target_is_free() -> None:
    task = _task("dixi-backend", cpu="1024", memory="2048")
    service = _res(SERVICE, "dixi-backend", launchType="FARGATE", desiredCount=3, taskDefinition=task.state["arn"])
    target = _res("aws:appautoscaling/target:Target", "dixi-backend-scaling", minCapacity=3, maxCapacity=6)
    items, unpriced, _ = _estimate(task, service, target)
    assert list(_skus(items, "dixi-backend")) == ["Fargate 3 tasks x 1 vCPU / 2 GB (X86_64)"]
    assert _skus(items, "dixi-backend-scaling") == {} and unpriced == []


def test_fargate_spot_is_billed_at_the_on_demand_rate_and_says_so() -> None:
    task = _task("dixi-vision")
    spot = _res(SERVICE, "dixi-vision", desiredCount=1, taskDefinition=task.state["arn"], capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    on_demand = _res(SERVICE, "dixi-vision-od", launchType="FARGATE", desiredCount=1, taskDefinition=task.state["arn"])
    items, _, _ = _estimate(task, spot, on_demand)
    (sku, monthly), = _skus(items, "dixi-vision").items()
    assert "upper bound" in sku and monthly == next(iter(_skus(items, "dixi-vision-od").values()))


def test_a_service_on_the_gpu_capacity_provider_bills_nothing_itself() -> None:
    task = _task("dixi-ollama", cpu="", memory="")
    service = _res(SERVICE, "dixi-ollama", desiredCount=1, taskDefinition=task.state["arn"], capacityProviderStrategies=[{"capacityProvider": "dixi-gpu-provider-aws", "weight": 1}])
    items, unpriced, _ = _estimate(task, service)
    assert _skus(items, "dixi-ollama") == {} and unpriced == []  # priced at zero: its instances are the group's


def test_a_service_whose_task_definition_is_not_in_the_plan_is_unpriced() -> None:
    service = _res(SERVICE, "dixi-frontend", launchType="FARGATE", desiredCount=2, taskDefinition="arn:aws:ecs:us-east-1:1:task-definition/elsewhere:7")
    items, unpriced, _ = _estimate(service)
    assert items == {} and unpriced == ["dixi-frontend"]


def test_a_service_with_neither_launch_type_nor_strategy_follows_its_clusters_default() -> None:
    task = _task("dixi-frontend")
    cluster = _res(CLUSTER, "dixi-cluster", state={"arn": "arn:cluster"}, name="dixi-aws")
    defaults = _res("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "dixi-cps", clusterName="dixi-aws", defaultCapacityProviderStrategies=[{"capacityProvider": "FARGATE"}])
    service = _res(SERVICE, "dixi-frontend", cluster="arn:cluster", desiredCount=1, taskDefinition=task.state["arn"])
    items, unpriced, _ = _estimate(task, cluster, defaults, service)
    assert list(_skus(items, "dixi-frontend")) == ["Fargate 1 tasks x 0.25 vCPU / 0.5 GB (X86_64)"] and unpriced == []
    _, unpriced_alone, _ = _estimate(task, _res(SERVICE, "lost", desiredCount=1, taskDefinition=task.state["arn"]))
    assert unpriced_alone == ["lost"]  # no launch type, no strategy, no default: the plan cannot tell


def _gpu_group(max_size: int, **template_inputs: Any) -> tuple[RecordedResource, RecordedResource]:
    inputs = {"instanceType": "g4dn.xlarge", "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 60, "volumeType": "gp3"}}], **template_inputs}
    template = _res(TEMPLATE, "dixi-gpu-template", id_="lt-0123", **inputs)
    group = _res(ASG, "dixi-gpu-asg", minSize=0, maxSize=max_size, launchTemplate={"id": "lt-0123", "version": "1"})
    return template, group


def test_the_gpu_group_is_billed_max_size_instances_of_its_launch_templates_type() -> None:
    items, unpriced, report = _estimate(*_gpu_group(2))
    hourly = aws_prices.INSTANCE_HOURLY["us-east-1"]["g4dn.xlarge"]
    assert _skus(items, "dixi-gpu-asg") == {
        "g4dn.xlarge on-demand us-east-1 x2 (ASG max)": round(hourly.monthly(2), 2),
        "EBS gp3 60 GB x2 (root volumes)": round(aws_prices.EBS_GP3_GB_MONTH.monthly(120), 2),
    }
    assert _skus(items, "dixi-gpu-template") == {} and unpriced == []  # the template is billed through the group
    assert report.gpus == 2 * catalog.gpus_of("g4dn.xlarge")


def test_a_group_whose_launch_template_is_not_in_the_plan_is_unpriced_and_brings_no_gpu() -> None:
    _, group = _gpu_group(1)
    items, unpriced, report = _estimate(group)
    assert items == {} and unpriced == ["dixi-gpu-asg"] and report.gpus == 0


def test_a_mixed_instances_group_is_billed_its_first_override_and_spot_as_an_upper_bound() -> None:
    template, _ = _gpu_group(1)
    group = _res(ASG, "dixi-gpu-asg", maxSize=1, mixedInstancesPolicy={
        "instancesDistribution": {"onDemandPercentageAboveBaseCapacity": 0},
        "launchTemplate": {"launchTemplateSpecification": {"launchTemplateId": "lt-0123"}, "overrides": [{"instanceType": "g5.xlarge"}, {"instanceType": "g4dn.xlarge"}]},
    })  # fmt: skip
    items, _, _ = _estimate(template, group)
    assert any(sku.startswith("g5.xlarge on-demand us-east-1 x1") and "upper bound" in sku for sku in _skus(items, "dixi-gpu-asg"))


def test_the_nat_gateway_bills_its_hours_and_assumed_data_and_its_address_an_ipv4() -> None:
    items, unpriced, _ = _estimate(_res("aws:ec2/natGateway:NatGateway", "dixi-nat-0"), _res("aws:ec2/eip:Eip", "dixi-nat-0-ip", domain="vpc"))
    nat = _skus(items, "dixi-nat-0")
    assert "NAT gateway us-east-1" in nat and any("data processed" in sku and "(assumed" in sku for sku in nat)
    assert _skus(items, "dixi-nat-0-ip") == {"public IPv4 address (Elastic IP)": round(aws_prices.PUBLIC_IPV4_HOUR.monthly(), 2)} and unpriced == []


def test_two_nat_gateways_share_the_assumed_data_not_double_it() -> None:
    one, _, _ = _estimate(_res("aws:ec2/natGateway:NatGateway", "a"))
    two, _, _ = _estimate(_res("aws:ec2/natGateway:NatGateway", "a"), _res("aws:ec2/natGateway:NatGateway", "b"))
    data = lambda items: sum(m for (_, sku), m in items.items() if "data processed" in sku)  # noqa: E731
    assert data(two) == pytest.approx(data(one), abs=0.01)


def test_a_gateway_endpoint_is_free_and_an_interface_endpoint_is_billed_per_zone() -> None:
    gateway = _res(ENDPOINT, "dixi-s3", vpcEndpointType="Gateway", serviceName="com.amazonaws.us-east-1.s3")
    interface = _res(ENDPOINT, "dixi-ecr", vpcEndpointType="Interface", serviceName="com.amazonaws.us-east-1.ecr.dkr", subnetIds=["a", "b"])
    items, unpriced, _ = _estimate(gateway, interface)
    assert _skus(items, "dixi-s3") == {} and unpriced == []
    ecr = _skus(items, "dixi-ecr")
    assert ecr["interface endpoint dkr x2 AZ"] == round(aws_prices.INTERFACE_ENDPOINT_AZ_HOUR.monthly(2), 2)
    assert any("(assumed)" in sku for sku in ecr)


def test_serverless_valkey_meters_its_100_mb_minimum_and_redis_its_1_gb() -> None:
    items, unpriced, _ = _estimate(_res(CACHE, "valkey", engine="valkey"), _res(CACHE, "redis", engine="redis"))
    valkey, redis = _skus(items, "valkey"), _skus(items, "redis")
    assert "ElastiCache Serverless Valkey 0.1 GB stored (the metered minimum)" in valkey
    assert "ElastiCache Serverless Redis OSS 1 GB stored (the metered minimum)" in redis
    assert all(any("ECPUs" in sku and "(assumed" in sku for sku in skus) for skus in (valkey, redis))
    assert sum(redis.values()) > 10 * sum(valkey.values()) and unpriced == []


def test_a_serverless_cache_with_a_storage_minimum_is_billed_that_minimum() -> None:
    cache = _res(CACHE, "valkey", engine="valkey", cacheUsageLimits={"dataStorage": {"minimum": 2, "maximum": 5, "unit": "GB"}})
    items, _, _ = _estimate(cache)
    assert "ElastiCache Serverless Valkey 2 GB stored (the cache's minimum)" in _skus(items, "valkey")


def test_a_serverless_cache_of_an_unknown_engine_is_unpriced() -> None:
    assert _estimate(_res(CACHE, "odd", engine="keydb"))[1] == ["odd"]


def test_efs_one_zone_is_cheaper_than_standard_and_only_elastic_throughput_bills_reads() -> None:
    items, unpriced, _ = _estimate(
        _res(EFS, "standard", throughputMode="elastic"),
        _res(EFS, "one-zone", availabilityZoneName="us-east-1a", throughputMode="bursting"),
        _res(EFS, "provisioned", throughputMode="provisioned", provisionedThroughputInMibps=10),
    )  # fmt: skip
    standard, one_zone = _skus(items, "standard"), _skus(items, "one-zone")
    assert any(sku.startswith("EFS Standard") and "(assumed" in sku for sku in standard)
    assert any("Elastic reads" in sku and "(assumed" in sku for sku in standard)
    assert list(one_zone) == [f"EFS One Zone {aws_prices.ASSUMED_EFS_GB:g} GB (assumed: the model store)"]
    assert one_zone[next(iter(one_zone))] < standard[f"EFS Standard {aws_prices.ASSUMED_EFS_GB:g} GB (assumed: the model store)"]
    assert unpriced == ["provisioned"]  # provisioned MB/s is not priced: shown, not guessed


def _cluster_with_services(level: str | None) -> list[RecordedResource]:
    settings = [{"name": "containerInsights", "value": level}] if level else []
    cluster = _res(CLUSTER, "dixi-cluster", state={"arn": "arn:cluster"}, name="dixi-aws", settings=settings)
    tasks = [_task("front"), _task("back")]
    services = [_res(SERVICE, f"svc-{t.name}", cluster="arn:cluster", launchType="FARGATE", desiredCount=1, taskDefinition=t.state["arn"]) for t in tasks]
    return [cluster, *tasks, *services]


def test_container_insights_bills_the_metrics_of_the_cluster_its_services_and_families() -> None:
    items, unpriced, _ = _estimate(*_cluster_with_services("enabled"))
    cluster = _skus(items, "dixi-cluster")
    metrics = aws_prices.CI_METRICS_PER_CLUSTER + 2 * aws_prices.CI_METRICS_PER_SERVICE + 2 * aws_prices.CI_METRICS_PER_TASK_FAMILY
    assert cluster[f"Container Insights {metrics} custom metrics (1 cluster, 2 services, 2 task families)"] == round(aws_prices.CUSTOM_METRIC_MONTH.monthly(metrics), 2)
    assert any("performance logs" in sku and "(assumed)" in sku for sku in cluster) and unpriced == []


def test_a_cluster_without_container_insights_is_free_and_enhanced_is_not_guessed() -> None:
    for level in (None, "disabled"):
        items, unpriced, _ = _estimate(*_cluster_with_services(level))
        assert _skus(items, "dixi-cluster") == {} and unpriced == [], level
    assert _estimate(*_cluster_with_services("enhanced"))[1] == ["dixi-cluster"]


def test_cloud_map_bills_the_task_instances_service_connect_servers_register() -> None:
    namespace = _res("aws:servicediscovery/httpNamespace:HttpNamespace", "dixi-ns", state={"arn": "arn:ns"}, name="dixi-aws")
    server = _res(SERVICE, "server", desiredCount=3, serviceConnectConfiguration={"enabled": True, "namespace": "arn:ns", "services": [{"portName": "backend"}]})
    client = _res(SERVICE, "client", desiredCount=2, serviceConnectConfiguration={"enabled": True, "namespace": "arn:ns"})
    items, _, _ = _estimate(namespace, server, client)
    assert _skus(items, "dixi-ns") == {"Cloud Map 3 registered task instances (Service Connect)": round(aws_prices.CLOUD_MAP_RESOURCE_MONTH.monthly(3), 2)}
    alone, unpriced, _ = _estimate(namespace)
    assert alone == {} and unpriced == []  # an HTTP namespace with nothing registered costs nothing


def test_a_target_tracking_policy_bills_the_alarms_it_creates() -> None:
    both = _res("aws:appautoscaling/policy:Policy", "both", policyType="TargetTrackingScaling", targetTrackingScalingPolicyConfiguration={"targetValue": 60})
    out_only = _res("aws:appautoscaling/policy:Policy", "out", policyType="TargetTrackingScaling", targetTrackingScalingPolicyConfiguration={"targetValue": 60, "disableScaleIn": True})
    items, _, _ = _estimate(both, out_only)
    assert list(_skus(items, "both")) == ["CloudWatch alarms x2 (target tracking)"]
    assert list(_skus(items, "out")) == ["CloudWatch alarms x1 (target tracking)"]


def test_per_service_log_groups_share_the_apps_assumed_logs() -> None:
    one, _, _ = _estimate(_res("aws:cloudwatch/logGroup:LogGroup", "all", retentionInDays=30))
    four, _, _ = _estimate(*(_res("aws:cloudwatch/logGroup:LogGroup", f"svc-{n}", retentionInDays=30) for n in range(4)))
    ingest = lambda items: {key: m for key, m in items.items() if "ingest" in key[1]}  # noqa: E731
    assert [sku for _, sku in ingest(one)] == [f"CloudWatch Logs ingest {aws_prices.ASSUMED_LOGS_GB_PER_MONTH:g} GB/month (assumed)"]
    assert len(ingest(four)) == 4 and all("over 4 groups" in sku for _, sku in ingest(four))
    assert sum(ingest(four).values()) == pytest.approx(sum(ingest(one).values()))


@pytest.mark.parametrize(
    "type_",
    [
        TASK_DEF, TEMPLATE, "aws:ecs/capacityProvider:CapacityProvider", "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
        "aws:appautoscaling/target:Target", "aws:elasticache/user:User", "aws:elasticache/userGroup:UserGroup",
        "aws:efs/mountTarget:MountTarget", "aws:efs/accessPoint:AccessPoint", "aws:efs/backupPolicy:BackupPolicy",
        "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/route:Route", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:lb/listenerRule:ListenerRule", "aws:ec2/securityGroupRule:SecurityGroupRule",
    ],
)  # fmt: skip
def test_what_the_ecs_stack_creates_around_its_billed_resources_is_free(type_: str) -> None:
    items, unpriced, _ = _estimate(_res(type_, "x"))
    assert items == {} and unpriced == []

