"""`GpuPlacement`: where GPU work lands in a cluster, shared by the workloads and the device plugin.

A cluster marks its GPU nodes with a label and keeps other pods off them with
a taint; GPU pods select the label and tolerate the taint, and so must the
NVIDIA device plugin, which advertises `nvidia.com/gpu` on those nodes.
Creates nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuPlacement:
    """The GPU nodes' label(s) to select and the tolerations for their taints (Kubernetes objects)."""

    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, str], ...]
