"""The `do` stack, as recorded under the mocks: each Droplet's role, the firewalls, the load balancer, data kept, secrets, config."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import spec
from infra.common import cloudinit, compose
from infra.config import ConfigError
from infra.digitalocean import boot, catalog, event_bus
from infra.plan.model import RecordedResource, Secret, reveal
from infra.plan.run import ROOT, Plan

PlanOf = Callable[..., Plan]
DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
BUCKET = "digitalocean:index/spacesBucket:SpacesBucket"
DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
ALERT = "digitalocean:index/monitorAlert:MonitorAlert"
TAG = "digitalocean:index/tag:Tag"
APP_SERVICES = {"frontend", "backend", "vision"}


@pytest.fixture(scope="module")
def do_plan(plan_of: PlanOf) -> Plan:
    return plan_of("do")


def _droplets(plan: Plan, role: str) -> list[RecordedResource]:
    return [r for r in plan.recorded.of_type(DROPLET) if f"-{role}" in r.name]


def _gpu(plan: Plan) -> RecordedResource:
    (found,) = [r for r in plan.recorded.of_type(DROPLET) if r.name.endswith("-gpu")]
    return found


def _files(droplet: RecordedResource) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(reveal(droplet.inputs["userData"]))
    return {f["path"]: f for f in document["write_files"]}


def _compose(droplet: RecordedResource) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_files(droplet)[cloudinit.COMPOSE_PATH]["content"])
    return loaded


def _script(droplet: RecordedResource) -> str:
    return str(_files(droplet)[cloudinit.BOOT_SCRIPT_PATH]["content"])


def _balancer(plan: Plan, internal: bool = False) -> RecordedResource:
    (found,) = [r for r in plan.recorded.of_type(BALANCER) if (r.inputs.get("network") == "INTERNAL") == internal]
    return found


def _firewall(plan: Plan, role: str) -> dict[str, Any]:
    (found,) = [r for r in plan.recorded.of_type(FIREWALL) if r.name.endswith(f"-{role}-firewall")]
    inputs: dict[str, Any] = reveal(found.inputs)
    return inputs


def _tag_name(plan: Plan, role: str) -> str:
    (tag,) = [r for r in plan.recorded.of_type(TAG) if r.name.endswith(f"-{role}-tag")]
    return str(tag.inputs["name"])


def test_the_default_stack_plans_without_any_problem(do_plan: Plan) -> None:
    assert do_plan.problems == [], [f"{p.rule}: {p.message}" for p in do_plan.problems]
    assert not do_plan.recorded.unanswered_invokes


def test_two_app_droplets_run_the_web_tier_and_vision_and_one_gpu_droplet_runs_ollama_and_the_bus(do_plan: Plan) -> None:
    apps = _droplets(do_plan, "app")
    assert len(apps) == 2
    for app in apps:
        assert app.inputs["size"] == catalog.DEFAULT_APP_SIZE and app.inputs["image"] == catalog.APP_IMAGE
        assert set(_compose(app)["services"]) == APP_SERVICES
        assert app.inputs["tags"] == [_tag_name(do_plan, "app")]
        assert app.inputs["monitoring"] is True, "the memory and disk alerts need the agent"
    gpu = _gpu(do_plan)
    assert gpu.inputs["size"] == catalog.DEFAULT_GPU_SIZE and gpu.inputs["image"] == catalog.gpu_image(catalog.DEFAULT_GPU_SIZE)
    assert set(_compose(gpu)["services"]) == {"ollama", event_bus.SERVICE}
    assert _compose(gpu)["services"]["ollama"]["deploy"]["resources"]["reservations"]["devices"][0]["count"] == 1


def test_the_backends_reach_ollama_and_the_bus_through_an_internal_balancer_on_the_gpu_tag(do_plan: Plan) -> None:
    internal = _balancer(do_plan, internal=True)
    assert internal.inputs["dropletTag"] == _tag_name(do_plan, "gpu")
    ip = internal.state["ip"]
    backend = _compose(_droplets(do_plan, "app")[0])["services"]["backend"]
    env = backend["environment"]
    assert env["OLLAMA_BASE_URL"] == f"http://{ip}:{spec.OLLAMA.port}"
    assert env[spec.EVENT_BUS.url_env] == f"redis://{ip}:{spec.EVENT_BUS.port}/0"
    rules = {(r["entryPort"], r["entryProtocol"]) for r in internal.inputs["forwardingRules"]}
    assert rules == {(spec.OLLAMA.port, "http"), (spec.EVENT_BUS.port, "tcp")}
    assert internal.inputs["healthcheck"]["port"] == spec.OLLAMA.port
    assert env["VISION_SERVICE_URL"] == f"http://vision:{spec.VISION.port}", "vision runs beside each backend"
    assert "ollama" not in backend.get("depends_on", {}), "compose cannot wait for a service on another host"


def test_every_published_port_listens_on_the_vpc_address_only(do_plan: Plan) -> None:
    for droplet in [*_droplets(do_plan, "app"), _gpu(do_plan)]:
        for name, service in _compose(droplet)["services"].items():
            for port in service.get("ports", []):
                assert port.startswith(boot.PRIVATE_IP + ":"), f"{droplet.name}/{name} publishes {port} beyond the VPC address"
        assert "private_ip=" in _script(droplet) and boot.COMPOSE_ENV_FILE in _script(droplet), "the boot writes the address compose reads"


def test_only_the_load_balancer_reaches_the_app_droplets_and_only_on_the_frontend_port(do_plan: Plan) -> None:
    rules = _firewall(do_plan, "app")["inboundRules"]
    assert rules == [{"protocol": "tcp", "portRange": "80", "sourceLoadBalancerUids": [_balancer(do_plan).id]}], rules


def test_only_the_internal_balancer_reaches_ollama_and_the_bus(do_plan: Plan) -> None:
    rules = _firewall(do_plan, "gpu")["inboundRules"]
    assert {r["portRange"] for r in rules} == {str(spec.OLLAMA.port), str(spec.EVENT_BUS.port)}
    for rule in rules:
        assert rule["sourceLoadBalancerUids"] == [_balancer(do_plan, internal=True).id] and "sourceAddresses" not in rule, rule


def test_replacing_the_gpu_droplet_does_not_replace_the_app_droplets(do_plan: Plan) -> None:
    gpu = _gpu(do_plan)
    for app in _droplets(do_plan, "app"):
        assert gpu.key not in app.dependencies, "a delete-first GPU Droplet would take every Droplet that depends on it down first"
        assert reveal(gpu.state["ipv4AddressPrivate"]) not in reveal(app.inputs["userData"])


def test_no_role_opens_ssh_unless_addresses_are_configured(do_plan: Plan, plan_of: PlanOf) -> None:
    for role in ("app", "gpu"):
        assert all(r["portRange"] != "22" for r in _firewall(do_plan, role)["inboundRules"])
    opened = plan_of("do", **{"dixi:doSshSources": '["203.0.113.7/32"]', "dixi:doSshKeys": '["12345"]'})
    for role in ("app", "gpu"):
        ssh = [r for r in _firewall(opened, role)["inboundRules"] if r["portRange"] == "22"]
        assert ssh == [{"protocol": "tcp", "portRange": "22", "sourceAddresses": ["203.0.113.7/32"]}]
    assert all(d.inputs["sshKeys"] == ["12345"] for d in opened.recorded.of_type(DROPLET))
    assert opened.problems == []


def test_droplets_reach_out_only_for_dns_web_ntp_and_the_vpc(do_plan: Plan) -> None:
    cidr = do_plan.recorded.config.vpc_cidr  # type: ignore[union-attr]
    for role in ("app", "gpu"):
        for rule in _firewall(do_plan, role)["outboundRules"]:
            if rule["protocol"] == "icmp":
                continue
            assert rule["destinationAddresses"] == [cidr] or rule["portRange"] in ("53", "80", "443", "123"), rule


def test_the_load_balancer_checks_the_frontend_and_keeps_websockets_open(do_plan: Plan) -> None:
    i = _balancer(do_plan).inputs
    assert i["dropletTag"] == _tag_name(do_plan, "app"), "replaced Droplets join by their tag"
    assert i["forwardingRules"] == [{"entryPort": 80, "entryProtocol": "http", "targetPort": 80, "targetProtocol": "http"}]
    assert i["healthcheck"]["path"] == spec.FRONTEND.readiness.path and i["healthcheck"]["port"] == 80
    assert i["httpIdleTimeoutSeconds"] == max(catalog.LB_IDLE_TIMEOUT_SECONDS)
    assert i["redirectHttpToHttps"] is False
    assert do_plan.recorded.outputs["url"].startswith("http://")


def test_with_a_domain_the_balancer_serves_https_with_lets_encrypt_and_redirects_http(plan_of: PlanOf) -> None:
    plan = plan_of("do", **{"dixi:domain": "dixi.example.com", "dixi:doDnsZone": "example.com"})
    balancer = _balancer(plan)
    (certificate,) = plan.recorded.of_type("digitalocean:index/certificate:Certificate")
    assert certificate.inputs["type"] == "lets_encrypt" and certificate.inputs["domains"] == ["dixi.example.com"]
    https = [r for r in balancer.inputs["forwardingRules"] if r["entryProtocol"] == "https"]
    assert https == [{"entryPort": 443, "entryProtocol": "https", "targetPort": 80, "targetProtocol": "http", "certificateName": certificate.state["name"]}]
    assert balancer.inputs["redirectHttpToHttps"] is True and balancer.inputs["disableLetsEncryptDnsRecords"] is True
    (record,) = plan.recorded.of_type("digitalocean:index/dnsRecord:DnsRecord")
    assert (record.inputs["domain"], record.inputs["name"], record.inputs["type"]) == ("example.com", "dixi", "A")
    assert record.inputs["value"] == balancer.state["ip"]
    assert plan.recorded.outputs["url"] == "https://dixi.example.com"
    assert plan.problems == []


def test_the_gpu_droplet_is_deleted_before_its_replacement_and_its_volume_outlives_it(do_plan: Plan) -> None:
    gpu = _gpu(do_plan)
    assert gpu.delete_before_replace, "GPU Droplets are scarce and the volume attaches to one Droplet"
    (volume,) = do_plan.recorded.of_type(VOLUME)
    assert gpu.inputs["volumeIds"] == [volume.id] and not do_plan.recorded.of_type(ATTACHMENT), "the Droplet's delete detaches it, after shutting down"
    assert "size" in gpu.replace_on_changes, "a resize would power the Droplet off in place"
    assert volume.retain_on_delete and volume.inputs["size"] == 50 and volume.inputs["region"] == gpu.inputs["region"]
    script = _script(gpu)
    device = boot.volume_device(volume.inputs["name"])
    assert f"[ -e {device} ]" in script and f"blkid {device} >/dev/null 2>&1 || mkfs.ext4" in script, "formatted only when blank"
    assert "RequiresMountsFor=/var/lib/dixi" in _files(gpu)[f"{cloudinit.SYSTEMD_DIR}/docker.service.d/dixi-data.conf"]["content"]
    assert not any(d.delete_before_replace for d in _droplets(do_plan, "app")), "app Droplets are replaced create-first, behind the balancer"


def test_the_models_bucket_and_volume_are_kept_on_destroy_unless_the_user_opts_out(do_plan: Plan, plan_of: PlanOf) -> None:
    (bucket,) = do_plan.recorded.of_type(BUCKET)
    assert bucket.retain_on_delete and bucket.inputs["forceDestroy"] is False and bucket.inputs["acl"] == "private"
    assert do_plan.recorded.outputs["dataKeptOnDestroy"] is True
    gone = plan_of("do", **{"dixi:retainData": "false"})
    (bucket,) = gone.recorded.of_type(BUCKET)
    (volume,) = gone.recorded.of_type(VOLUME)
    assert not bucket.retain_on_delete and bucket.inputs["forceDestroy"] is True and not volume.retain_on_delete


def test_the_droplets_read_the_models_with_a_read_only_key_for_that_bucket_only(do_plan: Plan) -> None:
    (key,) = do_plan.recorded.of_type("digitalocean:index/spacesKey:SpacesKey")
    (bucket,) = do_plan.recorded.of_type(BUCKET)
    assert reveal(key.inputs["grants"]) == [{"bucket": bucket.state["name"], "permission": "read"}]
    script = _script(_droplets(do_plan, "app")[0])
    assert f"s3://{bucket.state['name']}/" in script and "retry s3cmd" in script


def test_secrets_reach_the_droplets_only_as_root_only_files_in_user_data_sent_as_a_secret(do_plan: Plan) -> None:
    (token,) = [r for r in do_plan.recorded.of_type("random:index/randomPassword:RandomPassword") if "gesture" in r.name]
    assert isinstance(token.state["result"], Secret), "the engine keeps the outputs the SDK marks secret (additionalSecretOutputs) secret"
    value = reveal(token.state["result"])
    for droplet in do_plan.recorded.of_type(DROPLET):
        assert isinstance(droplet.inputs["userData"], Secret), "Pulumi keeps the user data encrypted in the state"
        for path, entry in _files(droplet).items():
            if value in entry["content"]:
                assert path == compose.SECRETS_ENV_FILE and entry["permissions"] == "0600", path
    app_files = _files(_droplets(do_plan, "app")[0])
    assert f"{spec.GESTURE_TOKEN_ENV}={value}" in app_files[compose.SECRETS_ENV_FILE]["content"]
    assert app_files[f"{boot.DOCKER_CONFIG_DIR}/config.json"]["permissions"] == "0600"
    assert app_files[boot.S3CMD_CONFIG]["permissions"] == "0600"


def test_containers_cannot_reach_the_metadata_service_that_serves_the_user_data(do_plan: Plan) -> None:
    for droplet in do_plan.recorded.of_type(DROPLET):
        files = _files(droplet)
        unit = files[f"{cloudinit.SYSTEMD_DIR}/{boot.BLOCK_UNIT}.service"]["content"]
        assert "Before=docker.service" in unit and cloudinit.METADATA_BLOCK_RULE in unit, "after a reboot the rule is back before any container"
        script = _script(droplet)
        assert script.index(boot.BLOCK_UNIT) < script.index("docker.io"), "the block is in place before Docker is installed"


def test_the_api_token_and_spaces_keys_never_reach_the_plan(plan_of: PlanOf) -> None:
    marks = {"digitalocean:token": "dop_v1_tokenvalue1234", "digitalocean:spacesAccessId": "DO00SPACESID1234", "digitalocean:spacesSecretKey": "spacessecretvalue1234"}
    plan = plan_of("do", **marks)
    recorded = repr([(r.inputs, r.state) for r in plan.recorded.resources]) + repr(plan.recorded.outputs)
    for key, value in marks.items():
        assert value not in recorded, f"{key} reached a resource or an output"


def test_no_output_carries_a_secret(do_plan: Plan) -> None:
    secrets = {reveal(r.state.get("result")) for r in do_plan.recorded.of_type("random:index/randomPassword:RandomPassword")}
    assert secrets and not any(s in repr(do_plan.recorded.outputs) for s in secrets)


def test_one_app_droplet_runs_one_backend_and_needs_no_bus(plan_of: PlanOf) -> None:
    plan = plan_of("do", **{"dixi:doAppDroplets": "1"})
    env = _compose(_droplets(plan, "app")[0])["services"]["backend"]["environment"]
    assert spec.EVENT_BUS.url_env not in env
    assert set(_compose(_gpu(plan))["services"]) == {"ollama"}
    assert {r["portRange"] for r in _firewall(plan, "gpu")["inboundRules"]} == {str(spec.OLLAMA.port)}
    assert plan.problems == []


def test_the_managed_bus_is_a_valkey_cluster_in_the_vpc_that_only_the_app_tag_reaches(plan_of: PlanOf) -> None:
    plan = plan_of("do", **{"dixi:doEventBus": "managed"})
    (cluster,) = plan.recorded.of_type(DATABASE)
    (vpc,) = plan.recorded.of_type("digitalocean:index/vpc:Vpc")
    assert cluster.inputs["engine"] == "valkey" and cluster.inputs["privateNetworkUuid"] == vpc.id
    (firewall,) = plan.recorded.of_type("digitalocean:index/databaseFirewall:DatabaseFirewall")
    assert firewall.inputs["rules"] == [{"type": "tag", "value": _tag_name(plan, "app")}]
    env = _compose(_droplets(plan, "app")[0])["services"]["backend"]["environment"]
    assert env[spec.EVENT_BUS.url_env].startswith(f"rediss://{reveal(cluster.state['privateHost'])}:")
    assert event_bus.SERVICE not in _compose(_gpu(plan))["services"]
    assert plan.problems == []


def test_alert_policies_cover_cpu_memory_and_disk_of_every_role_when_someone_receives_them(do_plan: Plan, plan_of: PlanOf) -> None:
    assert do_plan.recorded.of_type(ALERT) == []
    plan = plan_of("do", **{"dixi:doAlertEmails": '["ops@example.com"]'})
    alerts = plan.recorded.of_type(ALERT)
    assert {a.inputs["type"].rsplit("/", 1)[-1] for a in alerts} == {"cpu", "memory_utilization_percent", "disk_utilization_percent"}
    for alert in alerts:
        assert alert.inputs["tags"] == [_tag_name(plan, "app"), _tag_name(plan, "gpu")]
        assert alert.inputs["alerts"] == {"emails": ["ops@example.com"]}


def test_tags_exist_before_the_firewalls_and_the_balancer_name_them(do_plan: Plan) -> None:
    tags = {r.key for r in do_plan.recorded.of_type(TAG)}
    for resource in [*do_plan.recorded.of_type(FIREWALL), *do_plan.recorded.of_type(BALANCER), *do_plan.recorded.of_type(DROPLET)]:
        assert tags & set(resource.dependencies), f"{resource.name} names a tag it does not wait for"


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        ({"dixi:doGpuSize": "gpu-h100x8-640gb"}, "dixi:doGpuSize", "single-GPU"),
        ({"dixi:doGpuSize": "gpu-mi300x1-192gb"}, "dixi:doGpuSize", "NVIDIA"),
        ({"dixi:doAppSize": "s-9vcpu-1gb"}, "dixi:doAppSize", "Droplet size"),
        ({"dixi:doRegion": "mars1"}, "dixi:doRegion", "region"),
        ({"dixi:visionGpu": "true"}, "dixi:visionGpu", "CPUs"),
        ({"dixi:doVpcCidr": "8.8.0.0/16"}, "dixi:doVpcCidr", "private"),
        ({"dixi:doSshSources": '["0.0.0.0/0"]', "dixi:doSshKeys": '["1"]'}, "dixi:doSshSources", "whole internet"),
        ({"dixi:doSshSources": '["203.0.113.7"]'}, "dixi:doSshSources", "dixi:doSshKeys"),
        ({"dixi:doEventBus": "redis"}, "dixi:doEventBus", "profile"),
        ({"dixi:images": '["backend=myreg.example.com/dixi/backend:1"]'}, "dixi:images", "cannot log in"),
        ({"dixi:domain": "dixi.example.com", "dixi:doDnsZone": "other.org"}, "dixi:doDnsZone", "does not contain"),
    ],
)
def test_a_bad_config_is_one_clear_error_naming_the_key(plan_of: PlanOf, overrides: dict[str, str], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_of("do", **overrides)
    lines = caught.value.lines
    assert len(lines) == 1 and key in lines[0] and says in lines[0], lines


def test_a_gpu_size_is_refused_in_a_region_that_does_not_offer_it(plan_of: PlanOf) -> None:
    size = catalog.DEFAULT_GPU_SIZE
    elsewhere = next(r for r in catalog.REGIONS if r not in catalog.GPU_REGIONS[size])
    with pytest.raises(ConfigError) as caught:
        plan_of("do", **{"dixi:doRegion": elsewhere})
    assert "dixi:doRegion" in str(caught.value) and catalog.GPU_REGIONS[size][0] in str(caught.value)


def test_the_boot_scripts_are_valid_bash_and_shellcheck_clean(do_plan: Plan, tmp_path: Path) -> None:
    for droplet in [_droplets(do_plan, "app")[0], _gpu(do_plan)]:
        script = tmp_path / f"{droplet.name}.sh"
        script.write_text(_script(droplet))
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        result = subprocess.run([str(Path(sys.executable).parent / "shellcheck"), str(script)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def acl_server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A real redis-server loading the ACL file the GPU Droplet's boot writes (Valkey reads the same format)."""
    server = shutil.which("redis-server") or shutil.which("valkey-server")
    if server is None:
        pytest.skip("needs redis-server or valkey-server (Debian: redis-server)")
    password = "a-generated-bus-password"
    acl = tmp_path / "users.acl"
    acl.write_text(event_bus.acl_line_template() % hashlib.sha256(password.encode()).hexdigest() + "\n")
    port = _free_port()
    process = subprocess.Popen([server, "--port", str(port), "--save", "", "--appendonly", "no", "--aclfile", str(acl)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port, password
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_bus_acl_file_lets_the_backend_publish_with_the_password_only(acl_server: tuple[int, str]) -> None:
    import redis

    port, password = acl_server
    client = redis.Redis(port=port, password=password)
    assert client.ping() and client.publish("dixi:events", "x") == 0
    assert client.set("dixi:events:lease:relay", "r1", nx=True, px=1000)
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.keys("*")
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=port, password="wrong").ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=port).set("x", "1")


def test_the_bus_image_is_the_one_the_local_replicas_overlay_runs() -> None:
    overlay = yaml.safe_load((ROOT / "app/docker-compose.replicas.yml").read_text())
    assert overlay["services"]["valkey"]["image"] == event_bus.VALKEY_IMAGE


def test_a_stack_name_digitalocean_cannot_take_in_resource_names_is_refused() -> None:
    from infra.config import parse, project_defaults

    defaults = project_defaults(ROOT / "Pulumi.yaml")
    parse({**defaults, "dixi:target": "do"}, "Pulumi.do-eu.yaml", defaults)
    for bad in ("Prod", "do_eu", "do.eu", "x" * 31):
        with pytest.raises(ConfigError) as caught:
            parse({**defaults, "dixi:target": "do"}, f"Pulumi.{bad}.yaml", defaults)
        assert "the stack name" in str(caught.value) and "lowercase" in str(caught.value)


def test_the_managed_bus_is_verified_against_the_clusters_own_ca(plan_of: PlanOf) -> None:
    plan = plan_of("do", **{"dixi:doEventBus": "managed"})
    app = _droplets(plan, "app")[0]
    backend = _compose(app)["services"]["backend"]
    assert backend["environment"][event_bus.CA_ENV] == event_bus.CA_IN_CONTAINER
    assert f"{event_bus.CA_FILE}:{event_bus.CA_IN_CONTAINER}:ro" in backend["volumes"]
    assert _files(app)[event_bus.CA_FILE]["content"].startswith("-----BEGIN CERTIFICATE-----"), "the API's base64 is decoded to PEM"
