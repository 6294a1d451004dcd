"""Fixtures for the notifier: a real Slack-like HTTP server on 127.0.0.1, webhook secrets in
moto's Secrets Manager, and subject objects (from the real engine, or real-shaped)."""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from tests.localaws.server import ACCOUNT, REGION


@dataclass
class Received:
    path: str
    payload: dict[str, Any]
    headers: dict[str, str]


@dataclass
class SlackServer:
    """Answers POSTs like Slack's incoming webhooks: "ok" with 200 unless a response was
    scripted for the path with `respond(path, status, body, headers)` (used in order)."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    scripts: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def webhook(self, name: str = "default") -> str:
        return f"{self.base_url}/services/T0VPCGUARD/B0{name.upper()}/{name}-secret-token"

    def respond(
        self, path_or_url: str, status: int, body: str = "", headers: dict[str, str] | None = None
    ) -> None:
        path = path_or_url.removeprefix(self.base_url)
        with self.lock:
            self.scripts[path].append((status, body, headers or {}))

    def posts(self, url: str | None = None) -> list[Received]:
        path = url.removeprefix(self.base_url) if url else None
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]


def _handler(state: SlackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            with state.lock:
                state.received.append(Received(self.path, json.loads(raw), dict(self.headers.items())))
                script = state.scripts[self.path]
                status, body, headers = script.popleft() if script else (200, "ok", {})
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def slack():
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = SlackServer(server)
    server.RequestHandlerClass = _handler(state)
    # serve_forever polls for shutdown every poll_interval: its default (0.5 s) was the wait at
    # the end of every test that used this server.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def secretsmanager(endpoint_url):
    return boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint_url)


@pytest.fixture
def webhook_secret(secretsmanager):
    """Store a webhook URL as a secret's value (as the stack's operator does); returns the ARN."""

    def make(name: str, url: str) -> str:
        return secretsmanager.create_secret(Name=f"vpcguard/slack/{name}", SecretString=url)["ARN"]

    return make


# --- subjects ---------------------------------------------------------------------------


def result(check_id: str, status: str = "FAIL", severity: str = "HIGH", **kw: Any) -> dict[str, Any]:
    return {
        "check_id": check_id,
        "status": status,
        "severity": severity,
        "title": kw.pop("title", f"Title of {check_id}"),
        "detail": kw.pop("detail", f"{check_id} found a problem on sg-0123456789abcdef0"),
        "resource_ids": kw.pop("resource_ids", ["sg-0123456789abcdef0"]),
        "fixable": kw.pop("fixable", False),
        "remediation": kw.pop("remediation", None),
    }


def subject(
    results: list[dict[str, Any]], *, name: str = "scoring-model", kind: str = "model", tags=None
) -> dict:
    """A subject object in the contract's shape (docs/architecture.md)."""
    resource = "transform-job" if kind == "transform_job" else "model"
    return {
        "type": kind,
        "name": name,
        "arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}/{name}",
        "region": REGION,
        "account": ACCOUNT,
        "vpc_id": "vpc-0a1b2c3d4e5f60718",
        "instance_count": 1,
        "model_name": name if kind == "model" else "scoring-model",
        "tags": tags or {},
        "results": results,
    }


@pytest.fixture
def engine_subject(builder, engine):
    """A transform job on a VPC with real problems, evaluated by the real engine:
    its group has no self rule and no egress, its one subnet is short of addresses,
    network isolation is off; the model is tagged for team "ml"."""
    net = builder.compliant_vpc()
    sg = builder.security_group(net.vpc_id, self_ingress=False, egress_all=False)
    builder.model(
        "churn-model",
        subnet_ids=[net.subnet_ids[0]],
        security_group_ids=[sg],
        role_arn=net.role_arn,
        network_isolation=False,
        tags={"vpcguard:team": "ml"},
    )
    builder.transform_job("churn-nightly", "churn-model", instance_count=130)
    report = engine.evaluate_transform_job("churn-nightly")
    return report.to_dict(), {"sg": sg, "subnet": net.subnet_ids[0], "vpc": net.vpc_id}
