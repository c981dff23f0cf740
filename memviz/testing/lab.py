"""A JupyterLab server on 127.0.0.1 for headless checks: the browser tests and the front-end benchmarks.

    with lab.running(folder, env={"MEMVIZ_SMOKE": "1"}) as (url, token):
        page.goto(f"{url}/lab/tree/notebook.ipynb?token={token}")

A free port, a random token, its own ``JUPYTER_CONFIG_DIR`` inside ``folder`` (no user settings leak in),
the log in ``folder/server.log``; stopped on leaving the block. Not for readers: they start JupyterLab as usual.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free when asked (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(folder: Path, *, env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[tuple[str, str]]:
    """JupyterLab serving ``folder``: yields ``(base_url, token)``; ``env`` is added to this process's environment.

    Raises ``RuntimeError`` with the end of the server's log if it exits or does not listen within ``timeout`` s.
    """
    folder = Path(folder)
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run cells and wait for the kernel from a script
        "--LabApp.news_url=None",
    ] + (["--allow-root"] if os.geteuid() == 0 else [])
    environment = dict(os.environ, JUPYTER_CONFIG_DIR=str(folder / "config"), **(env or {}))
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"JupyterLab exited:\n{log_path.read_text()[-3000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"JupyterLab did not listen within {timeout:.0f} s") from None
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}", token
        finally:
            server.terminate()
            server.wait(20)
