"""Detectors that decode (ossa_hooks/secrets/detectors.py): Kubernetes Secret ``data:`` values,
base64-encoded JWTs and tokens; through the engine on real files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import ossa
from conftest import rnd

from ossa_hooks.secrets import engine as secrets
from ossa_hooks.secrets.detectors import decode_base64
from ossa_hooks.secrets.detectors import kubernetes_secrets


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def findings(path: str, text: str) -> list[tuple[str, int]]:
    result = secrets.Engine().scan_patch(secrets.as_patch(path, text.encode()))
    return sorted((f.kind, f.line) for f in result.findings)


SECRET = rnd(18, "k8s") + "!9"


def test_kubernetes_secret_data_values_are_decoded_and_reported() -> None:
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        f"  # base64 of the password\n  db-password: {b64(SECRET)}\n"
        "  template: '{{ .Values.x }}'\n  empty: ''\n"
    )
    assert ("Kubernetes Secret", 8) in findings("deploy/secret.yaml", manifest)


def test_kubernetes_data_before_kind_and_block_scalars() -> None:
    config = b64(json.dumps({"auths": SECRET}))
    manifest = f"apiVersion: v1\ndata:\n  .dockercfg: |\n    {config}\nkind: Secret\n"
    assert findings("s.yml", manifest) == [("Kubernetes Secret", 4)]


def test_config_maps_and_non_yaml_files_are_not_kubernetes_secrets() -> None:
    config_map = f"kind: ConfigMap\ndata:\n  greeting: {b64('hello there, my friend')}\n"
    assert findings("cm.yaml", config_map) == []
    assert kubernetes_secrets([(1, "kind: Secret"), (2, "data:"), (3, "  key: not base64!")]) == []


def test_base64_encoded_jwt_is_found_once_decoded() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(b'{"sub":"42","name":"x"}').decode().rstrip("=")
    jwt = f"{header}.{payload}.{rnd(43, 'sig')}"
    encoded = b64(jwt)
    assert encoded.startswith("ZXlK")
    assert findings("blob.txt", f"data = {encoded}\n") == [("JSON Web Token (base64)", 1)]


def test_decode_base64_only_text() -> None:
    assert decode_base64(b64("hello world!")) == "hello world!"
    assert decode_base64(base64.b64encode(bytes(range(256))).decode()) is None
    assert decode_base64("not*base64") is None


def test_scan_reports_kubernetes_secret_on_disk(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text(f"kind: Secret\ndata:\n  token: {b64(SECRET)}\n")
    r = ossa(tmp_path, "scan", ".")
    assert r.returncode == 1
    assert "secret.yaml:3: Kubernetes Secret:" in r.stdout
