"""`OllamaVm` recorded under the offline engine: the GPU VM group, its identity, its disk and address, its boot.

Each test records a small program that creates the component with literal
network, subnetwork and image values (the gcp stack does not exist yet) and
asserts on the recorded plan, including what the project's rules say of it.
"""

from __future__ import annotations

import shutil
from typing import Any

import pulumi
import pytest
import yaml

from infra import spec
from infra.checks import RULES, load_rules, run_checks
from infra.common import cloudinit
from infra.gcp.ollama_vm import (
    DEVICE_NAME,
    HEALTH_CHECK_RANGES,
    PROJECT_ROLES,
    OllamaVm,
    OllamaVmArgs,
)
from infra.plan.engine import record
from infra.plan.model import RecordedPlan, RecordedResource, reveal
from infra.plan.run import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_gcp.*")

TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
GROUP = "gcp:compute/instanceGroupManager:InstanceGroupManager"
PER_INSTANCE = "gcp:compute/perInstanceConfig:PerInstanceConfig"
DISK = "gcp:compute/disk:Disk"
ADDRESS = "gcp:compute/address:Address"
FIREWALL = "gcp:compute/firewall:Firewall"
HEALTH = "gcp:compute/healthCheck:HealthCheck"
ACCOUNT = "gcp:serviceaccount/account:Account"
IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
IMAGE = "us-central1-docker.pkg.dev/dixi-plan/dixi/ollama@sha256:" + "0" * 64
TAG = "dixi-ollama"
RULES_THAT_MUST_PASS = (
    "cloud-init-schema",
    "compose-spec",
    "compose-log-options",
    "boot-fails-loudly",
    "user-data-size",
    "gce-gpu-vm",
    "private-ports-not-public",
    "checks-cover-entry-points",
)

load_rules()


def _args(**overrides: Any) -> OllamaVmArgs:
    fields: dict[str, Any] = {
        "project": "dixi-plan",
        "region": "us-central1",
        "zone": "us-central1-a",
        "machine_type": "n1-standard-4",
        "accelerator": "nvidia-tesla-t4",
        "network": "projects/dixi-plan/global/networks/dixi",
        "subnetwork": "projects/dixi-plan/regions/us-central1/subnetworks/dixi",
        "image": "https://www.googleapis.com/compute/v1/projects/deeplearning-platform-release/global/images/common-cu128-ubuntu-2204-nvidia-570-v20261101",
        "boot_disk_gib": 100,
        "models_disk_gib": 50,
        "ollama_image": IMAGE,
        "ollama_model": "llama3.2",
        "registry_host": "us-central1-docker.pkg.dev",
        "retain_data": True,
        "network_tag": TAG,
        "labels": {"app": "dixi"},
        **overrides,
    }
    return OllamaVmArgs(**fields)


def _record(args: OllamaVmArgs) -> RecordedPlan:
    def program() -> None:
        vm = OllamaVm("dixi-ollama", args)
        pulumi.export("ollamaUrl", vm.ollama_url)
        pulumi.export("internalIp", vm.internal_ip)

    return record("dixi", "t", None, {}, [], program, ROOT)


@pytest.fixture(scope="module")
def n1() -> RecordedPlan:
    return _record(_args())


@pytest.fixture(scope="module")
def g2() -> RecordedPlan:
    return _record(_args(machine_type="g2-standard-4", accelerator=None))


def _one(plan: RecordedPlan, type_: str) -> RecordedResource:
    (found,) = plan.of_type(type_)
    return found


def _inputs(r: RecordedResource) -> dict[str, Any]:
    found: dict[str, Any] = reveal(r.inputs)
    return found


def _user_data(plan: RecordedPlan) -> str:
    text = _inputs(_one(plan, TEMPLATE))["metadata"]["user-data"]
    assert isinstance(text, str)
    return text


def test_the_gpu_template_terminates_on_host_maintenance_and_restarts(n1: RecordedPlan, g2: RecordedPlan) -> None:
    for plan in (n1, g2):
        scheduling = _inputs(_one(plan, TEMPLATE))["scheduling"]
        assert scheduling["onHostMaintenance"] == "TERMINATE", "Compute Engine cannot live-migrate a GPU VM"
        assert scheduling["automaticRestart"] is True


def test_an_n1_gets_one_t4_and_a_g2_attaches_nothing(n1: RecordedPlan, g2: RecordedPlan) -> None:
    assert _inputs(_one(n1, TEMPLATE))["guestAccelerators"] == [{"type": "nvidia-tesla-t4", "count": 1}]
    assert not _inputs(_one(g2, TEMPLATE)).get("guestAccelerators"), "a G2's L4 is built in (infra/gcp/catalog.py)"
    assert _inputs(_one(g2, TEMPLATE))["machineType"] == "g2-standard-4"


def test_a_g2_refuses_an_attached_accelerator_other_than_its_own() -> None:
    with pytest.raises(ValueError, match="built in"):
        _args(machine_type="g2-standard-4", accelerator="nvidia-tesla-t4")


def test_the_vm_has_no_external_address(n1: RecordedPlan) -> None:
    (nic,) = _inputs(_one(n1, TEMPLATE))["networkInterfaces"]
    assert not nic.get("accessConfigs") and not nic.get("ipv6AccessConfigs"), "egress goes through Cloud NAT"
    assert nic["subnetwork"] == _args().subnetwork


def test_the_vm_runs_as_its_own_account_with_only_its_two_roles(n1: RecordedPlan) -> None:
    account = _one(n1, ACCOUNT)
    email = account.state["email"]
    template = _inputs(_one(n1, TEMPLATE))
    assert template["serviceAccount"]["email"] == email, "never the default compute account"
    assert template["serviceAccount"]["scopes"] == ["cloud-platform"]
    grants = n1.of_type(IAM_MEMBER)
    assert sorted(_inputs(g)["role"] for g in grants) == sorted(PROJECT_ROLES)
    assert {_inputs(g)["member"] for g in grants} == {f"serviceAccount:{email}"}
    assert {_inputs(g)["project"] for g in grants} == {"dixi-plan"}
    for waiting in (_one(n1, GROUP), _one(n1, PER_INSTANCE)):
        assert {g.key for g in grants} <= set(waiting.depends_on), f"{waiting.name} creates the VM only once its roles exist"


def test_the_user_data_boots_only_ollama_with_its_disk(n1: RecordedPlan) -> None:
    files = cloudinit.files_in(_user_data(n1))
    document = yaml.safe_load(files[cloudinit.COMPOSE_PATH])
    assert list(document["services"]) == ["ollama"], "the other services run on Cloud Run"
    ollama = document["services"]["ollama"]
    assert ollama["image"] == IMAGE
    assert ollama["ports"] == [f"{spec.OLLAMA.port}:{spec.OLLAMA.port}"], "the backend and the health checker reach it on the VM's address"
    assert ollama["logging"] == {"driver": "gcplogs", "options": {"gcp-project": "dixi-plan"}}
    assert ollama["environment"]["OLLAMA_PULL_MODELS"] == "llama3.2"
    assert ollama["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    script = files[cloudinit.BOOT_SCRIPT_PATH]
    assert f"/dev/disk/by-id/google-{DEVICE_NAME}" in script, "the models disk is found by its device name"
    assert "retry gcloud auth configure-docker us-central1-docker.pkg.dev --quiet" in script
    assert "wait_for Health.Status" not in script, "no frontend, backend or vision to wait for on this VM"
    assert "wait_for Status running 300 ollama" in script
    assert "gcloud logging write dixi-ollama-boot" in script, "a failed boot is reported to Cloud Logging"
    assert any(path.startswith(cloudinit.SYSTEMD_DIR) for path in files), "Docker waits for the data mount after a reboot"
    assert _inputs(_one(n1, TEMPLATE))["metadata"]["google-logging-enabled"] == "true"


def test_the_plan_passes_the_projects_rules(n1: RecordedPlan, g2: RecordedPlan) -> None:
    if shutil.which("cloud-init") is None:
        pytest.skip("Debian's cloud-init is not installed (.ci/run installs it)")
    for plan in (n1, g2):
        problems = [p for p in run_checks(plan, ROOT) if p.rule in RULES_THAT_MUST_PASS]
        assert problems == [], [(p.rule, p.message) for p in problems]


def test_the_rules_that_need_no_cloud_init_pass_everywhere(n1: RecordedPlan, g2: RecordedPlan) -> None:
    for plan in (n1, g2):
        for rule in RULES_THAT_MUST_PASS:
            if rule == "cloud-init-schema":
                continue
            assert RULES[rule](plan, ROOT) == [], rule


def test_the_group_of_one_auto_heals_and_keeps_its_disk_and_address(n1: RecordedPlan) -> None:
    group = _one(n1, GROUP)
    i = _inputs(group)
    assert i["zone"] == "us-central1-a"
    assert i["targetSize"] == 0 and "targetSize" in group.ignore_changes, "the per-instance config creates the one VM"
    assert i["versions"] == [{"name": "ollama", "instanceTemplate": _one(n1, TEMPLATE).state["selfLinkUnique"]}]
    health = _one(n1, HEALTH)
    assert i["autoHealingPolicies"]["healthCheck"] == health.id
    assert i["autoHealingPolicies"]["initialDelaySec"] >= 600, "a first boot installs, pulls and starts before it is judged"
    policy = i["updatePolicy"]
    assert (policy["type"], policy["minimalAction"], policy["replacementMethod"]) == ("PROACTIVE", "REPLACE", "RECREATE")
    assert (policy["maxSurgeFixed"], policy["maxUnavailableFixed"]) == (0, 1), "never two GPU VMs at once"
    assert i["statefulDisks"] == [{"deviceName": DEVICE_NAME, "deleteRule": "NEVER"}]
    assert i["statefulInternalIps"] == [{"interfaceName": "nic0", "deleteRule": "NEVER"}]
    check = _inputs(health)["httpHealthCheck"]
    assert (check["port"], check["requestPath"]) == (spec.OLLAMA.port, spec.OLLAMA.liveness.path)


def test_the_one_vm_is_created_holding_the_models_disk_and_the_static_address(n1: RecordedPlan) -> None:
    config = _one(n1, PER_INSTANCE)
    i = _inputs(config)
    assert i["name"] == "dixi-ollama-0"
    assert i["instanceGroupManager"] == _one(n1, GROUP).state["name"]
    disk, address = _one(n1, DISK), _one(n1, ADDRESS)
    assert i["preservedState"]["disks"] == [{"deviceName": DEVICE_NAME, "source": disk.state["selfLink"], "deleteRule": "NEVER", "mode": "READ_WRITE"}]
    assert i["preservedState"]["internalIps"] == [{"interfaceName": "nic0", "autoDelete": "NEVER", "ipAddress": {"address": address.state["selfLink"]}}]
    assert config.delete_before_replace and i["removeInstanceOnDestroy"] is True, "a replaced config never leaves a second VM"
    template_disks = _inputs(_one(n1, TEMPLATE))["disks"]
    assert {"source": disk.state["name"], "deviceName": DEVICE_NAME, "autoDelete": False, "mode": "READ_WRITE", "boot": False} in template_disks
    assert _inputs(address)["addressType"] == "INTERNAL" and _inputs(address)["subnetwork"] == _args().subnetwork
    assert (_inputs(disk)["type"], _inputs(disk)["size"], _inputs(disk)["zone"]) == ("pd-balanced", 50, "us-central1-a")


def test_only_googles_health_checkers_reach_ollama_through_the_components_firewall(n1: RecordedPlan) -> None:
    i = _inputs(_one(n1, FIREWALL))
    assert sorted(i["sourceRanges"]) == sorted(HEALTH_CHECK_RANGES)
    assert i["allows"] == [{"protocol": "tcp", "ports": [str(spec.OLLAMA.port)]}]
    assert i["targetTags"] == [TAG] and _inputs(_one(n1, TEMPLATE))["tags"] == [TAG]
    assert i.get("direction", "INGRESS") == "INGRESS"


def test_the_models_disk_is_kept_on_destroy_only_with_retain_data(n1: RecordedPlan) -> None:
    assert _one(n1, DISK).retain_on_delete, "retain_data keeps the models"
    assert not _one(_record(_args(retain_data=False)), DISK).retain_on_delete


def test_a_template_change_creates_the_new_template_first(n1: RecordedPlan) -> None:
    template = _one(n1, TEMPLATE)
    assert not template.delete_before_replace and _inputs(template)["namePrefix"] == "dixi-ollama-", "a prefix gives the new one its own name"


def test_ollama_url_is_built_from_the_static_address(n1: RecordedPlan) -> None:
    address = _one(n1, ADDRESS).state["address"]
    assert address.startswith("10."), "an internal address"
    assert n1.outputs["ollamaUrl"] == f"http://{address}:{spec.OLLAMA.port}"
    assert n1.outputs["internalIp"] == address


def test_an_n1_given_an_l4_is_reported_by_gce_gpu_vm() -> None:
    plan = _record(_args(accelerator="nvidia-l4"))
    messages = [p.message for p in RULES["gce-gpu-vm"](plan, ROOT)]
    assert any("nvidia-l4 comes only built into G2" in m for m in messages), messages
