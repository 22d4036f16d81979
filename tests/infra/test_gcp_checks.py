"""The Google Cloud GPU rules, `gce-gpu-vm` and `cloud-run-gpu`, on hand-made plans and on the real pulumi_gcp classes.

No gcp stack exists yet (issue 10), so each rule is shown passing a good plan
and reporting each way it can fail; the last tests record the real pulumi_gcp
10.2 classes under the offline engine to prove the rules read the camelCase
input names the engine receives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.checks import RULES, Problem, load_rules
from infra.gcp import catalog
from infra.gcp.checks import cpu_quantity, memory_gib
from infra.plan.engine import record
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey

ROOT = Path(__file__).resolve().parents[2]
STACK = ResourceKey("pulumi:pulumi:Stack", "dixi-test")
COMPONENT = ResourceKey("dixi:gcp:Test", "dixi")
INSTANCE = "gcp:compute/instance:Instance"
TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
REGION_TEMPLATE = "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate"
SERVICE = "gcp:cloudrunv2/service:Service"
GPU_VM = "gce-gpu-vm"
RUN_GPU = "cloud-run-gpu"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_gcp.*")

load_rules()


def _plan(*resources: RecordedResource) -> RecordedPlan:
    component = RecordedResource(COMPONENT.type, COMPONENT.name, False, STACK, {})
    stack = RecordedResource(STACK.type, STACK.name, False, None, {})
    return RecordedPlan("dixi", "test", None, [stack, component, *resources])


def _r(type_: str, name: str, **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, name, True, COMPONENT, inputs, id=f"{name}-id", state=dict(inputs))


def gpu_vm(type_: str = TEMPLATE, machine_type: str = "n1-standard-4", accelerators: list[dict[str, Any]] | None = None, **inputs: Any) -> RecordedResource:
    """A GPU VM as issue 10 wants it: n1-standard-4 with one T4, TERMINATE on maintenance, no external IP."""
    fields: dict[str, Any] = {
        "machineType": machine_type,
        "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1.0}] if accelerators is None else accelerators,
        "scheduling": {"onHostMaintenance": "TERMINATE", "automaticRestart": True},
        "networkInterfaces": [{"network": "dixi-vpc", "subnetwork": "dixi-subnet"}],
        **inputs,
    }
    return _r(type_, "dixi-gpu", **fields)


def run_service(location: str = "us-central1", limits: dict[str, str] | None = None, cpu_idle: bool | None = False, selector: str | None = "nvidia-l4",
                scaling: dict[str, Any] | None = None, **inputs: Any) -> RecordedResource:
    """Ollama on Cloud Run with one L4 as issue 10 wants it: 4 CPU, 16 GiB, CPU always allocated, at most one instance."""
    resources: dict[str, Any] = {"limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"} if limits is None else limits}
    if cpu_idle is not None:
        resources["cpuIdle"] = cpu_idle
    template: dict[str, Any] = {
        "containers": [{"name": "ollama", "image": "ollama/ollama", "resources": resources}],
        "scaling": {"maxInstanceCount": 1.0} if scaling is None else scaling,
        "gpuZonalRedundancyDisabled": True,
    }
    if selector is not None:
        template["nodeSelector"] = {"accelerator": selector}
    return _r(SERVICE, "dixi-ollama", location=location, template=template, **inputs)


def _problems(rule: str, *resources: RecordedResource) -> list[Problem]:
    return RULES[rule](_plan(*resources), ROOT)


def _errors(rule: str, *resources: RecordedResource) -> list[str]:
    found = _problems(rule, *resources)
    assert all(p.severity == "error" for p in found), [(p.severity, p.message) for p in found]
    return [p.message for p in found]


def _one(rule: str, words: str, *resources: RecordedResource, severity: str = "error") -> None:
    found = _problems(rule, *resources)
    assert [p.severity for p in found] == [severity], [(p.severity, p.message) for p in found]
    assert words in found[0].message, found[0].message


# --- gce-gpu-vm -----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", [INSTANCE, TEMPLATE, REGION_TEMPLATE])
def test_an_n1_with_one_t4_that_terminates_on_maintenance_and_has_no_external_ip_passes(type_: str) -> None:
    assert _errors(GPU_VM, gpu_vm(type_)) == []


def test_a_g2_with_its_own_l4_built_in_passes_whether_or_not_it_restates_it() -> None:
    assert _errors(GPU_VM, gpu_vm(machine_type="g2-standard-8", accelerators=[])) == []
    assert _errors(GPU_VM, gpu_vm(machine_type="g2-standard-4", accelerators=[{"type": "nvidia-l4", "count": 1.0}])) == []
    assert _errors(GPU_VM, gpu_vm(machine_type="g2-standard-24", accelerators=[{"type": "nvidia-l4", "count": 2.0}])) == []


def test_a_vm_without_a_gpu_is_none_of_the_rules_business() -> None:
    plain = gpu_vm(machine_type="e2-small", accelerators=[], scheduling={}, networkInterfaces=[{"network": "n", "accessConfigs": [{}]}])
    assert _problems(GPU_VM, plain) == []


@pytest.mark.parametrize("scheduling", [{"onHostMaintenance": "MIGRATE"}, {}, None])
def test_a_gpu_vm_that_would_live_migrate_is_refused(scheduling: dict[str, str] | None) -> None:
    _one(GPU_VM, "accepts only TERMINATE", gpu_vm(scheduling=scheduling))


def test_a_g2_vm_must_terminate_on_maintenance_too_though_it_attaches_nothing() -> None:
    _one(GPU_VM, "scheduling.onHostMaintenance is 'MIGRATE'", gpu_vm(machine_type="g2-standard-4", accelerators=[], scheduling={"onHostMaintenance": "MIGRATE"}))


@pytest.mark.parametrize("machine_type", ["e2-standard-4", "n2-standard-8", "f1-micro", "g1-small"])
def test_a_t4_attached_to_a_type_other_than_n1_is_refused(machine_type: str) -> None:
    _one(GPU_VM, f"machine type {machine_type} takes no attached GPU", gpu_vm(machine_type=machine_type))


def test_an_l4_attached_to_an_n1_is_refused_with_the_g2_types_named() -> None:
    _one(GPU_VM, "nvidia-l4 comes only built into G2 machine types", gpu_vm(accelerators=[{"type": "nvidia-l4", "count": 1.0}]))


@pytest.mark.parametrize("count", [3.0, 8.0, 0.0])
def test_a_t4_count_an_n1_vm_does_not_take_is_refused(count: float) -> None:
    _one(GPU_VM, f"attaches {int(count)} nvidia-tesla-t4 to n1-standard-4; an N1 VM takes 1, 2, 4 of them", gpu_vm(accelerators=[{"type": "nvidia-tesla-t4", "count": count}]))


def test_an_accelerator_named_by_its_url_is_read_by_its_last_segment() -> None:
    url = "projects/p/zones/us-central1-a/acceleratorTypes/nvidia-tesla-t4"
    assert _errors(GPU_VM, gpu_vm(machine_type="zones/us-central1-a/machineTypes/n1-standard-4", accelerators=[{"type": url, "count": 1.0}])) == []


def test_an_external_ip_on_a_gpu_vm_is_refused() -> None:
    _one(GPU_VM, "networkInterfaces[0].accessConfigs is set", gpu_vm(networkInterfaces=[{"network": "dixi-vpc", "accessConfigs": [{}]}]))


def test_a_g2_with_an_attached_t4_or_a_second_l4_is_refused() -> None:
    _one(GPU_VM, "g2-standard-4 brings 1 nvidia-l4 built in, but guestAccelerators attaches 1 nvidia-tesla-t4", gpu_vm(machine_type="g2-standard-4"))
    _one(GPU_VM, "attaches 2 nvidia-l4", gpu_vm(machine_type="g2-standard-4", accelerators=[{"type": "nvidia-l4", "count": 2.0}]))


@pytest.mark.parametrize(
    ("machine_type", "accelerators", "words"),
    [
        ("g2-standard-6", [], "g2-standard-6 is a GPU machine type infra/gcp/catalog.py does not list"),
        ("x9-weird-4", None, "x9-weird-4 is not in infra/gcp/catalog.py"),
        ("n1-standard-4", [{"type": "nvidia-tesla-t4-vws", "count": 1.0}], "'nvidia-tesla-t4-vws', which infra/gcp/catalog.py does not know"),
    ],
)
def test_a_machine_type_or_accelerator_the_catalog_does_not_know_could_not_be_judged(machine_type: str, accelerators: list[dict[str, Any]] | None, words: str) -> None:
    found = _problems(GPU_VM, gpu_vm(machine_type=machine_type, accelerators=accelerators))
    assert [p.severity for p in found] == ["warning"] and words in found[0].message and "could not be judged" in found[0].message, [p.message for p in found]


def test_the_catalog_default_gpu_vm_passes_and_every_g2_type_brings_l4s() -> None:
    assert _errors(GPU_VM, gpu_vm(machine_type=catalog.DEFAULT_GPU_MACHINE_TYPE, accelerators=[{"type": catalog.DEFAULT_GPU_ACCELERATOR, "count": 1.0}])) == []
    g2 = {name: t for name, t in catalog.GPU_MACHINE_TYPES.items() if name.startswith("g2-")}
    assert g2 and all(t.accelerator == "nvidia-l4" and catalog.series_of(name) == "g2" for name, t in g2.items())


# --- cloud-run-gpu --------------------------------------------------------------------------------


@pytest.mark.parametrize("location", ["us-central1", "us-east4", "europe-west1", "europe-west4", "asia-southeast1"])
def test_ollama_on_cloud_run_with_one_l4_passes_in_every_region_that_offers_it(location: str) -> None:
    assert _problems(RUN_GPU, run_service(location)) == []


def test_a_cloud_run_service_without_a_gpu_is_none_of_the_rules_business() -> None:
    assert _problems(RUN_GPU, run_service(limits={"cpu": "1", "memory": "512Mi"}, cpu_idle=True, selector=None, scaling={})) == []


@pytest.mark.parametrize("location", ["us-west1", "asia-south1"])
def test_a_gpu_service_in_a_region_without_cloud_run_l4_is_refused(location: str) -> None:
    _one(RUN_GPU, f"runs in {location}, which does not offer Cloud Run nvidia-l4 GPUs; use one of us-central1", run_service(location))


@pytest.mark.parametrize(("cpu", "shown"), [("2", "cpu limit '2'"), ("2000m", "cpu limit '2000m'")])
def test_too_little_cpu_for_an_l4_is_refused(cpu: str, shown: str) -> None:
    _one(RUN_GPU, f"container ollama has {shown}; Cloud Run with nvidia-l4 needs at least 4 CPU", run_service(limits={"cpu": cpu, "memory": "16Gi", "nvidia.com/gpu": "1"}))


def test_no_cpu_limit_is_cloud_runs_default_of_one_cpu_and_too_little() -> None:
    found = [p.message for p in _problems(RUN_GPU, run_service(limits={"nvidia.com/gpu": "1"}))]
    assert any("no cpu limit (Cloud Run's default, 1 CPU)" in m for m in found) and any("no memory limit (Cloud Run's default, 512 MiB)" in m for m in found), found


@pytest.mark.parametrize("memory", ["8Gi", "16000Mi", "16G"])
def test_too_little_memory_for_an_l4_is_refused(memory: str) -> None:
    _one(RUN_GPU, f"memory limit {memory!r}", run_service(limits={"cpu": "4", "memory": memory, "nvidia.com/gpu": "1"}))


@pytest.mark.parametrize(("cpu", "memory"), [("4000m", "16384Mi"), ("8", "32Gi"), ("4.0", "17179869184")])
def test_cpu_and_memory_limits_are_read_in_each_unit(cpu: str, memory: str) -> None:
    assert _problems(RUN_GPU, run_service(limits={"cpu": cpu, "memory": memory, "nvidia.com/gpu": "1"})) == []


def test_quantities_parse_as_kubernetes_reads_them() -> None:
    assert (cpu_quantity("4000m"), cpu_quantity("4"), cpu_quantity("lots")) == (4.0, 4.0, None)
    assert (memory_gib("16Gi"), memory_gib("16384Mi"), memory_gib("x")) == (16.0, 16.0, None)
    assert memory_gib("16G") == pytest.approx(16e9 / 2**30), "G is decimal: 16G is less than 16Gi"


def test_cpu_only_during_requests_is_refused() -> None:
    _one(RUN_GPU, "cpuIdle true", run_service(cpu_idle=True))


def test_cpu_idle_left_unset_could_not_be_judged() -> None:
    _one(RUN_GPU, "does not set cpuIdle", run_service(cpu_idle=None), severity="warning")


def test_a_gpu_service_without_a_maximum_instance_count_is_refused() -> None:
    _one(RUN_GPU, "sets no maximum instance count", run_service(scaling={}))
    _one(RUN_GPU, "sets no maximum instance count", run_service(scaling={"minInstanceCount": 0.0}))


def test_a_service_level_maximum_or_manual_scaling_bounds_the_service() -> None:
    for service_scaling in ({"maxInstanceCount": 2.0}, {"scalingMode": "MANUAL", "manualInstanceCount": 1.0}):
        service = run_service(scaling={})
        service.inputs["scaling"] = service_scaling
        assert _problems(RUN_GPU, service) == [], service_scaling


def test_two_gpus_per_instance_are_refused() -> None:
    _one(RUN_GPU, "asks for 2 GPU(s) per instance (ollama: 2)", run_service(limits={"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"}))


def test_a_gpu_on_two_containers_is_refused() -> None:
    service = run_service()
    sidecar = {"name": "sidecar", "image": "x", "resources": {"limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}, "cpuIdle": False}}
    service.inputs["template"]["containers"].append(sidecar)
    _one(RUN_GPU, "asks for 2 GPU(s) per instance (ollama: 1, sidecar: 1)", service)


def test_a_gpu_without_the_node_selector_is_refused() -> None:
    _one(RUN_GPU, "sets no template.nodeSelector.accelerator", run_service(selector=None))


def test_a_node_selector_without_a_gpu_limit_asks_for_no_gpu_and_is_refused() -> None:
    _one(RUN_GPU, "asks for 0 GPU(s) per instance", run_service(limits={"cpu": "4", "memory": "16Gi"}))


def test_an_accelerator_the_catalog_does_not_know_could_not_be_judged() -> None:
    _one(RUN_GPU, "'nvidia-h100-80gb', which infra/gcp/catalog.py does not know", run_service(selector="nvidia-h100-80gb"), severity="warning")


def test_an_unreadable_limit_could_not_be_judged() -> None:
    found = _problems(RUN_GPU, run_service(limits={"cpu": "four", "memory": "16Gi", "nvidia.com/gpu": "1"}))
    assert [p.severity for p in found] == ["warning"] and "could not be judged" in found[0].message


def test_an_rtx_pro_6000_is_held_to_its_own_minimums() -> None:
    _one(RUN_GPU, "needs at least 20 CPU", run_service(selector="nvidia-rtx-pro-6000", limits={"cpu": "8", "memory": "80Gi", "nvidia.com/gpu": "1"}))


# --- the real pulumi_gcp classes ------------------------------------------------------------------


def _program(location: str, machine_type: str, external_ip: bool) -> None:
    from pulumi_gcp import cloudrunv2, compute

    compute.InstanceTemplate(
        "dixi-gpu",
        machine_type=machine_type,
        disks=[compute.InstanceTemplateDiskArgs(source_image="projects/cos-cloud/global/images/family/cos-stable", boot=True)],
        network_interfaces=[compute.InstanceTemplateNetworkInterfaceArgs(network="dixi-vpc", access_configs=[compute.InstanceTemplateNetworkInterfaceAccessConfigArgs()] if external_ip else None)],
        guest_accelerators=[compute.InstanceTemplateGuestAcceleratorArgs(type="nvidia-tesla-t4", count=1)],
        scheduling=compute.InstanceTemplateSchedulingArgs(on_host_maintenance="TERMINATE", automatic_restart=True),
    )
    cloudrunv2.Service(
        "dixi-ollama",
        location=location,
        deletion_protection=False,
        template=cloudrunv2.ServiceTemplateArgs(
            containers=[cloudrunv2.ServiceTemplateContainerArgs(
                image="ollama/ollama",
                resources=cloudrunv2.ServiceTemplateContainerResourcesArgs(limits={"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}, cpu_idle=False),
            )],
            node_selector=cloudrunv2.ServiceTemplateNodeSelectorArgs(accelerator="nvidia-l4"),
            gpu_zonal_redundancy_disabled=True,
            scaling=cloudrunv2.ServiceTemplateScalingArgs(max_instance_count=1),
        ),
    )


def _recorded(location: str = "us-central1", machine_type: str = "n1-standard-4", external_ip: bool = False) -> RecordedPlan:
    return record("dixi", "test", None, {}, [], lambda: _program(location, machine_type, external_ip), ROOT)


def test_the_rules_read_the_inputs_the_real_pulumi_gcp_classes_send() -> None:
    good = _recorded()
    assert good.of_type(TEMPLATE) and good.of_type(SERVICE), "the program registered both resources"
    assert RULES[GPU_VM](good, ROOT) == [] and RULES[RUN_GPU](good, ROOT) == [], [p.message for rule in (GPU_VM, RUN_GPU) for p in RULES[rule](good, ROOT)]
    bad = _recorded(location="us-west1", machine_type="e2-standard-4", external_ip=True)
    vm = [p.message for p in RULES[GPU_VM](bad, ROOT)]
    assert any("takes no attached GPU" in m for m in vm) and any("accessConfigs is set" in m for m in vm), vm
    run = [p.message for p in RULES[RUN_GPU](bad, ROOT)]
    assert len(run) == 1 and "runs in us-west1" in run[0], run
