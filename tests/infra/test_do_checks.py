"""DigitalOcean's checks on hand-made plans: secrets in host-only user data, `do-catalog`, database trusted sources.

No Pulumi runs here (tests/infra/test_cloud_adapters.py records the SDK's
classes); each plan is built from `infra.plan.model`, so the suite stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.checks import RULES, Problem, load_rules
from infra.checks.adapters import all_openings, all_user_data
from infra.common import cloudinit, compose
from infra.digitalocean import catalog
from infra.plan import stackfiles
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret
from infra.plan.run import ROOT

STACK = ResourceKey("pulumi:pulumi:Stack", "dixi-test")
COMPONENT = ResourceKey("dixi:digitalocean:DropletDeployment", "dixi")
DROPLET = "digitalocean:index/droplet:Droplet"
CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
DB_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
SECRET_RULE = "secret-not-in-user-data"
SERVICES = ("frontend", "backend", "vision", "ollama")
TOKEN = "s3cr3t-gesture-token"
BLOCK = f"iptables -I DOCKER-USER {cloudinit.METADATA_BLOCK_RULE}"
UNIT = ("/etc/systemd/system/dixi-metadata-block.service", f"[Unit]\nBefore=docker.service\n\n[Service]\nType=oneshot\nExecStart=/usr/sbin/{BLOCK}\n")

load_rules()


def _r(type_: str, name: str, id_: str = "", **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, name, True, COMPONENT, inputs, id=id_ or f"{name}-id", state=dict(inputs))


def _plan(*resources: RecordedResource, stack: str = "test") -> RecordedPlan:
    component = RecordedResource(COMPONENT.type, COMPONENT.name, False, STACK, {})
    return RecordedPlan("dixi", stack, None, [RecordedResource(STACK.type, STACK.name, False, None, {}), component, *resources])


def _run(rule: str, plan: RecordedPlan, root: Path = ROOT) -> list[Problem]:
    return RULES[rule](plan, root)


def _errors(problems: list[Problem]) -> list[str]:
    return [p.message for p in problems if p.severity == "error"]


def _user_data(steps: list[str] | None = None, *, unit: bool = True, secret: str = TOKEN, compose_document: dict[str, Any] | None = None) -> str:
    """Cloud-config that writes a 0600 secrets file holding `secret`, runs `steps` (the block by default), and the unit."""
    document = compose_document or compose.render({s: "img" for s in SERVICES}, "m")
    files = [("/opt/dixi/secrets.env", f"GESTURE_TOKEN={secret}\n"), *([UNIT] if unit else [])]
    return cloudinit.render(compose.dump(document), cloudinit.boot_script([], [BLOCK] if steps is None else steps), files=files)


def _token() -> RecordedResource:
    password = _r("random:index/randomPassword:RandomPassword", "dixi-gesture-token")
    password.state["result"] = Secret(TOKEN)
    return password


def _droplet(text: str, *, marked: bool = True, name: str = "dixi-gpu", **inputs: Any) -> RecordedResource:
    fields = {"size": catalog.DEFAULT_APP_SIZE, "region": catalog.DEFAULT_REGION, "image": catalog.APP_IMAGE, **inputs}
    return _r(DROPLET, name, id_=str(abs(hash(name)) % 10**8), userData=Secret(text) if marked else text, **fields)


# --- secret-not-in-user-data on a host-only document ------------------------------------------------


def test_the_digitalocean_adapter_says_only_the_droplet_reads_its_user_data_and_why() -> None:
    [document] = all_user_data(_plan(_droplet(_user_data())))
    assert document.readable_outside_host is False and document.marked_secret
    assert "specification/resources/droplets/models/droplet.yml" in document.reader_source and "169.254.169.254" in document.reader_source


def test_a_marked_droplet_document_with_a_secret_and_the_metadata_block_is_allowed() -> None:
    assert _run(SECRET_RULE, _plan(_token(), _droplet(_user_data()))) == []


def test_without_the_metadata_block_the_secret_is_an_error() -> None:
    problems = _run(SECRET_RULE, _plan(_token(), _droplet(_user_data(steps=[], unit=False))))
    assert [p.severity for p in problems] == ["error"]
    assert "holds 1 secret value(s)" in problems[0].message and "no boot script it writes blocks containers from the metadata service" in problems[0].message


def test_an_unmarked_document_with_a_secret_is_an_error_for_the_state() -> None:
    problems = _run(SECRET_RULE, _plan(_token(), _droplet(_user_data(), marked=False)))
    assert [p.severity for p in problems] == ["error"] and "it is not marked secret" in problems[0].message
    assert "metadata service" not in problems[0].message.split("; here ")[1], "only what is missing is named"


def test_a_provider_token_in_the_document_is_an_error_even_when_marked_and_blocked() -> None:
    provider = _r("pulumi:providers:digitalocean", "dixi-do", token=Secret("dop_v1_provider_token_value"))
    problems = _run(SECRET_RULE, _plan(_token(), provider, _droplet(_user_data(secret="dop_v1_provider_token_value"))))
    assert [p.severity for p in problems] == ["error"] and "provider credential(s) of provider dixi-do" in problems[0].message


def test_a_provider_credential_named_so_is_found_even_when_not_wrapped_secret() -> None:
    provider = _r("pulumi:providers:digitalocean", "dixi-do", spacesSecretKey="plain-spaces-secret-key", apiEndpoint="https://api.digitalocean.com")
    text = _user_data(secret="plain-spaces-secret-key")
    problems = _run(SECRET_RULE, _plan(provider, _droplet(text, marked=False)))
    assert len(_errors(problems)) == 1 and "provider credential" in problems[0].message and "not marked secret" in problems[0].message
    harmless = _run(SECRET_RULE, _plan(provider, _droplet(_user_data(secret="https://api.digitalocean.com"), marked=False)))
    assert harmless == [], "the provider's endpoint is not a credential"


def test_plain_text_provider_config_in_the_stack_file_is_a_credential(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: dixi\nruntime: python\n")
    (tmp_path / "Pulumi.test.yaml").write_text("config:\n  digitalocean:token: dop_v1_plaintext_in_stack_file\n  digitalocean:region: tor1\n")
    plan = _plan(_droplet(_user_data(secret="dop_v1_plaintext_in_stack_file")))
    problems = _run(SECRET_RULE, plan, tmp_path)
    assert len(_errors(problems)) == 1 and "stack config digitalocean:token" in problems[0].message


def test_a_secure_provider_credential_in_the_stack_file_cannot_be_told_from_the_apps_own(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: dixi\nruntime: python\n")
    (tmp_path / "Pulumi.test.yaml").write_text("config:\n  digitalocean:token:\n    secure: v1:abc\n")
    plan = _plan(_droplet(_user_data(secret=stackfiles.SECRET_PLACEHOLDER)))
    problems = _run(SECRET_RULE, plan, tmp_path)
    assert [p.severity for p in problems] == ["warning"] and "digitalocean:token" in problems[0].message and "could not be judged" in problems[0].message
    assert _run(SECRET_RULE, _plan(_droplet(_user_data())), tmp_path) == [], "no secure value in the document: nothing to doubt"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (f"{BLOCK} || true", "carries on when it fails"),
        (f"{BLOCK} && echo blocked", "starts an `&&` list"),
        (f"{BLOCK} &", "runs in the background"),
        (f"if {BLOCK}; then echo ok; fi", "runs as a condition"),
        (f"true && {BLOCK}", "runs only when the command before it succeeds"),
        (f"grep -q x /etc/hosts || {BLOCK}", "runs only when the command before it fails"),
        (f"# {BLOCK}", "no boot script it writes blocks containers"),
        (f"iptables -D DOCKER-USER {cloudinit.METADATA_BLOCK_RULE}", "no boot script it writes blocks containers"),
    ],
)
def test_a_metadata_block_whose_failure_would_go_unnoticed_does_not_count(line: str, words: str) -> None:
    problems = _run(SECRET_RULE, _plan(_token(), _droplet(_user_data(steps=[line], unit=False))))
    assert _errors(problems) and words in problems[0].message, [p.message for p in problems]


def test_a_script_without_set_e_does_not_block_loudly() -> None:
    text = cloudinit.render("services: {}\n", f"#!/bin/bash\n{BLOCK}\n", files=[UNIT, ("/opt/dixi/secrets.env", f"T={TOKEN}\n")])
    problems = _run(SECRET_RULE, _plan(_token(), _droplet(text)))
    assert _errors(problems) and "no `set -e`" in problems[0].message


def test_checking_for_the_rule_before_inserting_it_blocks_loudly() -> None:
    check = f"iptables -C DOCKER-USER {cloudinit.METADATA_BLOCK_RULE} || {BLOCK}"
    assert _run(SECRET_RULE, _plan(_token(), _droplet(_user_data(steps=[check])))) == []


def test_a_block_applied_only_at_first_boot_is_a_warning_about_reboots() -> None:
    problems = _run(SECRET_RULE, _plan(_token(), _droplet(_user_data(unit=False))))
    assert [p.severity for p in problems] == ["warning"] and "do not survive a reboot" in problems[0].message
    bootcmd = _user_data(unit=False).replace("#cloud-config\n", f"#cloud-config\nbootcmd:\n  - [sh, -c, '{BLOCK}']\n", 1)
    assert _run(SECRET_RULE, _plan(_token(), _droplet(bootcmd))) == [], "cloud-init runs bootcmd on every boot"


def test_a_compose_service_on_the_host_network_escapes_the_block() -> None:
    document = compose.render({s: "img" for s in SERVICES}, "m")
    document["services"]["ollama"]["network_mode"] = "host"
    document["services"]["ollama"].pop("networks", None)
    document["services"]["ollama"].pop("ports", None)
    problems = _run(SECRET_RULE, _plan(_token(), _droplet(_user_data(compose_document=document))))
    assert _errors(problems) and "runs ollama with network_mode host" in problems[0].message


def test_a_marked_document_without_a_secret_value_still_needs_the_block() -> None:
    problems = _run(SECRET_RULE, _plan(_droplet(_user_data(steps=[], unit=False, secret="not-a-secret"))))
    assert _errors(problems) and problems[0].message.startswith("user data is marked secret; only the VM can read it")


def test_host_only_user_data_without_any_secret_says_nothing() -> None:
    assert _run(SECRET_RULE, _plan(_droplet(_user_data(steps=[], unit=False, secret="plain"), marked=False))) == []


@pytest.mark.parametrize(
    "vm",
    [
        lambda text: _r("aws:ec2/instance:Instance", "dixi-vm", userData=Secret(text), metadataOptions={"httpTokens": "required"}),
        lambda text: _r("gcp:compute/instanceTemplate:InstanceTemplate", "dixi-vm", metadata={"user-data": text}),
    ],
    ids=["aws", "gcp"],
)
def test_on_aws_and_gcp_a_secret_in_user_data_is_an_error_block_or_not(vm: Any) -> None:
    problems = _run(SECRET_RULE, _plan(_token(), vm(_user_data())))
    assert _errors(problems) and not any("only the VM can read it" in m for m in _errors(problems)), "the API returns their user data"
    assert any("1 secret value(s) in plain text" in m for m in _errors(problems))


def test_a_provider_credential_in_readable_user_data_is_an_error() -> None:
    provider = _r("pulumi:providers:aws", "dixi-aws", secretKey="aws-secret-access-key-value")
    vm = _r("aws:ec2/instance:Instance", "dixi-vm", userData=_user_data(secret="aws-secret-access-key-value"), metadataOptions={"httpTokens": "required"})
    problems = _run(SECRET_RULE, _plan(provider, vm))
    assert any("provider credential(s) of provider dixi-aws" in m for m in _errors(problems))


# --- do-catalog -------------------------------------------------------------------------------------


def _catalog(*resources: RecordedResource) -> list[tuple[str, str]]:
    return [(p.severity, p.message) for p in _run("do-catalog", _plan(*resources))]


GPU = catalog.DEFAULT_GPU_SIZE
GPU_REGION = catalog.GPU_REGIONS[GPU][0]
NO_GPU_REGION = next(r for r in catalog.REGIONS if r not in catalog.GPU_REGIONS[GPU])


def test_catalog_sizes_in_their_regions_pass() -> None:
    assert _catalog(
        _r(DROPLET, "dixi-app-0", size=catalog.DEFAULT_APP_SIZE, region=GPU_REGION),
        _r(DROPLET, "dixi-gpu", size=GPU, region=GPU_REGION),
        _r(CLUSTER, "dixi-bus", engine="valkey", size=next(iter(catalog.VALKEY_SIZES)), region=catalog.VALKEY_REGIONS[0], nodeCount=1.0),
        _r(VOLUME, "dixi-models", size=100.0, region=GPU_REGION),
        _r(LOAD_BALANCER, "dixi-lb", region=GPU_REGION, sizeUnit=1.0, httpIdleTimeoutSeconds=600.0),
        _r(LOAD_BALANCER, "dixi-lb-defaults", region=GPU_REGION),
    ) == []


def test_a_gpu_size_outside_its_regions_names_the_regions_that_offer_it() -> None:
    [(severity, message)] = _catalog(_r(DROPLET, "dixi-gpu", size=GPU, region=NO_GPU_REGION))
    assert severity == "error" and f"is offered only in {', '.join(catalog.GPU_REGIONS[GPU])}, not in {NO_GPU_REGION}" in message


def test_sizes_and_regions_the_catalog_does_not_know_are_errors() -> None:
    found = _catalog(_r(DROPLET, "dixi-app-0", size="s-99vcpu-1tb", region="mars1"))
    assert [s for s, _ in found] == ["error", "error"]
    assert "region 'mars1' is not a Droplet region" in found[0][1] and "size 's-99vcpu-1tb' is not a Droplet size" in found[1][1]


def test_a_droplet_whose_size_or_region_the_plan_does_not_hold_could_not_be_judged() -> None:
    found = _catalog(_r(DROPLET, "dixi-app-0"))
    assert [s for s, _ in found] == ["warning", "warning"] and all("could not be judged" in m for _, m in found)


def test_a_valkey_cluster_of_an_unknown_size_or_region_is_an_error() -> None:
    found = _catalog(_r(CLUSTER, "dixi-bus", engine="valkey", size="db-s-64vcpu-1tb", region="mars1"))
    assert [s for s, _ in found] == ["error", "error"] and "Managed Valkey region" in found[0][1] and "not a Valkey node size" in found[1][1]
    single = catalog.VALKEY_SINGLE_NODE_ONLY[0]
    [(severity, message)] = _catalog(_r(CLUSTER, "dixi-bus", engine="valkey", size=single, region=catalog.VALKEY_REGIONS[0], nodeCount=2.0))
    assert severity == "error" and "one-node clusters only" in message
    [(severity, message)] = _catalog(_r(CLUSTER, "dixi-bus", engine="valkey", size=single))
    assert severity == "warning" and "no region" in message


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        (_r(VOLUME, "dixi-models", size=0.0, region="tor1"), "size is 0 GiB; DigitalOcean takes 1-16384 GiB"),
        (_r(VOLUME, "dixi-models", size=16385.0, region="tor1"), "size is 16385 GiB"),
        (_r(LOAD_BALANCER, "dixi-lb", sizeUnit=0.0), "sizeUnit is 0 size unit(s)"),
        (_r(LOAD_BALANCER, "dixi-lb", httpIdleTimeoutSeconds=10.0), "httpIdleTimeoutSeconds is 10 s; DigitalOcean takes 30-600 s"),
    ],
)
def test_volume_and_load_balancer_fields_outside_their_ranges_are_errors(resource: RecordedResource, words: str) -> None:
    found = _catalog(resource)
    assert [s for s, _ in found] == ["error"] and words in found[0][1], found


def test_a_volume_without_a_size_in_the_plan_could_not_be_judged() -> None:
    assert [s for s, _ in _catalog(_r(VOLUME, "dixi-models", region="tor1"))] == ["warning"]


def _attached(droplet_region: str, volume_region: str, droplet_id: object = 4242.0) -> RecordedPlan:
    droplet = _r(DROPLET, "dixi-gpu", id_="4242", size=catalog.DEFAULT_APP_SIZE, region=droplet_region)
    volume = _r(VOLUME, "dixi-models", id_="vol-uuid-1", size=50.0, region=volume_region)
    return _plan(droplet, volume, _r(ATTACHMENT, "dixi-models", dropletId=droplet_id, volumeId="vol-uuid-1"))


def test_a_volume_attached_to_a_droplet_in_another_region_is_an_error() -> None:
    problems = _run("do-catalog", _attached("tor1", "nyc2"))
    assert _errors(problems) == ["attaches volume dixi-models (nyc2) to Droplet dixi-gpu (tor1); DigitalOcean attaches a volume only to a Droplet in its own region"]
    assert _run("do-catalog", _attached("tor1", "tor1")) == []
    assert _run("do-catalog", _attached("tor1", "tor1", droplet_id="4242")) == [], "the id is followed whether the engine sends a number or a string"


def test_a_droplet_that_attaches_a_volume_of_another_region_itself_is_an_error() -> None:
    def plan(volume_region: str) -> RecordedPlan:
        volume = _r(VOLUME, "dixi-models", id_="vol-uuid-1", size=50.0, region=volume_region)
        droplet = _r(DROPLET, "dixi-gpu", id_="4242", size=catalog.DEFAULT_APP_SIZE, region="tor1", volumeIds=["vol-uuid-1"])
        return _plan(droplet, volume)

    assert _errors(_run("do-catalog", plan("nyc2"))) == [
        "attaches volume dixi-models (nyc2) in another region (tor1); DigitalOcean attaches a volume only to a Droplet in its own region"
    ]
    assert _run("do-catalog", plan("tor1")) == []


def test_an_attachment_to_a_droplet_outside_the_plan_could_not_be_judged() -> None:
    problems = _run("do-catalog", _attached("tor1", "tor1", droplet_id=None))
    assert [p.severity for p in problems] == ["warning"] and "dropletId None" in problems[0].message


# --- database trusted sources -------------------------------------------------------------------------


def _cluster() -> RecordedResource:
    cluster = _r(CLUSTER, "dixi-bus", id_="db-uuid-1", engine="valkey", size="db-s-1vcpu-1gb", region="tor1")
    cluster.state["port"] = 25061.0
    return cluster


def test_a_trusted_source_of_the_whole_internet_exposes_the_bus() -> None:
    firewall = _r(DB_FIREWALL, "dixi-bus", clusterId="db-uuid-1", rules=[{"type": "ip_addr", "value": "0.0.0.0/0"}, {"type": "tag", "value": "dixi-app"}])
    messages = _errors(_run("private-ports-not-public", _plan(_cluster(), firewall)))
    assert messages == ["opens port 25061 (event bus) to 0.0.0.0/0 (trusted source ip_addr 0.0.0.0/0 -> valkey cluster port 25061); the event bus must never be reachable from the internet"]
    assert _run("checks-cover-entry-points", _plan(_cluster(), firewall)) == []


def test_a_tag_trusted_source_opens_nothing_and_guards_the_cluster() -> None:
    firewall = _r(DB_FIREWALL, "dixi-bus", clusterId="db-uuid-1", rules=[{"type": "tag", "value": "dixi-app"}, {"type": "droplet", "value": "4242"}])
    plan = _plan(_cluster(), firewall)
    assert all_openings(plan) == [] and _run("private-ports-not-public", plan) == []


def test_a_cluster_no_database_firewall_guards_is_open_to_any_source() -> None:
    messages = _errors(_run("private-ports-not-public", _plan(_cluster())))
    assert len(messages) == 1 and "opens port 25061 (event bus)" in messages[0] and "no database firewall" in messages[0]
