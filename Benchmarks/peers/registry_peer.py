"""What registry-vs-etcd and registry-scale share: ports, processes, CPU time, wrk, and the
servers they start (redis-server, `shoal serve`, a one-member etcd on /dev/shm)."""
import base64
import os
import re
import socket
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cpu, argv):
    return ["taskset", "-c", str(cpu)] + argv


def wait_for_port(port, process, what, log):
    for _ in range(1000):
        if process.poll() is not None:
            log.seek(0)
            said = log.read().strip()[-2000:]
            sys.exit(f"{what} exited with {process.returncode}" + (f":\n{said}" if said else ""))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"{what} did not start")


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def redis_used_memory(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "memory"], capture_output=True, text=True).stdout
    return int(re.search(r"used_memory:(\d+)", out).group(1))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def b64(text):
    return base64.b64encode(text.encode()).decode()


def run_wrk(port, script, seconds, connections=16, scheme="http"):
    out = subprocess.run(
        pinned(1, ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script,
                   f"{scheme}://127.0.0.1:{port}"]), capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {"requests": requests, "rate": rate, "bad": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else None,
            "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None}


def build_shoal():
    """Builds the release `shoal` and returns its path."""
    print("building shoal (release)…", file=sys.stderr)
    subprocess.run(["swift", "build", "-c", "release", "--product", "shoal"], cwd=root, check=True,
                   capture_output=True)
    return os.path.join(root, ".build", "release", "shoal")


class Processes:
    """Child processes started for a run, each waited for on its port and stopped at the end."""

    def __init__(self, work):
        self.work = work
        self.started = []

    def start(self, argv, port, what):
        log = open(os.path.join(self.work, f"{len(self.started)}.log"), "w+")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        wait_for_port(port, process, what, log)
        return process

    def redis(self, cpu=1):
        """A redis-server without persistence; returns (process, port)."""
        port = free_port()
        process = self.start(pinned(cpu, ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                          "--appendonly", "no", "--dir", self.work, "--logfile", ""]),
                             port, "redis-server")
        return process, port

    def etcd(self, data_dir, cpu=0):
        """A one-member etcd with its data in `data_dir`; returns (process, client port)."""
        port, peer = free_port(), free_port()
        process = self.start(pinned(cpu, ["etcd", "--data-dir", data_dir, "--log-level", "error",
                                          "--listen-client-urls", f"http://127.0.0.1:{port}",
                                          "--advertise-client-urls", f"http://127.0.0.1:{port}",
                                          "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                                          "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                                          "--initial-cluster", f"default=http://127.0.0.1:{peer}"]), port, "etcd")
        return process, port

    def serve(self, shoal, cpu, what, *more):
        """`shoal serve` with its gateway on a free port of its own; returns (process, admin port)."""
        port = free_port()
        process = self.start(pinned(cpu, [shoal, "serve", "--admin", f"127.0.0.1:{port}", "--listen",
                                          f"127.0.0.1:{free_port()}", *more]), port, what)
        return process, port

    def stop(self):
        for process in self.started:
            process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
