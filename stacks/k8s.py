"""The `k8s` stack kind: the app and the chosen add-ons on a Kubernetes cluster you already have.

Builds a Kubernetes provider from `dixi:kubeconfig` and `dixi:kubeContext`
(both empty: the `KUBECONFIG` or `~/.kube/config` of the machine running
`pulumi up`, its current context), builds and pushes the images not given
prebuilt to `dixi:imageRegistry`, and composes `infra.k8s.stack.ClusterApp`.
Creates no cloud resource; owns the stack outputs.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes
from pulumi import Output, ResourceOptions

from infra import spec
from infra.common.naming import tags
from infra.k8s.config import K8sConfig
from infra.k8s.images import PushedImages, PushedImagesArgs
from infra.k8s.stack import ClusterApp, ClusterAppArgs


def deploy(cfg: K8sConfig) -> None:
    stack = pulumi.get_stack()
    provider = kubernetes.Provider(
        "dixi-cluster",
        kubeconfig=cfg.kubeconfig or None,
        context=cfg.kube_context or None,
        # Objects are applied server-side (the provider's default since v4), so a second
        # field manager's change shows up as a conflict instead of being overwritten silently.
        enable_server_side_apply=True,
    )
    images: dict[str, pulumi.Input[str]] = {name: ref for name, ref in cfg.images.items()}
    if len(images) < len(spec.SERVICES):
        pushed = PushedImages("dixi-images", PushedImagesArgs(registry=cfg.image_registry, prebuilt=cfg.images))
        images = dict(pushed.refs)
    app = ClusterApp(
        "dixi",
        ClusterAppArgs(config=cfg, images=images, gpu=cfg.gpu_placement(), labels=tags(stack, cfg.stack_kind)),
        opts=ResourceOptions(providers=[provider]),
    )
    pulumi.export("url", Output.from_input(app.url).apply(lambda u: u or "no dixi:domain: see the Gateway's address (README, Kubernetes)"))
    pulumi.export("namespace", app.namespace)
    pulumi.export("routing", cfg.routing)
    pulumi.export("gatewayClass", app.gateway_class or "")
    pulumi.export("dataKeptOnDestroy", cfg.retain_data)
    pulumi.export("imageSources", {s.name: ("prebuilt: " + cfg.images[s.name]) if s.name in cfg.images else f"build: {s.build_context}" for s in spec.SERVICES})
