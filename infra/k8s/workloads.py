"""`Workloads`: the Dixi app on any Kubernetes cluster, from the app spec.

Creates, in namespace `dixi`:
- a Deployment, a ClusterIP Service and a ServiceAccount (no API token
  mounted) per service of `infra.spec`, with the spec's replicas, requests,
  limits and probe timings; non-root, no privilege escalation, every
  capability dropped, seccomp RuntimeDefault, a read-only root filesystem
  where the spec names the paths the image writes (each an emptyDir);
- Ollama (and vision when `vision_gpu`) with `nvidia.com/gpu: 1` in its
  limits, the GPU nodes' selector and tolerations, and a PersistentVolumeClaim
  for its model store; the Deployment is `Recreate`: the claim is
  ReadWriteOnce and a second pod would wait for a second GPU;
- vision's models: a PersistentVolume over the cloud's models store when the
  target gives one (`models_volume`, e.g. AKS's Blob CSI driver), else a claim;
- a ConfigMap per service for its env wiring (`spec.service_env`) and one
  Secret for the gesture token and the bus password, which reach the
  containers as `secretKeyRef`s and never appear in plain text in the program;
- the event bus: a `ValkeyBus` in the namespace, or the managed endpoint given;
- traffic in: a Gateway (listener `http`, and `https` with cert-manager's
  certificate when a domain is set, plus an HTTP-to-HTTPS redirect) and
  HTTPRoutes `/api` and `/ws` -> backend (no request timeout on `/ws`),
  `/` -> frontend; or an Ingress of the given class for clusters that already
  run a controller;
- NetworkPolicies: everything denied in the namespace, then only the traffic
  proxies reach frontend and backend, only the backend reaches vision, Ollama
  and the bus, the web tier and vision reach the backend, every pod reaches
  the cluster DNS, and Ollama reaches HTTPS on public addresses (model pulls);
- PodDisruptionBudgets for frontend and backend (one pod down at a time), and
  topology spread across nodes for both.

Leaves out: the cluster and its add-ons (`ClusterAddons`), autoscaling (the
seed fixes the replicas), the open-file limit the spec asks for (Kubernetes
has no field for it: the node's container runtime decides), and monitoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.networking.v1 as networking
import pulumi_kubernetes.policy.v1 as policy
import pulumi_random as random
from pulumi import Output, ResourceOptions
from pulumi_kubernetes.apiextensions import CustomResource

from infra import spec
from infra.k8s.addons import ACME_SOLVER_POD_LABELS, ACME_SOLVER_PORT
from infra.k8s.event_bus import ValkeyBus, ValkeyBusArgs
from infra.k8s.placement import GpuPlacement

NAMESPACE: Final = "dixi"
GATEWAY: Final = "dixi"
GATEWAY_API: Final = "gateway.networking.k8s.io/v1"
TLS_SECRET: Final = "dixi-tls"
SECRETS: Final = "dixi-secrets"
NAME_LABEL: Final = "app.kubernetes.io/name"
PART_OF: Final = {"app.kubernetes.io/part-of": "dixi"}
GPU_RESOURCE: Final = "nvidia.com/gpu"
HTTP_PORT_NAME: Final = "http"
# Every pod resolves names through the cluster DNS: CoreDNS, labelled k8s-app=kube-dns on
# AKS, GKE, EKS and kubeadm clusters alike (kubernetes.io/docs/tasks/administer-cluster/dns-custom-nameservers/).
DNS_PEERS: Final = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
# Where Ollama pulls models from: registry.ollama.ai over HTTPS, a public address. Private
# ranges are excluded, so that this rule opens nothing inside the cluster or its network
# (the API server, other services on 443): RFC 1918.
PRIVATE_RANGES: Final = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
INTERNET_HTTPS: Final = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}], "ports": [{"protocol": "TCP", "port": 443}]}
# The backend's model answers can take minutes; /ws lives for hours. "0s" disables the
# route's timeout (gateway-api.sigs.k8s.io/reference/spec/#httproutetimeouts).
NO_TIMEOUT: Final = "0s"
ROLLOUT_TIMEOUT: Final = "30m"


@dataclass(frozen=True)
class WorkloadsArgs:
    images: Mapping[str, pulumi.Input[str]]
    gesture_token: pulumi.Input[str]
    ollama_model: str
    domain: str | None
    routing: str  # "gateway" | "ingress"
    gateway_class: str
    gateway_namespace: str
    ingress_class: str
    cluster_issuer: str | None
    gpu: GpuPlacement
    vision_gpu: bool
    storage_class: str | None
    event_bus_url: str | None
    event_bus_password: pulumi.Input[str] | None
    models_volume: pulumi.Input[Mapping[str, Any]] | None
    service_account_annotations: Mapping[str, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    pod_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    image_pull_secret: pulumi.Input[str] | None = None
    retain_data: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()  # the add-ons whose CRDs the Gateway and routes need


# Manifests are written as the Kubernetes API names their fields (camelCase, as in the
# seed's YAML and every Kubernetes doc), not as the SDK's snake_case TypedDicts, which
# reject them; the SDK passes such keys through unchanged. What guards the field names
# instead is the plan's `k8s-schema` rule: every object against the API's OpenAPI schema,
# strict, unknown fields included (infra/k8s/object_checks.py).
Fields = dict[str, Any]


def api(fields: Any) -> Any:
    """`fields` (a manifest part in the API's camelCase, or an Output of one) as an SDK input."""
    return fields


def selector(service: spec.Service) -> dict[str, str]:
    return {NAME_LABEL: service.name}


def _volume_name(path: str) -> str:
    return "scratch" + path.replace("/", "-").replace(".", "-")


def _quantity_gi(size_gib: int) -> str:
    return f"{size_gib}Gi"


def _probe(probe: spec.Probe) -> Fields:
    return {
        "httpGet": {"path": probe.path, "port": HTTP_PORT_NAME},
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }


class Workloads(pulumi.ComponentResource):
    url: Output[str]
    namespace: Output[str]

    def __init__(self, name: str, args: WorkloadsArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:k8s:Workloads", name, None, opts)
        self._name = name
        self._args = args
        labels = {**args.labels, **PART_OF}
        self._labels = labels
        # The namespace holds the data claims: when data is kept, destroy leaves it (and them) in place.
        ns = core.Namespace(
            f"{name}-namespace",
            metadata={
                "name": NAMESPACE,
                "labels": {
                    **labels,
                    # Our pods meet the "restricted" Pod Security Standard; the bus chart's are
                    # only audited against it (kubernetes.io/docs/concepts/security/pod-security-admission/).
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            },
            opts=ResourceOptions(parent=self, retain_on_delete=args.retain_data),
        )
        self._ns = ns
        self.namespace = ns.metadata.apply(lambda m: str(m["name"] if isinstance(m, dict) else m.name))
        in_ns = ResourceOptions(parent=self, depends_on=[ns])

        bus_url, bus_password, bus_labels, bus_port = self._event_bus(args, in_ns)
        self._bus_has_password = bus_password is not None
        secret_data: dict[str, pulumi.Input[str]] = {spec.GESTURE_TOKEN_ENV: args.gesture_token}
        if bus_password is not None and spec.BACKEND.event_bus is not None:
            secret_data[spec.BACKEND.event_bus.password_env] = bus_password
        core.Secret(
            f"{name}-secrets",
            metadata={"name": SECRETS, "namespace": NAMESPACE, "labels": labels},
            type="Opaque",
            string_data={k: Output.secret(v) for k, v in secret_data.items()},
            opts=in_ns,
        )
        pull_secrets: list[Fields] = []
        if args.image_pull_secret is not None:
            core.Secret(
                f"{name}-registry",
                metadata={"name": "dixi-registry", "namespace": NAMESPACE, "labels": labels},
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": Output.secret(args.image_pull_secret)},
                opts=in_ns,
            )
            pull_secrets = [{"name": "dixi-registry"}]

        hosts = {s.name: f"{s.name}.{NAMESPACE}.svc.cluster.local" for s in spec.SERVICES}
        for service in spec.SERVICES:
            self._service(service, hosts, bus_url, pull_secrets, in_ns)
        for service in (spec.FRONTEND, spec.BACKEND):
            policy.PodDisruptionBudget(
                f"{name}-{service.name}",
                metadata={"name": service.name, "namespace": NAMESPACE, "labels": labels},
                spec=api({"maxUnavailable": 1, "selector": {"matchLabels": selector(service)}}),
                opts=in_ns,
            )
        self._network_policies(args, bus_labels, bus_port, in_ns)
        traffic = ResourceOptions(parent=self, depends_on=[ns, *args.depends_on])
        if args.routing == "gateway":
            self._gateway(args, traffic)
        else:
            self._ingress(args, in_ns)
        self.url = Output.from_input(f"https://{args.domain}" if args.domain else "")
        self.register_outputs({"url": self.url, "namespace": self.namespace})

    # -- the event bus -------------------------------------------------------------------

    def _event_bus(self, args: WorkloadsArgs, opts: ResourceOptions) -> tuple[str | None, pulumi.Input[str] | None, Mapping[str, str] | None, int]:
        """The bus URL the backend gets, its password, the bus pods' labels (in-cluster) and its port."""
        bus = spec.BACKEND.event_bus
        if bus is None or not spec.needs_event_bus(spec.BACKEND, spec.BACKEND.replicas):
            return None, None, None, 0
        if args.event_bus_url:
            from urllib.parse import urlsplit

            return args.event_bus_url, args.event_bus_password, None, urlsplit(args.event_bus_url).port or bus.port
        password = random.RandomPassword(f"{self._name}-bus-password", length=32, special=False, opts=ResourceOptions(parent=self))
        valkey = ValkeyBus(
            f"{self._name}-bus",
            # The namespace as an Output: the component's own depends_on would not reach its children.
            ValkeyBusArgs(namespace=self.namespace, password=password.result, storage_class=args.storage_class, labels=self._labels),
            opts=opts,
        )
        return valkey.url, password.result, valkey.pod_labels, valkey.port  # type: ignore[return-value]

    # -- one app service -----------------------------------------------------------------

    def _service(
        self,
        service: spec.Service,
        hosts: Mapping[str, str],
        bus_url: Any,
        pull_secrets: list[Fields],
        opts: ResourceOptions,
    ) -> None:
        args, name, labels = self._args, f"{self._name}-{service.name}", self._labels
        meta: Any = {"name": service.name, "namespace": NAMESPACE, "labels": {**labels, **selector(service)}}
        core.ServiceAccount(
            name,
            metadata=api({**meta, "annotations": dict(args.service_account_annotations.get(service.name, {}))}),
            automount_service_account_token=False,
            image_pull_secrets=api(pull_secrets or None),
            opts=opts,
        )
        takes_bus = bus_url is not None and service.event_bus is not None
        env = Output.from_input(bus_url if takes_bus else None).apply(
            lambda url: spec.service_env(service, lambda s: hosts[s.name], args.ollama_model, event_bus_url=url)
        )
        config = core.ConfigMap(f"{name}-env", metadata=api({**meta, "name": f"{service.name}-env"}), data=api(env), opts=opts)
        secret_env: list[Fields] = [
            {"name": var, "valueFrom": {"secretKeyRef": {"name": SECRETS, "key": var}}} for var in service.secret_env
        ]
        if takes_bus and self._bus_has_password and service.event_bus is not None:
            var = service.event_bus.password_env
            secret_env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": SECRETS, "key": var}}})

        gpus = spec.gpus(service, args.vision_gpu)
        limits: dict[str, str] = {"cpu": service.resources.limit_cpu, "memory": service.resources.limit_memory}
        if gpus:
            limits[GPU_RESOURCE] = str(gpus)
        mounts: list[Fields] = []
        volumes: list[Fields] = []
        for path in service.scratch_paths or ():
            mounts.append({"name": _volume_name(path), "mountPath": path})
            volumes.append({"name": _volume_name(path), "emptyDir": {"sizeLimit": "1Gi"}})
        for volume in service.volumes:
            claim = self._claim(service, volume, opts)
            if claim is None:  # a log directory: the pod's own, as on Fargate
                volumes.append({"name": volume.name, "emptyDir": {"sizeLimit": _quantity_gi(volume.size_gib)}})
            else:
                volumes.append({"name": volume.name, "persistentVolumeClaim": {"claimName": claim, "readOnly": service is spec.VISION and args.models_volume is not None}})
            mounts.append({"name": volume.name, "mountPath": volume.mount_path, "readOnly": service is spec.VISION and args.models_volume is not None})
        container: Fields = {
            "name": service.name,
            "image": args.images[service.name],
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": HTTP_PORT_NAME, "containerPort": service.port, "protocol": "TCP"}],
            "envFrom": [{"configMapRef": {"name": config.metadata.name}}],
            "env": secret_env,
            "resources": {"requests": {"cpu": service.resources.request_cpu, "memory": service.resources.request_memory}, "limits": limits},
            "livenessProbe": _probe(service.liveness),
            "readinessProbe": _probe(service.readiness),
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "privileged": False,
                "readOnlyRootFilesystem": service.scratch_paths is not None,
                "runAsNonRoot": True,
                "runAsUser": service.run_as_uid,
                "runAsGroup": service.run_as_uid,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": mounts,
        }
        pod_spec: Fields = {
            "serviceAccountName": service.name,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,  # the spec's env is the whole wiring: no *_SERVICE_HOST variables
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": service.run_as_uid,
                "runAsGroup": service.run_as_uid,
                "fsGroup": service.run_as_uid,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": volumes,
        }
        if gpus:
            pod_spec["nodeSelector"] = dict(args.gpu.node_selector)
            pod_spec["tolerations"] = [dict(t) for t in args.gpu.tolerations]
        if service.replicas > 1:
            pod_spec["topologySpreadConstraints"] = [
                {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector(service)}}
            ]
        # One GPU, one ReadWriteOnce claim: the old pod goes before the new one starts.
        single = bool(gpus) or any(v.name != "logs" for v in service.volumes)
        apps.Deployment(
            name,
            metadata=meta,
            spec=api({
                "replicas": service.replicas,
                "selector": {"matchLabels": selector(service)},
                "strategy": {"type": "Recreate"} if single else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": {**labels, **selector(service), **dict(args.pod_labels.get(service.name, {}))}},
                    "spec": pod_spec,
                },
            }),
            # The provider waits for a Deployment to be ready, 10 minutes by default: on a first
            # `up`, Ollama's image and model pull (GBs) and the backend's readiness, which waits
            # for that model, take longer.
            opts=ResourceOptions.merge(opts, ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=ROLLOUT_TIMEOUT, update=ROLLOUT_TIMEOUT))),
        )
        core.Service(
            name,
            metadata=meta,
            spec=api({
                "type": "ClusterIP",
                "selector": selector(service),
                "ports": [{"name": HTTP_PORT_NAME, "port": service.port, "targetPort": HTTP_PORT_NAME, "protocol": "TCP"}],
            }),
            opts=opts,
        )

    def _claim(self, service: spec.Service, volume: spec.Volume, opts: ResourceOptions) -> str | None:
        """The claim that holds `volume`, or None for a volume the pod may lose (logs)."""
        args = self._args
        if volume.name == "logs":
            return None
        claim_name = f"{service.name}-{volume.name}"
        claim_spec: Fields = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": _quantity_gi(volume.size_gib)}},
        }
        if service is spec.VISION and args.models_volume is not None:
            # The cloud's models store, mounted read-only: a PV bound to exactly this claim.
            pv_name = f"{NAMESPACE}-{claim_name}"
            source = Output.from_input(args.models_volume)
            core.PersistentVolume(
                f"{self._name}-{claim_name}",
                metadata={"name": pv_name, "labels": self._labels},
                spec=api(source.apply(
                    lambda s: {
                        **dict(s),
                        "capacity": {"storage": _quantity_gi(volume.size_gib)},
                        "accessModes": ["ReadOnlyMany"],
                        "persistentVolumeReclaimPolicy": "Retain",
                        "storageClassName": "",
                        "claimRef": {"namespace": NAMESPACE, "name": claim_name},
                    }
                )),
                opts=ResourceOptions(parent=self, retain_on_delete=args.retain_data),
            )
            claim_spec = {**claim_spec, "accessModes": ["ReadOnlyMany"], "storageClassName": "", "volumeName": pv_name}
        elif args.storage_class:
            claim_spec = {**claim_spec, "storageClassName": args.storage_class}
        core.PersistentVolumeClaim(
            f"{self._name}-{claim_name}",
            metadata={"name": claim_name, "namespace": NAMESPACE, "labels": {**self._labels, **selector(service)}},
            spec=api(claim_spec),
            opts=ResourceOptions.merge(opts, ResourceOptions(retain_on_delete=args.retain_data)),
        )
        return claim_name

    # -- who may talk to whom ------------------------------------------------------------

    def _network_policies(self, args: WorkloadsArgs, bus_labels: Mapping[str, str] | None, bus_port: int, opts: ResourceOptions) -> None:
        def pods(service: spec.Service) -> dict[str, Any]:
            return {"podSelector": {"matchLabels": selector(service)}}

        def port(number: int) -> list[dict[str, Any]]:
            return [{"protocol": "TCP", "port": number}]

        proxies = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": args.gateway_namespace}}}
        dns = {"to": [DNS_PEERS], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
        backend = spec.BACKEND
        bus_peer: dict[str, Any] = {"podSelector": {"matchLabels": dict(bus_labels)}} if bus_labels else {"ipBlock": {"cidr": "0.0.0.0/0"}}
        rules: dict[str, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = {
            # name: (pods it applies to, ingress rules, egress rules)
            "frontend": (
                selector(spec.FRONTEND),
                [{"from": [proxies], "ports": port(spec.FRONTEND.port)}],
                [dns, {"to": [pods(backend)], "ports": port(backend.port)}],
            ),
            "backend": (
                selector(backend),
                [{"from": [proxies, pods(spec.FRONTEND), pods(spec.VISION)], "ports": port(backend.port)}],
                [
                    dns,
                    {"to": [pods(spec.VISION)], "ports": port(spec.VISION.port)},
                    {"to": [pods(spec.OLLAMA)], "ports": port(spec.OLLAMA.port)},
                    *([{"to": [bus_peer], "ports": port(bus_port)}] if bus_port else []),
                ],
            ),
            "vision": (
                selector(spec.VISION),
                [{"from": [pods(backend)], "ports": port(spec.VISION.port)}],
                [dns, {"to": [pods(backend)], "ports": port(backend.port)}],
            ),
            "ollama": (selector(spec.OLLAMA), [{"from": [pods(backend)], "ports": port(spec.OLLAMA.port)}], [dns, INTERNET_HTTPS]),
        }
        if bus_labels:
            rules["bus"] = (dict(bus_labels), [{"from": [pods(backend)], "ports": port(bus_port)}], [dns])
        if args.cluster_issuer:
            # cert-manager's HTTP-01 solver pods answer Let's Encrypt through the same proxies.
            rules["acme-solver"] = (dict(ACME_SOLVER_POD_LABELS), [{"from": [proxies], "ports": port(ACME_SOLVER_PORT)}], [])
        networking.NetworkPolicy(
            f"{self._name}-default-deny",
            metadata={"name": "default-deny", "namespace": NAMESPACE, "labels": self._labels},
            spec=api({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            opts=opts,
        )
        for key, (matched, ingress, egress) in rules.items():
            networking.NetworkPolicy(
                f"{self._name}-{key}",
                metadata={"name": key, "namespace": NAMESPACE, "labels": self._labels},
                spec=api({"podSelector": {"matchLabels": matched}, "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress}),
                opts=opts,
            )

    # -- traffic in ----------------------------------------------------------------------

    def _gateway(self, args: WorkloadsArgs, opts: ResourceOptions) -> None:
        listeners: list[dict[str, Any]] = [{"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}}]
        annotations: dict[str, str] = {}
        if args.domain:
            listeners.append(
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": args.domain,
                    "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]},
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
            )
            if args.cluster_issuer:
                annotations["cert-manager.io/cluster-issuer"] = args.cluster_issuer
        gateway = CustomResource(
            f"{self._name}-gateway",
            api_version=GATEWAY_API,
            kind="Gateway",
            metadata={"name": GATEWAY, "namespace": NAMESPACE, "labels": self._labels, "annotations": annotations},
            spec={"gatewayClassName": args.gateway_class, "listeners": listeners},
            opts=opts,
        )
        routes = ResourceOptions.merge(opts, ResourceOptions(depends_on=[gateway]))
        section = "https" if args.domain else "http"
        parent = [{"name": GATEWAY, "sectionName": section}]
        hostnames = [args.domain] if args.domain else None
        backend, frontend = spec.BACKEND, spec.FRONTEND
        backend_rules = []
        for path in backend.public_paths:
            rule: dict[str, Any] = {
                "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                "backendRefs": [{"name": backend.name, "port": backend.port}],
            }
            if backend.request_timeout_seconds == 0:
                rule["timeouts"] = {"request": NO_TIMEOUT}
            backend_rules.append(rule)
        for route, rules in (
            (backend.name, backend_rules),
            (frontend.name, [{"matches": [{"path": {"type": "PathPrefix", "value": p}}], "backendRefs": [{"name": frontend.name, "port": frontend.port}]} for p in frontend.public_paths]),
        ):
            CustomResource(
                f"{self._name}-route-{route}",
                api_version=GATEWAY_API,
                kind="HTTPRoute",
                metadata={"name": route, "namespace": NAMESPACE, "labels": self._labels},
                spec={"parentRefs": parent, **({"hostnames": hostnames} if hostnames else {}), "rules": rules},
                opts=routes,
            )
        if args.domain:
            CustomResource(
                f"{self._name}-route-https-redirect",
                api_version=GATEWAY_API,
                kind="HTTPRoute",
                metadata={"name": "https-redirect", "namespace": NAMESPACE, "labels": self._labels},
                spec={
                    "parentRefs": [{"name": GATEWAY, "sectionName": "http"}],
                    "hostnames": hostnames,
                    "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
                },
                opts=routes,
            )

    def _ingress(self, args: WorkloadsArgs, opts: ResourceOptions) -> None:
        def path(prefix: str, service: spec.Service) -> Fields:
            return {"path": prefix, "pathType": "Prefix", "backend": {"service": {"name": service.name, "port": {"number": service.port}}}}

        paths = [path(p, spec.BACKEND) for p in spec.BACKEND.public_paths] + [path(p, spec.FRONTEND) for p in spec.FRONTEND.public_paths]
        rule: Fields = {"http": {"paths": paths}}
        ingress_spec: Fields = {"ingressClassName": args.ingress_class, "rules": [rule]}
        annotations: dict[str, str] = {}
        if args.domain:
            rule["host"] = args.domain
            ingress_spec["tls"] = [{"hosts": [args.domain], "secretName": TLS_SECRET}]
            if args.cluster_issuer:
                annotations["cert-manager.io/cluster-issuer"] = args.cluster_issuer
        networking.Ingress(
            f"{self._name}-ingress",
            metadata={"name": "dixi", "namespace": NAMESPACE, "labels": self._labels, "annotations": annotations},
            spec=api(ingress_spec),
            opts=opts,
        )
