import os
import random
import socket
import time

# Ports handed out by free_port in this process: never the same one twice in a run.
_GIVEN: set[int] = set()


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port nothing listens on, for a server a test starts (gunicorn, SeaweedFS, Redis).

    Under pytest-xdist each pytest process (gw0, gw1, …) draws from a block of its own below the kernel's
    ephemeral range (gwN: 20000 + 1000·N, a thousand ports), so two processes never pick the same port
    between choosing it and their server binding it, and no outgoing connection takes it meanwhile. A
    serial run asks the kernel for a port, as before."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        while True:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _GIVEN:
                _GIVEN.add(port)
                return port
    start = 20000 + 1000 * int(worker.removeprefix("gw"))
    candidates = list(range(start, start + 1000))
    random.shuffle(candidates)  # another run on the same machine starts elsewhere in the block
    for port in candidates:
        if port not in _GIVEN and _bindable(port):
            _GIVEN.add(port)
            return port
    raise RuntimeError(f"no free port left in {start}-{start + 999}")


def wait_for_port(port: int, timeout: float = 30.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")
