"""The Kubernetes manifests in deploy/k8s keep their promises (docs/operations.md,
"Kubernetes"): every overlay renders with `kubectl kustomize` and validates strictly against
the Kubernetes API; every Deployment has probes on paths the app serves, limits under
512 MiB, a locked-down security context and a disruption budget; the autoscalers target the
right Deployments with the stated metrics; every setting is a real one and the ones
production needs are wired from the ConfigMap or the Secret."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from connecthub.config import Settings
from connecthub.ops import metrics
from connecthub.ops.endpoints import router as ops_router
from connecthub.ops.metrics_server import metrics_app

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
BIN = Path(sys.executable).parent
KUBERNETES_VERSION = "1.32.0"  # the oldest release the manifests are checked against
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}  # Prometheus Operator resources
MEMORY_CEILING = 512 * 1024 * 1024
# What a production process refuses to start without, or cannot work without.
PRODUCTION_SETTINGS = {
    "ENVIRONMENT",
    "SECRET_KEY",
    "LOCAL_DOMAIN",
    "DATABASE_URL",
    "REDIS_URL",
    "MEDIA_STORAGE_URL",
    "METRICS_TOKEN",
}


def _paths(routes: Any) -> set[str]:
    return {route.path for route in routes if hasattr(route, "path")}


# Paths each process serves: the app's router (web), the worker's metrics listener.
WEB_PROBE_PATHS = _paths(ops_router.routes)
WORKER_PROBE_PATHS = _paths(metrics_app(Settings(), refresh=lambda: asyncio.sleep(0)).router.routes)


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    done = subprocess.run(
        [str(BIN / "kubectl"), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def of_kind(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in rendered(overlay) if doc["kind"] == kind]


def memory_bytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMG]i)?", quantity).groups()  # type: ignore[union-attr]
    return int(number) * {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[unit]


def setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_the_overlays_are_shipped() -> None:
    assert OVERLAYS == ["blue-green", "canary", "production", "staging"]
    assert {"/health/live", "/health/ready"} <= WEB_PROBE_PATHS
    assert "/health/live" in WORKER_PROBE_PATHS


@pytest.mark.slow
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly(overlay: str, tmp_path: Path) -> None:
    known = [doc for doc in rendered(overlay) if doc["kind"] not in CUSTOM_KINDS]
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(known))
    done = subprocess.run(
        [
            str(BIN / "kubernetes-validate"),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--quiet",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_are_probed_limited_locked_down_and_budgeted(overlay: str) -> None:
    budgets = of_kind(overlay, "PodDisruptionBudget")
    for deployment in of_kind(overlay, "Deployment"):
        name = deployment["metadata"]["name"]
        template = deployment["spec"]["template"]
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        limits = container["resources"]["limits"]
        assert memory_bytes(limits["memory"]) <= MEMORY_CEILING, name
        assert memory_bytes(container["resources"]["requests"]["memory"]) <= memory_bytes(
            limits["memory"]
        )
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        paths = WORKER_PROBE_PATHS if container["name"] == "worker" else WEB_PROBE_PATHS
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            check = container[probe]["httpGet"]
            assert check["path"] in paths, (name, probe)
            assert check["port"] in ports, (name, probe)
        # A writable /tmp is the only writable path besides mounted volumes.
        assert any(mount["mountPath"] == "/tmp" for mount in container["volumeMounts"])
        labels = template["metadata"]["labels"]
        assert any(
            budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
            for budget in budgets
        ), f"{name}: no PodDisruptionBudget selects its pods"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_outlives_its_drain(overlay: str) -> None:
    config = of_kind(overlay, "ConfigMap")[0]["data"]
    for deployment in of_kind(overlay, "Deployment"):
        if (
            deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
            != "web"
        ):
            continue
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        drain = int(config["SHUTDOWN_DRAIN_SECONDS"])
        assert pod["terminationGracePeriodSeconds"] > pause + drain


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ports_agree_with_the_settings(overlay: str) -> None:
    config = of_kind(overlay, "ConfigMap")[0]["data"]
    expected = {
        "http": int(config["PORT"]),
        "liveness": int(config["LIVENESS_PORT"]),
        "metrics": int(config["WORKER_METRICS_PORT"]),
    }
    for deployment in of_kind(overlay, "Deployment"):
        for port in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]:
            assert port["containerPort"] == expected[port["name"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscalers_target_the_right_deployments(overlay: str) -> None:
    deployments = {d["metadata"]["name"] for d in of_kind(overlay, "Deployment")}
    scalers = {h["metadata"]["name"]: h for h in of_kind(overlay, "HorizontalPodAutoscaler")}
    assert scalers["connecthub-web"]["spec"]["scaleTargetRef"]["name"] == "connecthub-web"
    web = {m["resource"]["name"] for m in scalers["connecthub-web"]["spec"]["metrics"]}
    assert web == {"cpu", "memory"}
    worker = scalers["connecthub-worker"]["spec"]
    assert worker["scaleTargetRef"]["name"] == "connecthub-worker"
    (external,) = worker["metrics"]
    assert external["type"] == "External"
    assert external["external"]["metric"]["name"] == metrics.JOB_QUEUE_DEPTH._name
    for scaler in scalers.values():
        assert scaler["spec"]["scaleTargetRef"]["name"] in deployments
        assert scaler["spec"]["minReplicas"] <= scaler["spec"]["maxReplicas"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_is_real_and_production_ones_are_wired(overlay: str) -> None:
    config = of_kind(overlay, "ConfigMap")
    data = next(c["data"] for c in config if c["metadata"]["name"] == "connecthub-config")
    secret_keys = set(
        re.findall(r"^([A-Z][A-Z0-9_]*)=", (K8S / "secrets.env.example").read_text(), re.M)
    )
    assert not (set(data) | secret_keys) - setting_names()
    assert not set(data) & secret_keys, "a setting in both the ConfigMap and the Secret"
    assert set(data) | secret_keys >= PRODUCTION_SETTINGS
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"} <= secret_keys
    workloads = [*of_kind(overlay, "Deployment"), *of_kind(overlay, "Job")]
    for workload in workloads:
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        sources = {
            (kind, ref["name"]) for entry in container["envFrom"] for kind, ref in entry.items()
        }
        assert sources == {
            ("configMapRef", "connecthub-config"),
            ("secretRef", "connecthub-secrets"),
        }, workload["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_and_ingresses_lead_somewhere(overlay: str) -> None:
    templates = [
        d["spec"]["template"]["metadata"]["labels"] for d in of_kind(overlay, "Deployment")
    ]
    services = {s["metadata"]["name"]: s for s in of_kind(overlay, "Service")}
    for service in services.values():
        selector = service["spec"]["selector"]
        matching = [labels for labels in templates if selector.items() <= labels.items()]
        assert len(matching) == 1, service["metadata"]["name"]
    for ingress in of_kind(overlay, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] in services


def test_only_the_canary_ingress_is_weighted() -> None:
    weights = {
        ingress["metadata"]["name"]: ingress["metadata"]["annotations"].get(
            "nginx.ingress.kubernetes.io/canary-weight"
        )
        for ingress in of_kind("canary", "Ingress")
    }
    assert weights == {"connecthub": None, "connecthub-canary": "10"}


def test_blue_green_runs_two_slots_behind_one_service() -> None:
    slots = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"][
            "connecthub.example.org/release"
        ]
        for d in of_kind("blue-green", "Deployment")
        if d["metadata"]["name"].startswith("connecthub-web")
    }
    assert slots == {"connecthub-web": "current", "connecthub-web-next": "next"}
    (main,) = [
        s for s in of_kind("blue-green", "Service") if s["metadata"]["name"] == "connecthub-web"
    ]
    assert main["spec"]["selector"]["connecthub.example.org/release"] == "current"


def test_network_policies_deny_by_default() -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind("production", "NetworkPolicy")}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    stores = policies["connecthub-data-stores"]["ingress"][0]["from"][0]["podSelector"]
    components = next(
        e["values"] for e in stores["matchExpressions"] if e["key"] == "app.kubernetes.io/component"
    )
    assert sorted(components) == ["migrate", "web", "worker"]


def test_alerts_and_the_dashboard_use_metrics_the_server_exports() -> None:
    exported = {
        name
        for collector in metrics.__dict__.values()
        if (name := getattr(collector, "_name", None))
    }
    # A histogram's series carry suffixes; a counter's name is exported with `_total`.
    known = exported | {f"{n}_total" for n in exported} | {f"{n}_bucket" for n in exported}
    (rules,) = of_kind("production", "PrometheusRule")
    expressions = [r["expr"] for g in rules["spec"]["groups"] for r in g["rules"]]
    dashboard = next(
        c for c in of_kind("production", "ConfigMap") if "dashboard" in c["metadata"]["name"]
    )
    expressions += re.findall(
        r'"expr": "((?:[^"\\]|\\.)*)"', next(iter(dashboard["data"].values()))
    )
    used = {name for text in expressions for name in re.findall(r"connecthub_[a-z_]+", text)}
    assert used, "no ConnectHub metric in the alerts or the dashboard"
    assert not used - known
    alerts = {r["alert"] for g in rules["spec"]["groups"] for r in g["rules"]}
    assert {"ConnectHubApiLatencyHigh", "ConnectHubApiErrorRateHigh"} <= alerts


def test_the_dockerfile_passes_hadolint_and_runs_unprivileged() -> None:
    dockerfile = ROOT / "Dockerfile"
    done = subprocess.run(
        [str(BIN / "hadolint"), str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = dockerfile.read_text()
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "HEALTHCHECK" in text
    instructions = re.findall(r"^ENV ((?:.*\\\n)*.*)$", text, re.M)
    env_names = set(re.findall(r"([A-Z][A-Z0-9_]*)=", "\n".join(instructions)))
    image_settings = env_names - {"PATH", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_CACHE_DIR"}
    image_settings -= {name for name in env_names if name.startswith(("UV_", "PYTHON"))}
    image_settings -= {"CONNECTHUB_MIGRATIONS_DIR", "TMPDIR"}
    assert not image_settings - setting_names()
