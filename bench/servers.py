"""`twin serve` as a child process, for the system tests (crash-test.py, two-nodes.py)."""
import os, signal, socket, subprocess, time, urllib.request

# The benchmarks' accounts: sealed keyrings at the cheapest scrypt cost allowed.
os.environ.setdefault("TWIN_PASSPHRASE", "twin-bench-passphrase")
os.environ.setdefault("TWIN_KEYRING_SCRYPT_N", "16384")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`twin serve ARGS --port PORT`, started and stopped on demand; `args` is a list or a function
    returning one, so a restart may change them."""

    def __init__(self, twin, args, log, name="server"):
        self.twin, self.args, self.log, self.name = twin, args, log, name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self, extra=()):
        args = self.args() if callable(self.args) else self.args
        self.process = subprocess.Popen([self.twin, "serve", *args, "--port", str(self.port), "--log-level", "error", *extra],
                                        stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return
            except Exception:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start")
                time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not answer within 60 s")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
