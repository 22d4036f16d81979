"""`image-build-context`: every image the stack builds has its context and Dockerfile in the repo.

A warning, not an error: the plan is still worth reading while `app/` is being
written, but `pulumi up` would fail at the build.
"""

from __future__ import annotations

from pathlib import Path

from infra.checks import Problem, problem, rule
from infra.plan.model import RecordedPlan


@rule("image-build-context")
def image_build_context(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for image in plan.of_type("docker-build:index:Image"):
        context = image.inputs.get("context") or {}
        dockerfile = (image.inputs.get("dockerfile") or {}).get("location", "")
        paths = [("build context", context.get("location", "")), ("Dockerfile", dockerfile)]
        paths += [(f"named context {name!r}", (named or {}).get("location", "")) for name, named in (context.get("named") or {}).items()]
        for label, path in paths:
            if not path or not (root / path).exists():
                problems.append(
                    problem(
                        "image-build-context",
                        "warning",
                        image,
                        f"{label} {path!r} does not exist, so `pulumi up` cannot build this image; "
                        "add it, or set a prebuilt reference in dixi:images",
                    )
                )
                break
    return problems
