"""Azure check adapters: how the cross-cloud rules read Azure security rules, load balancers and VMs.

Openings (input names confirmed by recording the pulumi_azure_native 3.29
classes under the offline engine, and in the SDK files named):
- security rules, inline in `azure-native:network:NetworkSecurityGroup`
  (`securityRules[]`, pulumi_azure_native/network/network_security_group.py)
  or standalone `azure-native:network:SecurityRule`
  (pulumi_azure_native/network/security_rule.py): `direction` Inbound,
  `access` Allow, `protocol` Tcp/Udp/* ("*" opens TCP and UDP on the rule's
  ports; Icmp, Esp and Ah carry no port),
  `sourceAddressPrefix` or `sourceAddressPrefixes` ("*", "Internet",
  0.0.0.0/0 and ::/0 are the internet; a rule naming no source at all, which
  the API refuses, is read as the internet too), `destinationPortRange` or
  `destinationPortRanges` ("*", "80", "8000-8100").
- load balancers, `azure-native:network:LoadBalancer`
  (pulumi_azure_native/network/load_balancer.py): each of
  `loadBalancingRules[]`, `inboundNatRules[]` and `inboundNatPools[]` whose
  `frontendIPConfiguration.id` names (by its last path segment) one of
  `frontendIPConfigurations[]` with a `publicIPAddress` or `publicIPPrefix`
  lets the internet reach `backendPort` (0 with protocol All: every port,
  the HA-ports rule). A rule whose frontend cannot be matched counts as public
  when any frontend is. Standalone `azure-native:network:InboundNatRule`s
  (pulumi_azure_native/network/inbound_nat_rule.py) are read the same way
  through their `loadBalancerName`; a balancer the plan does not hold counts
  as public.
- application gateways, `azure-native:network:ApplicationGateway`
  (pulumi_azure_native/network/application_gateway.py): with a public
  frontend, the internet reaches every `backendHttpSettingsCollection[].port`.

User data of `azure-native:compute:VirtualMachine` (`osProfile.customData`,
else `userData`) and `azure-native:compute:VirtualMachineScaleSet`
(`virtualMachineProfile.osProfile.customData`, else
`virtualMachineProfile.userData`), both base64 (pulumi_azure_native/compute/
virtual_machine.py, virtual_machine_scale_set.py; `OSProfileArgs` in
_inputs.py). customData is what cloud-init reads; Azure takes at most 65535
bytes of it once decoded (the SDK's own docstring for custom_data, from the
Compute REST API). userData "can't exceed 64 KB" and is passed base64-encoded
(https://learn.microsoft.com/azure/virtual-machines/user-data); whether the
64 KB counts the encoded or the decoded bytes is not stated, so the stricter
reading holds: 64 KiB encoded, 49152 bytes decoded.

Judged: NAT gateways (egress only), application security groups (labels
that rules name), web application firewall policies (they filter what an
application gateway already lets in), and scale set VMs (instances of a scale
set, whose user data is read).

Left out: Azure Firewall and its policies (DNAT rules would expose; they stay
uncovered, so `checks-cover-entry-points` reports them if a stack grows one),
VM extensions and run commands (they run scripts on a VM; also uncovered),
Container Apps ingress, and NICs with a public IP but no security group
(Azure's default rules then decide: a rule for the stack kind, not an adapter).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any, Final

from infra.checks.adapters import (
    ALL_PORTS,
    INTERNET,
    Opening,
    UserData,
    int_or,
    judged,
    openings,
    port_range,
    user_data,
)
from infra.plan.model import RecordedPlan, RecordedResource, Secret, reveal

NSG: Final = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE: Final = "azure-native:network:SecurityRule"
LOAD_BALANCER: Final = "azure-native:network:LoadBalancer"
INBOUND_NAT_RULE: Final = "azure-native:network:InboundNatRule"
APPLICATION_GATEWAY: Final = "azure-native:network:ApplicationGateway"
VM: Final = "azure-native:compute:VirtualMachine"
SCALE_SET: Final = "azure-native:compute:VirtualMachineScaleSet"
# osProfile.customData: "The maximum length of the binary array is 65535 bytes" (decoded).
CUSTOM_DATA_LIMIT: Final = 65535
# userData: "The size can't exceed 64 KB", passed base64-encoded: 64 KiB of base64 holds 49152 bytes.
USER_DATA_LIMIT: Final = 64 * 1024 * 3 // 4
INTERNET_PREFIXES: Final = frozenset({"*", "internet", "any", "0.0.0.0/0", "::/0"})
# "*" is every protocol, but the rule's ports still hold: TCP and UDP on those ports.
_PROTOCOLS: Final = {"tcp": ("tcp",), "udp": ("udp",), "*": ("tcp", "udp")}
_SECRET_NAMED: Final = re.compile(r"password|secret|token|credential|private|keys?$", re.I)

judged("azure-native:network:NatGateway", "egress only: lets nothing in")
judged("azure-native:network:ApplicationSecurityGroup", "a label NICs carry and security rules name; the rules are read")
judged("azure-native:network:WebApplicationFirewallPolicy", "filters requests an application gateway already lets in; the gateway is read")
judged("azure-native:compute:VirtualMachineScaleSetVM", "an instance of its scale set, whose user data is read")


def _inputs(r: RecordedResource) -> dict[str, Any]:
    """`r`'s inputs with secrets unwrapped: the engine marks a whole object secret once one field in it is."""
    found: dict[str, Any] = reveal(r.inputs)
    return found


def _sources(rule: dict[str, Any]) -> frozenset[str]:
    prefixes = [str(p) for p in [rule.get("sourceAddressPrefix"), *(rule.get("sourceAddressPrefixes") or [])] if p]
    if not prefixes and not rule.get("sourceApplicationSecurityGroups"):
        return INTERNET  # the API refuses a rule with no source; read it as the widest
    found = {p for p in prefixes if p.lower() not in INTERNET_PREFIXES}
    return frozenset(found | (INTERNET if len(found) < len(prefixes) else set()))


def _rule_openings(r: RecordedResource, rule: dict[str, Any]) -> Iterator[Opening]:
    if str(rule.get("direction") or "").lower() != "inbound" or str(rule.get("access") or "").lower() != "allow":
        return
    protocols = _PROTOCOLS.get(str(rule.get("protocol") or "").lower(), ())
    ranges = [str(p) for p in [rule.get("destinationPortRange"), *(rule.get("destinationPortRanges") or [])] if p]
    for text in ranges or ["*"]:
        low, high = port_range(text)
        for protocol in protocols:
            yield Opening(r, protocol, low, high, _sources(rule), via=f"security rule {rule.get('name') or r.name} {protocol} {text}")


@openings(NSG)
def _security_group(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    for rule in _inputs(r).get("securityRules") or []:
        yield from _rule_openings(r, rule)


@openings(SECURITY_RULE)
def _security_rule(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    yield from _rule_openings(r, _inputs(r))


def _public_frontends(balancer: RecordedResource) -> dict[str, bool]:
    return {
        str(fe.get("name")): bool(fe.get("publicIPAddress") or fe.get("publicIPPrefix"))
        for fe in _inputs(balancer).get("frontendIPConfigurations") or []
    }


def _is_public(rule: dict[str, Any], frontends: dict[str, bool]) -> bool:
    ref = str((rule.get("frontendIPConfiguration") or {}).get("id") or "")
    name = ref.rstrip("/").rsplit("/", 1)[-1]
    return frontends[name] if name in frontends else any(frontends.values())


def _backend_opening(r: RecordedResource, rule: dict[str, Any], kind: str) -> Opening:
    port = int_or(rule.get("backendPort"), 0)
    protocol = "udp" if str(rule.get("protocol")).lower() == "udp" else "tcp"
    if not port:  # 0 with protocol All: every port of every protocol (an HA-ports rule)
        protocol = "all"
    low, high = (port, port) if port else ALL_PORTS
    frontend = int_or(rule.get("frontendPort"), 0) or f"{int_or(rule.get('frontendPortRangeStart'), 0)}-{int_or(rule.get('frontendPortRangeEnd'), 0)}"
    return Opening(r, protocol, low, high, INTERNET, via=f"{kind} {rule.get('name') or r.name}: frontend {frontend} -> backend port {port or 'all'}")


@openings(LOAD_BALANCER)
def _load_balancer(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    frontends = _public_frontends(r)
    for key, kind in (("loadBalancingRules", "load-balancing rule"), ("inboundNatRules", "inbound NAT rule"), ("inboundNatPools", "inbound NAT pool")):
        for rule in i.get(key) or []:
            if _is_public(rule, frontends):
                yield _backend_opening(r, rule, kind)


@openings(INBOUND_NAT_RULE)
def _inbound_nat_rule(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    balancer = plan.producer(i.get("loadBalancerName"), LOAD_BALANCER)
    if balancer is None or _is_public(i, _public_frontends(balancer)):
        yield _backend_opening(r, i, "inbound NAT rule")


@openings(APPLICATION_GATEWAY)
def _application_gateway(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    if not any(_public_frontends(r).values()):
        return
    for settings in _inputs(r).get("backendHttpSettingsCollection") or []:
        port = int_or(settings.get("port"), 0)
        if port:
            yield Opening(r, "tcp", port, port, INTERNET, via=f"application gateway backend settings {settings.get('name')} -> port {port}")


def _decoded(value: Any) -> str | None:
    value = reveal(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value  # not base64: Azure would refuse it, but the text is still what was meant


def _named_secret_besides(value: Any, key: str) -> bool:
    """Whether `value` holds a field other than `key` named like a secret (`adminPassword`)."""
    if isinstance(value, dict):
        return any((k != key and _SECRET_NAMED.search(k)) or _named_secret_besides(v, key) for k, v in value.items())
    if isinstance(value, list):
        return any(_named_secret_besides(v, key) for v in value)
    return False


def _marked(container: Any, key: str) -> bool:
    """Whether the field `key` inside the input `container` was sent secret.

    The engine marks an object input secret as a whole once any field in it
    is, so `osProfile` is secret whenever `adminPassword` is. Such a mark counts
    for the user data only when no other field could be what it is for;
    `secret-not-in-user-data` still finds the password's value if it reached the text.
    """
    return isinstance(container, Secret) and not _named_secret_besides(reveal(container), key)


def _boot_documents(r: RecordedResource, os_container: Any, data_container: Any, profile: dict[str, Any]) -> list[UserData]:
    """customData and userData: a VM may carry both, and each is checked."""
    found = []
    custom = _decoded((profile.get("osProfile") or {}).get("customData"))
    if custom is not None:
        found.append(UserData(r, custom, CUSTOM_DATA_LIMIT, "Azure (osProfile.customData, decoded)", _marked(os_container, "customData")))
    data = _decoded(reveal(profile.get("userData")))
    if data is not None:
        found.append(UserData(r, data, USER_DATA_LIMIT, "Azure (userData: 64 KB base64-encoded)", _marked(data_container, "userData")))
    return found


@user_data(VM)
def _vm_user_data(r: RecordedResource) -> list[UserData]:
    os_profile = r.inputs.get("osProfile")
    raw = r.inputs.get("userData")
    return _boot_documents(r, os_profile, raw, {"osProfile": reveal(os_profile) or {}, "userData": raw})


@user_data(SCALE_SET)
def _scale_set_user_data(r: RecordedResource) -> list[UserData]:
    raw = r.inputs.get("virtualMachineProfile")
    return _boot_documents(r, raw, raw, reveal(raw) or {})
