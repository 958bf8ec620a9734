"""The deployment files people apply: Kubernetes manifests and a compose file, checked offline against the
schemas bundled with ``kubernetes-validate`` and ``check-jsonschema`` (no schema is downloaded)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema

from sync.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY.parent / "Dockerfile"
#: The Kubernetes release the manifests are checked against (bundled in kubernetes-validate).
KUBERNETES_VERSION = "1.30.0"
SETTINGS = {f"CASESYNC_{name.upper()}" for name in Settings.model_fields}


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path.name, doc))
    return found


def by_kind(kind: str) -> dict[str, Any]:
    matches = [doc for _, doc in documents() if doc["kind"] == kind]
    assert len(matches) == 1, f"expected one {kind}, found {len(matches)}"
    return matches[0]


def pod_spec(kind: str) -> dict[str, Any]:
    doc = by_kind(kind)
    spec = doc["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else doc["spec"]
    template: dict[str, Any] = spec["template"]["spec"]
    return template


@pytest.mark.parametrize(("name", "doc"), documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_each_manifest_is_valid_kubernetes(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


def test_a_broken_manifest_is_refused() -> None:
    # The validator really checks: a probe without a handler and a string replica count are errors.
    doc = by_kind("Deployment")
    doc["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_serve_has_probes_resources_and_runs_unprivileged() -> None:
    spec = pod_spec("Deployment")
    (container,) = spec["containers"]
    assert container["args"] == ["serve"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = next(p for p in container["ports"] if p["name"] == "http")["containerPort"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CASESYNC_HTTP_PORT"] == str(port)
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and container["resources"]["limits"]
    # Graceful stop: longer than the lease a change in hand may take.
    assert spec["terminationGracePeriodSeconds"] > Settings().lease_s


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_pods_run_as_the_images_unprivileged_user(kind: str) -> None:
    spec = pod_spec(kind)
    user = re.search(r"^USER (\d+):(\d+)$", DOCKERFILE.read_text(), re.M)
    assert user is not None
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == int(user.group(1))
    (container,) = spec["containers"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_cronjob_runs_one_pass_at_a_time() -> None:
    cron = by_kind("CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = pod_spec("CronJob")["containers"]
    assert container["args"] == ["sync", "--once"]


def test_credentials_come_from_the_secret_and_every_variable_is_a_setting() -> None:
    secret = by_kind("Secret")
    config = by_kind("ConfigMap")
    assert {"CASESYNC_ZENDESK_TOKEN", "CASESYNC_WEBHOOK_SECRET", "CASESYNC_DATABASE_URL"} <= set(secret["stringData"])
    assert not any("TOKEN" in k or "SECRET" in k for k in config["data"]), "secrets belong in the Secret"
    assert set(secret["stringData"]) | set(config["data"]) <= SETTINGS
    for kind in ("Deployment", "CronJob"):
        (container,) = pod_spec(kind)["containers"]
        refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert refs == {secret["metadata"]["name"]} | {config["metadata"]["name"]}
        assert {e["name"] for e in container.get("env", [])} <= SETTINGS


def test_the_service_reaches_the_serve_pods() -> None:
    service = by_kind("Service")
    labels = by_kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


# -- compose ---------------------------------------------------------------------------------------

def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_compose_file_matches_the_compose_specification() -> None:
    schema = get_builtin_schema("vendor.compose-spec")
    jsonschema.validate(compose(), schema)
    broken = compose()
    broken["services"]["casesync"]["depends_on"] = {"postgres": {"condition": "whenever"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_compose_waits_for_postgres_and_reads_secrets_from_the_environment() -> None:
    services = compose()["services"]
    app = services["casesync"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]
    env = app["environment"]
    database = env["CASESYNC_DATABASE_URL"]
    assert database.startswith("postgresql://") and "@postgres:5432/" in database
    assert set(env) <= SETTINGS
    for key in ("CASESYNC_ZENDESK_TOKEN", "CASESYNC_WEBHOOK_SECRET"):
        assert str(env[key]).startswith("${"), f"{key} must come from the environment, not the file"
    assert all(str(p).startswith("127.0.0.1:") for p in app["ports"])
