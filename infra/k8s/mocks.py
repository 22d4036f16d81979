"""The offline engine's answers for pulumi-kubernetes: the ids and the few fields the API server fills in.

An object's id is `<namespace>/<name>` (cluster-scoped: `<name>`), as the
provider reports it; a Service gets a cluster IP from 10.0.0.0/16 (AKS's
default service CIDR), derived from its name so each plan is the same; a
Helm release reports itself deployed at revision 1. Everything else keeps
its inputs as its state, which is what the provider's `await` logic leaves
for objects it does not wait on. The provider makes no invokes for this
program (Helm v3 releases are rendered by the provider, not the program).
"""

from __future__ import annotations

from typing import Any

from infra.plan.mocking import MockAnswers, MockContext, digest


def _every(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    metadata = state.get("metadata") if isinstance(state.get("metadata"), dict) else None
    if metadata is None or not metadata.get("name"):
        return None
    d = digest(typ, name)
    metadata.setdefault("uid", f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}")
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])


def _service(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    spec = state.get("spec")
    if isinstance(spec, dict) and spec.get("type", "ClusterIP") in ("ClusterIP", "NodePort", "LoadBalancer"):
        number = int(digest("service", name)[:4], 16)
        spec.setdefault("clusterIP", f"10.0.{number // 256 % 256}.{number % 254 + 1}")
    return None


def _release(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    release = str(state.get("name") or name)
    namespace = str(state.get("namespace") or "default")
    state["status"] = {"name": release, "namespace": namespace, "revision": 1, "status": "deployed", "chart": state.get("chart"), "version": state.get("version")}
    return f"{namespace}/{release}"


MOCKS = MockAnswers(
    every_resource=_every,
    resources={
        "kubernetes:core/v1:Service": _service,
        "kubernetes:helm.sh/v3:Release": _release,
    },
)
