"""The offline engine: run the real Pulumi program in-process under mocks and record it.

`record(...)` configures Pulumi's runtime with `PlanMocks` (which answer by
type token and invoke token from each cloud's `mocks.py`, found through
`infra.targets`) and a `RecordingMonitor` (a `MockMonitor` that keeps every
`RegisterResource` request: type, name, parent, dependencies, the resource
options, and the inputs as the engine receives them), runs the program the way
the language host does (`run_in_stack`), and returns a `RecordedPlan`.

Given the plan of an earlier run (`prior`), the monitor applies
`ignoreChanges` the way the Pulumi engine does: an ignored top-level input
keeps its earlier value, and so does the output the mocks echo from it. That
is how a test shows what a second `pulumi up` with different lookup answers
would really change.

Each call runs in a fresh `contextvars.Context`: Pulumi keeps its settings, its
config and its one root stack in context variables, so this is what gives
every stack a clean engine state inside one process.

What it does not do: talk to a provider, a cloud or the Pulumi CLI. Inputs a
provider would compute are the mocks' deterministic stand-ins. Only the CLI
and the tests import this module; checks and cost read `infra.plan.model`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import ROOT, configure
from pulumi.runtime.stack import run_in_stack

from infra import targets
from infra.common.mocks import PROVIDER_MOCKS
from infra.config import DixiConfig
from infra.plan.mocking import InvokeAnswer, MockAnswers, MockContext
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret


def _plain(value: Any) -> Any:
    """Deserialized RPC values -> JSON-able Python, with secrets wrapped in `Secret`."""
    if rpc.is_rpc_secret(value):
        return Secret(_plain(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    urn = getattr(value, "urn", None)  # a resource reference
    if urn is not None:
        return str(getattr(value, "_name", urn))
    return str(value)


def answers_by_provider() -> dict[str, MockAnswers]:
    """Every provider package's answers: the shared ones, then each cloud's `MOCKS`."""
    answers = dict(PROVIDER_MOCKS)
    for cloud in targets.CLOUDS.values():
        module = cloud.module("mocks")
        if module is not None:
            for provider in cloud.providers:
                answers[provider] = module.MOCKS
    return answers


class PlanMocks(pulumi_mocks.Mocks):
    """Deterministic stand-ins for what providers compute, looked up by token."""

    def __init__(self, config: DixiConfig | None, overrides: Mapping[str, InvokeAnswer] | None = None) -> None:
        self.context = MockContext(config)
        self.answers = answers_by_provider()
        self.overrides = dict(overrides or {})
        self.invokes: list[tuple[str, dict[str, Any]]] = []
        self.unanswered: list[str] = []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state: dict[str, Any] = dict(args.inputs)
        rid: str | None = None
        provider = self.answers.get(args.typ.split(":", 1)[0])
        if provider is not None:
            if provider.every_resource is not None:
                rid = provider.every_resource(self.context, args.typ, args.name, state)
            answer = provider.resources.get(args.typ)
            if answer is not None:
                rid = answer(self.context, args.typ, args.name, state) or rid
        return rid or f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        arguments = dict(args.args)
        self.invokes.append((args.token, arguments))
        answer = self.overrides.get(args.token)
        if answer is None:
            provider = self.answers.get(args.token.split(":", 1)[0])
            answer = provider.invokes.get(args.token) if provider is not None else None
        if answer is None:
            self.unanswered.append(args.token)
            return {}
        return answer(self.context, arguments)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every registration request and the stack's outputs."""

    def __init__(self, mocks: PlanMocks, prior: RecordedPlan | None = None) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self._by_urn: dict[str, ResourceKey] = {}
        self._prior = {r.key: r for r in prior.resources} if prior is not None else {}
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}

    def _key(self, urn: str) -> ResourceKey | None:
        return self._by_urn.get(urn) if urn else None

    def _keys(self, urns: Any) -> list[ResourceKey]:
        return sorted({k for k in (self._key(u) for u in urns) if k is not None})

    def _keep_ignored(self, request: Any) -> None:
        """What the engine does with `ignoreChanges`: ignored inputs keep the earlier run's value."""
        before = self._prior.get(ResourceKey(request.type, request.name))
        if before is None:
            return
        for path in request.ignoreChanges:
            if path in before.inputs and not isinstance(before.inputs[path], Secret):
                request.object.update({path: before.inputs[path]})

    def RegisterResource(self, request: Any) -> Any:
        if request.ignoreChanges:
            self._keep_ignored(request)
        response = super().RegisterResource(request)
        key = ResourceKey(request.type, request.name)
        self._by_urn[response.urn] = key
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
        inputs = _plain(rpc.deserialize_properties(request.object)) if request.object else {}
        dependencies = self._keys(request.dependencies)
        from_inputs = {k for deps in request.propertyDependencies.values() for k in self._keys(deps.urns)}
        resource = RecordedResource(
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=self._key(request.parent),
            inputs=inputs,
            dependencies=dependencies,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            replace_on_changes=list(request.replaceOnChanges),
            ignore_changes=list(request.ignoreChanges),
            depends_on=[k for k in dependencies if k not in from_inputs],
            hooks={
                when: list(getattr(request.hooks, when))
                for when in ("before_create", "after_create", "before_update", "after_update", "before_delete", "after_delete")
                if getattr(request.hooks, when)
            },
            id=response.id,
            # An explicit provider's reference is "<urn>::<id>"; the default provider is not recorded.
            provider=self._key(request.provider.rsplit("::", 1)[0]) if request.provider and "::" in request.provider else None,
            property_dependencies={name: keys for name, deps in request.propertyDependencies.items() if (keys := self._keys(deps.urns))},
        )
        registration = self.resources.get(response.urn)
        if registration is not None:
            resource.state = _plain(registration.state)
            # Outputs the SDK marks secret itself (a RandomPassword's `result`, a SpacesKey's
            # `secretKey`): the real engine keeps them secret, so the checks must see them so.
            for field in request.additionalSecretOutputs:
                if field in resource.state and not isinstance(resource.state[field], Secret):
                    resource.state[field] = Secret(resource.state[field])
        self.recorded.append(resource)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn and request.outputs:
            self.stack_outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


class _Warnings(logging.Handler):
    """Collects what the program logs at warning level (pulumi.log.warn) through the mock engine."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def record(
    project: str,
    stack: str,
    config: DixiConfig | None,
    raw_config: Mapping[str, str],
    secret_keys: list[str],
    program: Callable[[], None],
    root_directory: Path,
    *,
    prior: RecordedPlan | None = None,
    invoke_overrides: Mapping[str, InvokeAnswer] | None = None,
    monitor: RecordingMonitor | None = None,
) -> RecordedPlan:
    """Run `program` as stack `stack` of `project` under mocks; return what it registered.

    `raw_config` is what the program reads through `pulumi.Config`; `config`
    is the same, validated, for the mocks (None when it did not validate: the
    program then stops before its first resource). `invoke_overrides` replaces the
    mocks' answer to an invoke (tests use it to change what a lookup says).
    Pass `monitor` to inspect what was registered even when the program raises.
    """
    monitor = monitor if monitor is not None else RecordingMonitor(PlanMocks(config, invoke_overrides), prior)
    mocks = monitor.mocks
    assert isinstance(mocks, PlanMocks)
    warnings = _Warnings()
    logger = logging.getLogger(f"dixi.plan.{stack}")
    logger.propagate = False
    logger.handlers = [warnings]

    def run() -> None:
        ROOT.set(None)
        settings = pulumi_mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=pulumi_mocks.MockEngine(logger),
            project=project,
            stack=stack,
            dry_run=False,
            organization="organization",
            root_directory=str(root_directory),
            callbacks=None,
        )
        configure(settings)
        set_all_config(dict(raw_config), secret_keys)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(run_in_stack(program))
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.close()
            asyncio.set_event_loop(None)

    contextvars.Context().run(run)
    return RecordedPlan(
        project=project,
        stack=stack,
        config=config,
        resources=monitor.recorded,
        outputs=monitor.stack_outputs,
        invokes=mocks.invokes,
        unanswered_invokes=sorted(set(mocks.unanswered)),
        warnings=warnings.messages,
    )
