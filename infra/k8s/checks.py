"""Kubernetes check adapters: how the cross-cloud rules read Services, Ingresses, Gateway API routes, NetworkPolicies and workloads.

The provider registers every object with its manifest as inputs
(`apiVersion`, `kind`, `metadata`, `spec`, camelCase as in the API), and a
`pulumi_kubernetes.apiextensions.CustomResource` as
`kubernetes:<apiVersion>:<kind>`, e.g.
`kubernetes:gateway.networking.k8s.io/v1:HTTPRoute` (confirmed by recording
pulumi_kubernetes 4.34 under the offline engine; pulumi_kubernetes/core/v1/Service.py,
networking/v1/Ingress.py, networking/v1/NetworkPolicy.py,
apiextensions/CustomResource.py). Field names are the Kubernetes API's
(https://kubernetes.io/docs/reference/kubernetes-api/, Gateway API v1.x).

Openings, each naming in `services` the app services it reaches (the
Service's `metadata.name` and its selector's `app` / `app.kubernetes.io/name`
labels) and the port traffic arrives on in the pods:
- Services of `spec.type` LoadBalancer or NodePort: from the internet, or
  from `spec.loadBalancerSourceRanges` (LoadBalancer only), to each
  `spec.ports[].targetPort` (unset: `port`; a named one is looked up in the
  containers of the plan's workloads the selector picks, else `port`).
  A LoadBalancer carrying a cloud's internal-load-balancer annotation
  (`INTERNAL_LB_ANNOTATIONS`) reaches no further than its network.
- Ingresses (networking.k8s.io/v1, and the v1beta1 shape with
  `serviceName`/`servicePort`): from the internet to every backend Service
  (`spec.defaultBackend`, `spec.rules[].http.paths[].backend.service`
  `.name`/`.port.number|name`), through that Service's target port when the
  plan holds it, else on the port the backend names.
- Gateway API routes (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute):
  from the internet to every `spec.rules[].backendRefs[]` `.name`/`.port`,
  the same way. The Gateway the route attaches to is judged: its listeners
  only carry what its routes send.
- NetworkPolicies: each `spec.ingress[]` rule with `from[].ipBlock.cidr`s,
  from those CIDRs to its `ports[]` (`port`, named or a number, `endPort`,
  `protocol`; none: every port) on the pods `spec.podSelector.matchLabels`
  picks; its services are the app labels of the plan's workloads among them
  that listen on those ports. A policy admits traffic; it only matters once a
  Service or Ingress brings the internet in, which is read too.

Workloads (for `event-bus-for-replicas`): each container of a Deployment,
StatefulSet or ReplicaSet (apps/v1 and the v1beta shapes) and of a bare Pod
is a `Workload`. Its app service is the pod template's `app` /
`app.kubernetes.io/name` label (else the object's own) when the pod has one
container or the container is named after it, else the container's name.
Its replicas are `spec.replicas` (unset: 1; a Pod: 1), raised to the
`spec.maxReplicas` of every HorizontalPodAutoscaler (autoscaling/v1, v2,
v2beta1, v2beta2) of the plan whose `scaleTargetRef` names it (kind and
`metadata.name`, same namespace). Its env names are those of `env[]`
(plain values and `valueFrom` alike) and, for `envFrom[]`, the keys
(`data`, `stringData`, `binaryData`, after `prefix`) of the ConfigMap or
Secret it names when the plan holds it; one the plan does not hold is
reported as unread. Left out: DaemonSets, Jobs and CronJobs (no workload:
the rule cannot judge a backend run by them, and says so), init containers,
KEDA ScaledObjects and other autoscalers than the HPA, and autoscaling by
anything outside the plan (`kubectl scale`).

Left out: the ingress class or gateway class (an internal controller still
counts as the internet), `spec.externalIPs`, pods' `hostPort` and
`hostNetwork`, `...Patch` objects, policy rules without an ipBlock (an empty
`from` admits every source that can route to the pod, which is not a way in
by itself), and Helm: a `kubernetes:helm.sh/v3:Release` (a custom resource)
and a `kubernetes:helm.sh/v4:Chart` (a component the provider expands) are each
one registration under the offline engine, whose objects never reach the plan;
`kind_of` does not flag them either, so what a chart exposes is not judged
(render its manifests into the program to have them read).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import Any, Final

from infra.checks.adapters import (
    ALL_PORTS,
    INTERNET,
    Opening,
    Workload,
    int_or,
    judged,
    openings,
    workloads,
)
from infra.plan.model import RecordedPlan, RecordedResource, reveal

SERVICE: Final = "kubernetes:core/v1:Service"
INGRESSES: Final = (
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:networking.k8s.io/v1beta1:Ingress",
    "kubernetes:extensions/v1beta1:Ingress",
)
NETWORK_POLICIES: Final = (
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:extensions/v1beta1:NetworkPolicy",
)
_GATEWAY_API: Final = "kubernetes:gateway.networking.k8s.io"
ROUTES: Final = tuple(
    f"{_GATEWAY_API}/{version}:{kind}"
    for version, kinds in (("v1", ("HTTPRoute", "GRPCRoute")), ("v1beta1", ("HTTPRoute",)), ("v1alpha2", ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "UDPRoute")))
    for kind in kinds
)
GATEWAYS: Final = tuple(f"{_GATEWAY_API}/{version}:Gateway" for version in ("v1", "v1beta1", "v1alpha2"))
WORKLOADS: Final = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:core/v1:Pod",
)
# Workloads whose `spec.replicas` counts their pods.
SCALED: Final = tuple(
    f"kubernetes:apps/{version}:{kind}"
    for version, kinds in (("v1", ("Deployment", "StatefulSet", "ReplicaSet")), ("v1beta1", ("Deployment", "StatefulSet")), ("v1beta2", ("Deployment", "StatefulSet", "ReplicaSet")))
    for kind in kinds
)
POD: Final = "kubernetes:core/v1:Pod"
AUTOSCALERS: Final = tuple(f"kubernetes:autoscaling/{version}:HorizontalPodAutoscaler" for version in ("v1", "v2", "v2beta1", "v2beta2"))
CONFIG_MAP: Final = "kubernetes:core/v1:ConfigMap"
SECRET: Final = "kubernetes:core/v1:Secret"
EXPOSED_TYPES: Final = frozenset({"LoadBalancer", "NodePort"})
APP_LABELS: Final = ("app", "app.kubernetes.io/name")
# Annotations (value, case-insensitive) that make a cloud's LoadBalancer Service internal:
# GKE https://cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer-parameters,
# AKS https://learn.microsoft.com/azure/aks/internal-lb,
# AWS https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/
# (and the in-tree controller's aws-load-balancer-internal).
INTERNAL_LB_ANNOTATIONS: Final = MappingProxyType(
    {
        "networking.gke.io/load-balancer-type": "internal",
        "cloud.google.com/load-balancer-type": "internal",
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    }
)
_PROTOCOLS: Final = {"tcp": "tcp", "udp": "udp"}

for _gateway in GATEWAYS:
    judged(_gateway, "its listeners carry only what its routes send; the routes are read as openings")


def _inputs(r: RecordedResource) -> dict[str, Any]:
    """`r`'s inputs with secrets unwrapped: the engine marks a whole object secret once one field in it is."""
    found: dict[str, Any] = reveal(r.inputs)
    return found


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = obj.get("metadata") or {}
    return found


def _namespace(obj: dict[str, Any]) -> str:
    return str(_metadata(obj).get("namespace") or "default")


def _apps(labels: dict[str, Any]) -> set[str]:
    return {str(labels[key]) for key in APP_LABELS if labels.get(key)}


def _pods(plan: RecordedPlan, namespace: str, selector: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(labels, containers) of each workload in the plan whose pods `selector` picks."""
    if not selector:
        return
    for workload in plan.of_type(*WORKLOADS):
        obj = _inputs(workload)
        if _namespace(obj) != namespace:
            continue
        pod = obj if workload.type == "kubernetes:core/v1:Pod" else (obj.get("spec") or {}).get("template") or {}
        labels = _metadata(pod).get("labels") or {}
        if all(labels.get(k) == v for k, v in selector.items()):
            yield labels, list((pod.get("spec") or {}).get("containers") or [])


def _container_port(plan: RecordedPlan, namespace: str, selector: dict[str, Any], name: str) -> int | None:
    for _labels, containers in _pods(plan, namespace, selector):
        for container in containers:
            for port in container.get("ports") or []:
                if port.get("name") == name:
                    return int_or(port.get("containerPort"), 0) or None
    return None


def _target(plan: RecordedPlan, service: dict[str, Any], port: dict[str, Any]) -> tuple[int, str]:
    """The pod port a Service port sends to, and how it was found."""
    number = int_or(port.get("port"), 0)
    target = port.get("targetPort", number)
    if isinstance(target, str) and int_or(target, -1) < 0:
        selector = (service.get("spec") or {}).get("selector") or {}
        resolved = _container_port(plan, _namespace(service), selector, target)
        if resolved is None:
            return number, f"port {number} -> named target port {target!r}, not found in the plan's workloads"
        return resolved, f"port {number} -> target port {target!r} = {resolved}"
    return int_or(target, number), f"port {number} -> target port {int_or(target, number)}"


def _reached(obj: dict[str, Any]) -> frozenset[str]:
    """The app services a Service sends to: its own name and its selector's app labels."""
    names = _apps((obj.get("spec") or {}).get("selector") or {})
    if _metadata(obj).get("name"):
        names.add(str(_metadata(obj)["name"]))
    return frozenset(names)


def _is_internal(obj: dict[str, Any]) -> bool:
    annotations = _metadata(obj).get("annotations") or {}
    return any(str(annotations.get(key, "")).lower() == value for key, value in INTERNAL_LB_ANNOTATIONS.items())


@openings(SERVICE)
def _service(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    obj = _inputs(r)
    spec = obj.get("spec") or {}
    kind = str(spec.get("type") or "ClusterIP")
    if kind not in EXPOSED_TYPES or (kind == "LoadBalancer" and _is_internal(obj)):
        return
    ranges = [str(c) for c in spec.get("loadBalancerSourceRanges") or []] if kind == "LoadBalancer" else []
    sources = frozenset(ranges) or INTERNET
    for port in spec.get("ports") or []:
        protocol = _PROTOCOLS.get(str(port.get("protocol") or "TCP").lower())
        if protocol is None:
            continue
        target, how = _target(plan, obj, port)
        node = f" (node port {int_or(port.get('nodePort'), 0)})" if port.get("nodePort") else ""
        yield Opening(r, protocol, target, target, sources, _reached(obj), via=f"{kind} {how}{node}")


def _find_service(plan: RecordedPlan, namespace: str, name: str) -> dict[str, Any] | None:
    """The manifest of the plan's Service `name` in `namespace`, if the plan holds it."""
    for service in plan.of_type(SERVICE):
        obj = _inputs(service)
        if _metadata(obj).get("name") == name and _namespace(obj) == namespace:
            return obj
    return None


def _backend(r: RecordedResource, plan: RecordedPlan, namespace: str, name: Any, port_ref: Any, how: str, protocol: str = "tcp") -> Opening:
    """The opening an Ingress or route backend makes: to the Service's pods when the plan holds it."""
    name = str(name or "")
    service = _find_service(plan, namespace, name) if name else None
    if service is not None:
        for port in (service.get("spec") or {}).get("ports") or []:
            if port_ref in (port.get("name"), int_or(port.get("port"), -1)):
                target, through = _target(plan, service, port)
                return Opening(r, protocol, target, target, INTERNET, _reached(service), via=f"{how} -> Service {name} {through}")
    number = int_or(port_ref, 0)
    return Opening(r, protocol, number, number, INTERNET, frozenset({name} - {""}), via=f"{how} -> Service {name or '?'} port {port_ref}")


def _ingress_backends(spec: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """(service name, port number or name) of every backend an Ingress names, v1 or v1beta1."""
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    backends += [path.get("backend") for rule in spec.get("rules") or [] for path in (rule.get("http") or {}).get("paths") or []]
    for backend in backends:
        if not backend:
            continue
        service = backend.get("service")
        if service:
            port = service.get("port") or {}
            yield service.get("name"), port.get("name") or int_or(port.get("number"), 0)
        elif backend.get("serviceName"):
            port_ref = backend.get("servicePort")
            yield backend["serviceName"], port_ref if isinstance(port_ref, str) and int_or(port_ref, -1) < 0 else int_or(port_ref, 0)


@openings(*INGRESSES)
def _ingress(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    obj = _inputs(r)
    for name, port_ref in _ingress_backends(obj.get("spec") or {}):
        yield _backend(r, plan, _namespace(obj), name, port_ref, "ingress")


@openings(*ROUTES)
def _route(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    obj = _inputs(r)
    for rule in (obj.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if (ref.get("kind") or "Service") != "Service" or ref.get("group") not in (None, ""):
                continue  # a backend of another kind (ServiceImport, a bucket): not an app Service
            namespace = str(ref.get("namespace") or _namespace(obj))
            protocol = "udp" if r.class_name == "UDPRoute" else "tcp"
            yield _backend(r, plan, namespace, ref.get("name"), int_or(ref.get("port"), 0), r.class_name, protocol)


def _policy_ports(plan: RecordedPlan, policy: dict[str, Any], rule: dict[str, Any]) -> Iterator[tuple[str, int, int, str]]:
    """(protocol, from, to, how) of each port a policy rule admits; named ports are looked up in the selected pods."""
    selector = ((policy.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {}
    if not rule.get("ports"):
        yield "all", *ALL_PORTS, "every port"
    for port in rule.get("ports") or []:
        protocol = _PROTOCOLS.get(str(port.get("protocol") or "TCP").lower())
        value = port.get("port")
        if protocol is None:
            continue
        if value is None:
            yield protocol, *ALL_PORTS, "every port"
        elif isinstance(value, str) and int_or(value, -1) < 0:
            number = _container_port(plan, _namespace(policy), selector, value) or 0
            yield protocol, number, number, f"named port {value!r}" + ("" if number else ", not found in the plan's workloads")
        else:
            low = int_or(value, 0)
            high = int_or(port.get("endPort"), low)
            yield protocol, low, high, f"port {low}-{high}"


@openings(*NETWORK_POLICIES)
def _network_policy(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    obj = _inputs(r)
    spec = obj.get("spec") or {}
    if spec.get("policyTypes") and "Ingress" not in spec["policyTypes"]:
        return
    selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
    pods = list(_pods(plan, _namespace(obj), selector))
    for rule in spec.get("ingress") or []:
        sources = frozenset(str((peer.get("ipBlock") or {}).get("cidr")) for peer in rule.get("from") or [] if (peer.get("ipBlock") or {}).get("cidr"))
        if not sources:
            continue
        for protocol, low, high, how in _policy_ports(plan, obj, rule):
            reached = {
                app
                for labels, containers in pods
                for container in containers
                for port in container.get("ports") or []
                if low <= int_or(port.get("containerPort"), -1) <= high
                for app in _apps(labels)
            }
            yield Opening(r, protocol, low, high, sources, frozenset(reached), via=f"ipBlock ingress to {how}")


def _name(r: RecordedResource, obj: dict[str, Any]) -> str:
    """An object's `metadata.name`: as the program set it, else as the engine answered it."""
    return str(_metadata(obj).get("name") or (reveal(r.state).get("metadata") or {}).get("name") or "")


def _object_keys(plan: RecordedPlan, type_: str, namespace: str, name: Any) -> set[str] | None:
    """The keys of the plan's ConfigMap or Secret `name` in `namespace`; None when the plan does not hold it."""
    for r in plan.of_type(type_):
        obj = _inputs(r)
        if name and _name(r, obj) == str(name) and _namespace(obj) == namespace:
            return {str(k) for field in ("data", "stringData", "binaryData") for k in (obj.get(field) or {})}
    return None


def _container_env(plan: RecordedPlan, namespace: str, container: dict[str, Any]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The env names a container gets, and the envFrom sources the plan does not hold."""
    names = {str(e["name"]) for e in container.get("env") or [] if e.get("name")}
    unread = []
    for source in container.get("envFrom") or []:
        for field, type_ in (("configMapRef", CONFIG_MAP), ("secretRef", SECRET)):
            ref = source.get(field)
            if not ref:
                continue
            keys = _object_keys(plan, type_, namespace, ref.get("name"))
            if keys is None:
                unread.append(f"envFrom {field} {ref.get('name')!r} (not in this plan)")
            else:
                names |= {str(source.get("prefix") or "") + key for key in keys}
    return frozenset(names), tuple(unread)


def _max_replicas(plan: RecordedPlan, r: RecordedResource, obj: dict[str, Any]) -> tuple[int, str]:
    """The most pods a scaled workload runs, and how that was found: its replicas or an autoscaler's maximum."""
    replicas = int_or((obj.get("spec") or {}).get("replicas"), 1)
    most, via = replicas, f"spec.replicas {replicas}"
    name, namespace = _name(r, obj), _namespace(obj)
    for autoscaler in plan.of_type(*AUTOSCALERS):
        hpa = _inputs(autoscaler)
        spec = hpa.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        if target.get("kind") != r.class_name or str(target.get("name") or "") != name or _namespace(hpa) != namespace:
            continue
        ceiling = int_or(spec.get("maxReplicas"), 0)
        if ceiling > most:
            most, via = ceiling, f"spec.replicas {replicas}, HorizontalPodAutoscaler {_name(autoscaler, hpa) or autoscaler.name} maxReplicas {ceiling}"
    return most, via


@workloads(*SCALED, POD)
def _workloads(r: RecordedResource, plan: RecordedPlan) -> Iterator[Workload]:
    obj = _inputs(r)
    if r.type == POD:
        pod, (replicas, via) = obj, (1, "a bare Pod")
    else:
        pod, (replicas, via) = (obj.get("spec") or {}).get("template") or {}, _max_replicas(plan, r, obj)
    labels = _metadata(pod).get("labels") or _metadata(obj).get("labels") or {}
    app = next((str(labels[key]) for key in APP_LABELS if labels.get(key)), "")
    containers = list((pod.get("spec") or {}).get("containers") or [])
    for container in containers:
        name = str(container.get("name") or "")
        service = app if app and (len(containers) == 1 or name == app) else name
        env, unread = _container_env(plan, _namespace(obj), container)
        yield Workload(r, service, replicas, env, unread, f"{via}, container {name!r}")


from infra.k8s import object_checks as _object_checks  # noqa: E402,F401  (registers k8s-schema, k8s-crd-schema, k8s-checkov)
