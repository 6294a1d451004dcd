"""Start and stop moto's server on a free loopback port."""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

from . import moto_fidelity

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fake_credentials() -> None:
    """moto accepts any credentials; these keep boto3 from looking for real ones."""
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_SESSION_TOKEN"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_REGION"] = REGION
    os.environ.pop("AWS_PROFILE", None)


class LocalAws:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> LocalAws:
        fake_credentials()
        # moto's EC2 loads 1,300 sample AMIs (each with a volume and a snapshot) whenever a
        # region's EC2 is created, i.e. again after every reset: most of a reset's cost.
        # Nothing here asks for images.
        os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
        moto_fidelity.apply()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every resource (moto's reset API), between tests."""
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        # Generous: on a busy machine a reset has taken over 10 s.
        urllib.request.urlopen(req, timeout=60).read()


@contextmanager
def local_aws() -> Iterator[LocalAws]:
    server = LocalAws().start()
    try:
        yield server
    finally:
        server.stop()
