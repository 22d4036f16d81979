"""The offline engine's answers for pulumi-gcp: computed outputs and the invokes the GCP stack calls.

Every GCP resource gets, unless its inputs already say: a `name` (its
resource name), an `id` in Google's `projects/<project>/...` form, a
`selfLink` and a `selfLinkUnique`, all derived from the type and name, so
each value is handed out once and the checks can follow references by value.
Types with outputs of their own (a Cloud Run service's `uri`, an address's
`address`, a service account's `email`) get them below. Lookups answer like
us-central1 does.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from infra.plan.mocking import MockAnswers, MockContext, digest

PROJECT = "dixi-plan"
PROJECT_NUMBER = "123456789012"
_API = "https://www.googleapis.com/compute/v1"


def _project(ctx: MockContext) -> str:
    return str(getattr(ctx.config, "project", PROJECT) or PROJECT)


def _region(ctx: MockContext) -> str:
    return str(getattr(ctx.config, "region", "us-central1") or "us-central1")


def _collection(typ: str) -> str:
    """`gcp:compute/instanceTemplate:InstanceTemplate` -> `instanceTemplates`."""
    name = typ.rsplit(":", 1)[-1]
    return name[0].lower() + name[1:] + "s"


def _every(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    resource = str(state.get("name") or name)
    state.setdefault("name", resource)
    region = state.get("region") or (_region(ctx) if "region" in typ.lower() else None)
    zone = state.get("zone")
    where = f"projects/{_project(ctx)}/zones/{zone}" if zone else f"projects/{_project(ctx)}/regions/{region}" if region else f"projects/{_project(ctx)}/global"
    path = f"{where}/{_collection(typ)}/{resource}"
    state.setdefault("selfLink", f"{_API}/{path}")
    state.setdefault("selfLinkUnique", f"{_API}/{path}?uniqueId={int(digest(typ, name)[:12], 16)}")
    state.setdefault("project", _project(ctx))
    return path


def _cloud_run(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    service = str(state.get("name") or name)
    location = str(state.get("location") or _region(ctx))
    state.update(name=service, uri=f"https://{service}-{PROJECT_NUMBER}.{location}.run.app", urls=[f"https://{service}-{PROJECT_NUMBER}.{location}.run.app"])
    return f"projects/{_project(ctx)}/locations/{location}/services/{service}"


def _account(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    account = str(state.get("accountId") or name)
    email = f"{account}@{_project(ctx)}.iam.gserviceaccount.com"
    state.update(email=email, member=f"serviceAccount:{email}", name=f"projects/{_project(ctx)}/serviceAccounts/{email}")
    return str(state["name"])


def _address(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    octet = int(digest(typ, name)[:2], 16) % 250 + 2
    internal = str(state.get("addressType", "EXTERNAL")).upper() == "INTERNAL"
    state.setdefault("address", f"10.30.0.{octet}" if internal else f"34.120.0.{octet}")
    return None


def _secret(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    secret = str(state.get("secretId") or name)
    state.update(name=f"projects/{PROJECT_NUMBER}/secrets/{secret}")
    return str(state["name"])


def _repository(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    repo = str(state.get("repositoryId") or name)
    location = str(state.get("location") or _region(ctx))
    state.update(name=repo, registryUri=f"{location}-docker.pkg.dev/{_project(ctx)}/{repo}")
    return f"projects/{_project(ctx)}/locations/{location}/repositories/{repo}"


def _bucket(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    bucket = str(state.get("name") or f"{name}-{digest(name)[:7]}")
    state.update(name=bucket, url=f"gs://{bucket}", selfLink=f"https://www.googleapis.com/storage/v1/b/{bucket}")
    return bucket


def _redis(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state.update(
        host="10.31.0.3",
        port=6378 if state.get("transitEncryptionMode") == "SERVER_AUTHENTICATION" else 6379,
        authString="mock-redis-auth-" + digest("auth", name)[:16],
        serverCaCerts=[{"cert": "-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n"}],
    )
    return None


def _get_project(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"projectId": _project(ctx), "number": PROJECT_NUMBER, "name": _project(ctx), "id": f"projects/{_project(ctx)}"}


def _get_image(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    family = str(args.get("family") or args.get("name") or "image")
    project = str(args.get("project") or _project(ctx))
    image = f"{family}-v20261101"
    return {"name": image, "family": family, "project": project, "selfLink": f"{_API}/projects/{project}/global/images/{image}", "id": image, "diskSizeGb": 50}


def _client_config(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"accessToken": "mock-access-token", "project": _project(ctx), "region": _region(ctx), "zone": f"{_region(ctx)}-a", "id": _project(ctx)}


def _zones(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"names": [f"{_region(ctx)}-{z}" for z in "abcf"], "id": _region(ctx), "project": _project(ctx)}


MOCKS = MockAnswers(
    every_resource=_every,
    resources=MappingProxyType(
        {
            "gcp:cloudrunv2/service:Service": _cloud_run,
            "gcp:serviceaccount/account:Account": _account,
            "gcp:compute/address:Address": _address,
            "gcp:compute/globalAddress:GlobalAddress": _address,
            "gcp:secretmanager/secret:Secret": _secret,
            "gcp:artifactregistry/repository:Repository": _repository,
            "gcp:storage/bucket:Bucket": _bucket,
            "gcp:redis/instance:Instance": _redis,
        }
    ),
    invokes=MappingProxyType(
        {
            "gcp:organizations/getProject:getProject": _get_project,
            "gcp:compute/getImage:getImage": _get_image,
            "gcp:organizations/getClientConfig:getClientConfig": _client_config,
            "gcp:compute/getZones:getZones": _zones,
        }
    ),
)
