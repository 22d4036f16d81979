"""`OllamaVm`: Ollama on one Compute Engine GPU VM, kept alive by a managed instance group, at a fixed private address.

Creates, as children:
- a service account of its own (never the default compute account) with
  exactly `roles/logging.logWriter` (container logs through Docker's gcplogs
  driver, the boot failure report) and `roles/monitoring.metricWriter` on the
  project. Pulling the Ollama image needs `roles/artifactregistry.reader`,
  which the caller grants on its repository only (`service_account_member`);
- the models disk (pd-balanced, mounted at /var/lib/dixi, Ollama's store in
  /var/lib/dixi/ollama) and a static internal address in the subnetwork, both
  their own resources so they outlive every VM;
- an instance template: the machine type (N1 with an attached T4, or a G2
  whose L4 is built in, per `infra.gcp.catalog`), TERMINATE on host
  maintenance (GPU VMs cannot live-migrate), the boot disk from the caller's
  image, the models disk by device name `ollama-models`, one NIC with no
  access config (no external IP: egress through the VPC's Cloud NAT), the
  network tag the firewall rules name, Shielded VM with vTPM and integrity
  monitoring, and cloud-init user data rendered by `infra.common.cloudinit`
  that runs only the Ollama service of `infra.common.compose.render()`,
  published on the host's 11434 and logging to Cloud Logging;
- an HTTP health check on Ollama's `/` and a firewall rule that lets only
  Google's health checkers (35.191.0.0/16, 130.211.0.0/22:
  https://cloud.google.com/load-balancing/docs/health-check-concepts, "IP
  ranges"; https://cloud.google.com/load-balancing/docs/firewall-rules) reach
  tcp:11434 on the tag;
- a zonal managed instance group that auto-heals on that check, with the
  models disk and nic0's address stateful, and a per-instance config that
  creates its one VM, `<name>-0`, holding that disk and address.

Why the group starts at size 0. A per-instance config is created with the
group's `createInstances` method (hashicorp/terraform-provider-google
resource_compute_per_instance_config.go; gcloud's `instance-groups managed
create-instance`), which adds a VM of that name to the group. A group created
at size 1 would first make a VM of its own with a random name, and the config
a second: two GPUs, and the disk can attach read-write to one only. So the
group is created empty and the config makes the one VM; `targetSize` is then
ignored, as the provider advises for a size set only at creation
(pulumi_gcp compute/instance_group_manager.py, `target_size`).

Replacement and updates. Templates are immutable: any change (a new image
digest in the user data, a machine type) makes a new template, named from a
prefix, created before the old one is deleted, since the group points at it.
The group then replaces its VM proactively, one at a time, with no surge
(`maxSurgeFixed` 0, `maxUnavailableFixed` 1) and `RECREATE`, which keeps the
VM's name: the old VM goes first, so the project never needs GPU quota for
two, and the models disk and the address move to the new VM. Expect a few
minutes without Ollama per update; the backend reports it not ready meanwhile.

Reboots and auto-healing. After a reboot the disk mounts through fstab
(`nofail`, and Docker requires the mount), containers restart with Docker. An
auto-healed VM is recreated under the same name with the same disk and
address; cloud-init sees a new instance and boots it from scratch, and
Ollama finds its models on the disk.

Destroy. The VM goes with the group; the models disk is kept when
`retain_data` is true (then delete it by hand, or import it into the next
stack), deleted otherwise. The address is always released.

Left out: the VPC, subnetwork, Cloud NAT and the firewall rule that lets the
backend's Direct VPC egress range reach 11434 (the caller's network owns
them), the Artifact Registry grant (the caller's repository), SSH and OS Login
(nothing here opens port 22), and a regional group (a GPU is in one zone and
so is the disk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_gcp.compute as compute
import pulumi_gcp.projects as projects
import pulumi_gcp.serviceaccount as serviceaccount
from pulumi import Output, ResourceOptions

from infra import spec
from infra.common import cloudinit, compose
from infra.gcp import boot, catalog, naming

DEVICE_NAME: Final = "ollama-models"
# Compute Engine names an attached disk by its device name under /dev/disk/by-id
# (https://cloud.google.com/compute/docs/disks/disk-symlinks): google-<device name>.
DEVICE_PATH: Final = f"/dev/disk/by-id/google-{DEVICE_NAME}"
DATA_MOUNT: Final = compose.HostLayout().data_dir
NIC: Final = "nic0"
PROJECT_ROLES: Final = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
# Google's health checkers probe from these ranges (load-balancing/docs/health-check-concepts, "IP ranges").
HEALTH_CHECK_RANGES: Final = ("35.191.0.0/16", "130.211.0.0/22")
# Ollama answers `GET /` as soon as `ollama serve` is up, before any model is
# pulled (app/ollama/entrypoint.sh), so the check says "the server runs", never
# "the model is there" (the backend's readiness says that). Every 30 s, 10 s to
# answer; healthy after 1 pass; recreated only after 10 failures in a row (5
# minutes): recreating a GPU VM costs minutes and a model reload, which a
# container restart (seconds) must not trigger.
CHECK_INTERVAL_SECONDS: Final = 30
CHECK_TIMEOUT_SECONDS: Final = 10
HEALTHY_THRESHOLD: Final = 1
UNHEALTHY_THRESHOLD: Final = 10
# Auto-healing starts judging a new VM after 20 minutes: its boot installs the
# NVIDIA container toolkit when the image lacks it (apt, minutes), pulls the
# Ollama image (several GB) and starts it. The model pull happens after the
# server answers, so it needs no room here. Compute Engine allows up to 3600 s.
INITIAL_DELAY_SECONDS: Final = 1200
# Docker's gcplogs driver (moby daemon/logger/gcplogs); the project it writes
# to, as the VM's service account may write only there.
LOG_DRIVER: Final = "gcplogs"
ACCOUNT_ID_LENGTH: Final = range(6, 31)  # Service account IDs: 6-30 characters (IAM's CreateServiceAccount).


@dataclass(frozen=True)
class OllamaVmArgs:
    project: str
    region: str
    zone: str
    machine_type: str  # n1-standard-4 (with a T4) by default; g2-standard-4 (L4 built in) accepted
    accelerator: str | None  # attached to an N1; None (or the built-in GPU) for a G2/A2/A3 type
    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    image: pulumi.Input[str]  # the image family's self link, resolved by the caller
    boot_disk_gib: int
    models_disk_gib: int
    ollama_image: pulumi.Input[str]  # an Artifact Registry reference, by digest
    ollama_model: str
    registry_host: pulumi.Input[str]  # e.g. us-central1-docker.pkg.dev
    retain_data: bool
    network_tag: str
    labels: Mapping[str, str] = field(default_factory=dict)
    # Where physical names (the account, the instance, the template) start; the component's name when empty.
    physical_prefix: str = ""

    def __post_init__(self) -> None:
        built_in = catalog.GPU_MACHINE_TYPES.get(catalog.machine_type_name(self.machine_type))
        if built_in is not None and self.accelerator not in (None, built_in.accelerator):
            raise ValueError(
                f"machine type {self.machine_type} brings {built_in.gpus} {built_in.accelerator} built in and takes no "
                f"attached {self.accelerator}; leave the accelerator unset (infra/gcp/catalog.py, GPU_MACHINE_TYPES)"
            )
        if built_in is None and self.accelerator is None:
            raise ValueError(f"machine type {self.machine_type} has no GPU of its own; name the accelerator to attach (e.g. {catalog.DEFAULT_GPU_ACCELERATOR})")


def attached_accelerators(machine_type: str, accelerator: str | None) -> list[compute.InstanceTemplateGuestAcceleratorArgs]:
    """What to attach: nothing to a type with its GPU built in (catalog), else the one accelerator asked for."""
    if catalog.machine_type_name(machine_type) in catalog.GPU_MACHINE_TYPES or accelerator is None:
        return []
    return [compute.InstanceTemplateGuestAcceleratorArgs(type=accelerator, count=1)]


def account_id(name: str) -> str:
    """The service account's ID from the component's name: lowercase letters, digits and hyphens, 6-30 long."""
    found = naming.physical(name, "vm", limit=ACCOUNT_ID_LENGTH.stop - 1)
    if len(found) not in ACCOUNT_ID_LENGTH or not found[0].isalpha():
        raise ValueError(f"cannot make a service account ID (6-30 characters, starting with a letter) from the name {name!r}")
    return found


def ollama_compose(image: str, model: str, project: str) -> dict[str, Any]:
    """The compose document with only Ollama, published on the host's 11434 for the backend and the health checker."""
    document = compose.render(
        {s.name: image for s in spec.SERVICES},
        model,
        logging={"driver": LOG_DRIVER, "options": {"gcp-project": project}},
    )
    service = document["services"][spec.OLLAMA.name]
    # The VM has no external address; the VPC firewall decides who reaches this port.
    service["ports"] = [f"{spec.OLLAMA.port}:{spec.OLLAMA.port}"]
    return {**document, "services": {spec.OLLAMA.name: service}}


def ollama_boot_script(registry_host: str, log_name: str) -> str:
    """The shared boot script, waiting only for Ollama: no frontend, backend or vision runs on this VM."""
    return cloudinit.boot_script(
        [(f"{DATA_MOUNT}/{v.name}", spec.OLLAMA.run_as_uid) for v in spec.OLLAMA.volumes],
        boot.boot_steps([registry_host]),
        on_failure=boot.report_failure(log_name),
        prepare_storage=cloudinit.data_volume_steps(DEVICE_PATH, DATA_MOUNT),
        # Only Ollama runs here; it is healthy only once its models are pulled, so the boot waits for it to run.
        wait_healthy=(),
        wait_running=(spec.OLLAMA.name,),
    )


def user_data(image: str, model: str, project: str, registry_host: str, log_name: str) -> str:
    document = ollama_compose(image, model, project)
    return cloudinit.render(
        compose.dump(document),
        ollama_boot_script(registry_host, log_name),
        cloudinit.data_volume_files(DEVICE_PATH, DATA_MOUNT),
    )


class OllamaVm(pulumi.ComponentResource):
    internal_ip: Output[str]
    ollama_url: Output[str]
    service_account_email: Output[str]
    service_account_member: Output[str]
    group_name: Output[str]
    models_disk_id: Output[str]

    def __init__(self, name: str, args: OllamaVmArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:OllamaVm", name, None, opts)
        child = ResourceOptions(parent=self)
        physical_name = args.physical_prefix or name
        labels = dict(args.labels)

        account = serviceaccount.Account(
            f"{name}-sa", account_id=account_id(physical_name), display_name=f"Dixi Ollama VM ({name})", project=args.project, opts=child
        )
        grants: Sequence[pulumi.Resource] = [
            projects.IAMMember(f"{name}-{role.split('.')[-1].lower()}", project=args.project, role=role, member=account.member, opts=child)
            for role in PROJECT_ROLES
        ]

        disk = compute.Disk(
            f"{name}-models",
            zone=args.zone,
            type="pd-balanced",
            size=args.models_disk_gib,
            labels=labels,
            project=args.project,
            opts=ResourceOptions(parent=self, retain_on_delete=args.retain_data),
        )
        address = compute.Address(
            f"{name}-ip",
            address_type="INTERNAL",
            purpose="GCE_ENDPOINT",
            subnetwork=args.subnetwork,
            region=args.region,
            labels=labels,
            project=args.project,
            opts=child,
        )

        log_name = f"{physical_name}-boot"
        boot_user_data = Output.all(args.ollama_image, args.registry_host).apply(
            lambda v: user_data(str(v[0]), args.ollama_model, args.project, str(v[1]), log_name)
        )
        template = compute.InstanceTemplate(
            f"{name}-template",
            name_prefix=f"{physical_name}-",
            project=args.project,
            machine_type=args.machine_type,
            guest_accelerators=attached_accelerators(args.machine_type, args.accelerator),
            # "GPU accelerators can only be used with on_host_maintenance option set to TERMINATE"
            # (pulumi_gcp compute/instance_template.py, guest_accelerators); G2's built-in L4 too.
            scheduling=compute.InstanceTemplateSchedulingArgs(on_host_maintenance="TERMINATE", automatic_restart=True),
            disks=[
                compute.InstanceTemplateDiskArgs(
                    boot=True, source_image=args.image, disk_size_gb=args.boot_disk_gib, disk_type="pd-balanced", auto_delete=True
                ),
                compute.InstanceTemplateDiskArgs(
                    # `source` takes the disk's name, not its self link (compute/instance_template.py, disks.source).
                    source=disk.name, device_name=DEVICE_NAME, auto_delete=False, mode="READ_WRITE", boot=False
                ),
            ],
            network_interfaces=[compute.InstanceTemplateNetworkInterfaceArgs(network=args.network, subnetwork=args.subnetwork)],
            service_account=compute.InstanceTemplateServiceAccountArgs(email=account.email, scopes=["cloud-platform"]),
            tags=[args.network_tag],
            # Secure Boot stays off: the NVIDIA kernel modules a DKMS install builds are unsigned
            # and would not load. vTPM and integrity monitoring work with every UEFI image.
            shielded_instance_config=compute.InstanceTemplateShieldedInstanceConfigArgs(
                enable_secure_boot=False, enable_vtpm=True, enable_integrity_monitoring=True
            ),
            # block-project-ssh-keys: project-wide SSH keys never reach this VM (checkov CKV_GCP_32);
            # the GPU VM takes no SSH at all (no firewall rule opens 22).
            metadata={"user-data": boot_user_data, "google-logging-enabled": "true", "block-project-ssh-keys": "true"},
            labels=labels,
            # Templates are immutable and the group points at the current one: the
            # replacement is created first (a fresh name from the prefix), the old one
            # deleted once the group has moved on.
            # The boot image comes from a family lookup at each `up`: a newly published
            # image alone must not replace the template, and with it the GPU VM (a few
            # minutes of downtime for nothing asked). Any replacement for another reason
            # takes the newest image: on replace the engine takes the program's inputs
            # again, ignored ones included (as aws-ec2's host does with its AMI).
            opts=ResourceOptions(parent=self, delete_before_replace=False, ignore_changes=["disks"]),
        )

        health = compute.HealthCheck(
            f"{name}-health",
            project=args.project,
            http_health_check=compute.HealthCheckHttpHealthCheckArgs(port=spec.OLLAMA.port, request_path=spec.OLLAMA.liveness.path),
            check_interval_sec=CHECK_INTERVAL_SECONDS,
            timeout_sec=CHECK_TIMEOUT_SECONDS,
            healthy_threshold=HEALTHY_THRESHOLD,
            unhealthy_threshold=UNHEALTHY_THRESHOLD,
            opts=child,
        )
        compute.Firewall(
            f"{name}-health-checkers",
            project=args.project,
            network=args.network,
            description="Google's health checkers reach Ollama on the Dixi GPU VM",
            direction="INGRESS",
            source_ranges=list(HEALTH_CHECK_RANGES),
            target_tags=[args.network_tag],
            allows=[compute.FirewallAllowArgs(protocol="tcp", ports=[str(spec.OLLAMA.port)])],
            opts=child,
        )

        group = compute.InstanceGroupManager(
            f"{name}-group",
            project=args.project,
            zone=args.zone,
            base_instance_name=physical_name,
            versions=[compute.InstanceGroupManagerVersionArgs(name="ollama", instance_template=template.self_link_unique)],
            # 0 at creation: the per-instance config below creates the one VM (see the module docstring).
            target_size=0,
            auto_healing_policies=compute.InstanceGroupManagerAutoHealingPoliciesArgs(health_check=health.id, initial_delay_sec=INITIAL_DELAY_SECONDS),
            update_policy=compute.InstanceGroupManagerUpdatePolicyArgs(
                minimal_action="REPLACE",
                type="PROACTIVE",
                max_surge_fixed=0,
                max_unavailable_fixed=1,
                replacement_method="RECREATE",
            ),
            stateful_disks=[compute.InstanceGroupManagerStatefulDiskArgs(device_name=DEVICE_NAME, delete_rule="NEVER")],
            stateful_internal_ips=[compute.InstanceGroupManagerStatefulInternalIpArgs(interface_name=NIC, delete_rule="NEVER")],
            wait_for_instances=False,
            opts=ResourceOptions(parent=self, ignore_changes=["targetSize"], depends_on=list(grants)),
        )
        compute.PerInstanceConfig(
            f"{name}-vm",
            project=args.project,
            zone=args.zone,
            instance_group_manager=group.name,
            name=f"{physical_name}-0",
            preserved_state=compute.PerInstanceConfigPreservedStateArgs(
                disks=[compute.PerInstanceConfigPreservedStateDiskArgs(device_name=DEVICE_NAME, source=disk.self_link, delete_rule="NEVER", mode="READ_WRITE")],
                internal_ips=[
                    compute.PerInstanceConfigPreservedStateInternalIpArgs(
                        interface_name=NIC,
                        auto_delete="NEVER",
                        ip_address=compute.PerInstanceConfigPreservedStateInternalIpIpAddressArgs(address=address.self_link),
                    )
                ],
            ),
            minimal_action="REPLACE",
            most_disruptive_allowed_action="REPLACE",
            # Removing the config removes its VM (and the group's size with it), so a
            # replaced config never leaves a second GPU VM behind; the disk is kept (NEVER).
            remove_instance_on_destroy=True,
            # The VM's boot writes logs and pulls as this account: its roles come first.
            opts=ResourceOptions(parent=self, delete_before_replace=True, depends_on=list(grants)),
        )

        self.internal_ip = address.address
        self.ollama_url = Output.concat("http://", address.address, f":{spec.OLLAMA.port}")
        self.service_account_email = account.email
        self.service_account_member = account.member
        self.group_name = group.name
        self.models_disk_id = disk.id
        self.register_outputs(
            {
                "internalIp": self.internal_ip,
                "ollamaUrl": self.ollama_url,
                "serviceAccountEmail": self.service_account_email,
                "serviceAccountMember": self.service_account_member,
                "groupName": self.group_name,
                "modelsDiskId": self.models_disk_id,
            }
        )
