"""`iam-policy`: identity and bucket policies pass parliament (Duo Labs' IAM linter).

Catches unknown actions, malformed statements and resource/action mismatches
that IAM would accept and then never grant, or reject at `pulumi up`. Trust
policies (a role's `assumeRolePolicy`) are not linted: parliament reads every
statement as an identity statement and would demand a Resource.
"""

from __future__ import annotations

import json
from pathlib import Path

from infra.checks import Problem, problem, rule
from infra.plan.engine import RecordedPlan

POLICY_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
}


@rule("iam-policy")
def iam_policy(plan: RecordedPlan, root: Path) -> list[Problem]:
    documents = [
        (r, r.inputs.get(key)) for r in plan.resources if (key := POLICY_INPUTS.get(r.type)) and isinstance(r.inputs.get(key), str)
    ]
    if not documents:
        return []
    try:
        from parliament import analyze_policy_string
    except ImportError:
        return [problem("iam-policy", "warning", r, "parliament is not installed here, so this policy was not linted (pip install parliament)") for r, _ in documents]
    problems = []
    for resource, text in documents:
        try:
            json.loads(str(text))
        except json.JSONDecodeError as error:
            problems.append(problem("iam-policy", "error", resource, f"policy is not JSON: {error}"))
            continue
        for finding in analyze_policy_string(str(text)).findings:
            problems.append(problem("iam-policy", "error", resource, f"parliament {finding.issue}: {finding.detail}"))
    return problems
