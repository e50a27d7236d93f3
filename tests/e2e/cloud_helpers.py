"""Helpers of the ``xloudnet import / apply`` and CLI-login end-to-end tests (imported by name)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
from e2e_helpers import PASSWORD


def clean_env() -> dict[str, str]:
    """The environment without OS_* or XLOUDNET_* variables that could point clients elsewhere."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "XLOUDNET_"))}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving() -> Iterator[str]:
    """A fresh ``xloudnet serve`` on a free loopback port (password ``PASSWORD``); its root URL."""
    port = free_port()
    env = {**clean_env(), "XLOUDNET_PASSWORD": PASSWORD}
    proc = subprocess.Popen([sys.executable, "-m", "xloudnet.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/networking", timeout=1.0).status_code == 200:
                    break
            assert time.monotonic() < deadline, "xloudnet serve did not answer"
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
