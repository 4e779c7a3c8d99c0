"""Run Airflow for docclean on this machine, on 127.0.0.1 only: `make airflow-up` / `airflow-down`.

    python scripts/airflow_local.py up      # db migrate, then scheduler, dag-processor, api-server
    python scripts/airflow_local.py down    # stop them, by the PIDs `up` recorded
    python scripts/airflow_local.py env     # the environment, as `export` lines for a shell

Every component gets the same environment (`airflow_env`): AIRFLOW_HOME (default `.airflow/` in
the repository), the repository's `dags/`, the virtualenv's `bin` first on PATH (Airflow starts
`airflow` subprocesses by name), the API on 127.0.0.1, and no log server: the scheduler and the
dag-processor run with `--skip-serve-logs`, since on one machine the API server reads task logs
from the files themselves (Airflow's log servers would listen on every interface).

Each component runs in its own process group, its output in `$AIRFLOW_HOME/logs/<name>.log`;
`up` records the PIDs in `$AIRFLOW_HOME/docclean-pids.json` and returns once the API server
reports the scheduler and the dag-processor healthy. `down` stops those process groups (SIGTERM,
then SIGKILL after a grace period) and nothing else: a PID is signalled only while its command
line is still an `airflow` one. The test suite starts and stops the same way (tests/dags).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIDS = "docclean-pids.json"
# The long-running components of a one-machine Airflow 3 (no triggerer: no DAG defers).
COMPONENTS = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "api-server": ["api-server"],
}
STOP_GRACE_SECONDS = 20.0   # Airflow's components finish their heartbeat and exit in ~5 s


def airflow_env(home: Path, port: int = 8080, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every Airflow component and CLI call of this deployment shares."""
    env = dict(os.environ if base is None else base)
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)   # a test runner's setting, never a deployment's
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    url = f"http://127.0.0.1:{port}"
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        # 2 cores: more parallel task processes only queue on the CPU (notes/airflow.md)
        "AIRFLOW__CORE__PARALLELISM": env.get("AIRFLOW__CORE__PARALLELISM", "4"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": env.get("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "30"),
    })
    env.setdefault("DOCCLEAN_INBOX", str(REPO / "inbox"))
    env.setdefault("DOCCLEAN_ARCHIVE", str(REPO / "archive-airflow"))
    return env


def airflow(env: Mapping[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """One `airflow` CLI call in this deployment's environment; raises when it fails."""
    proc = subprocess.run(["airflow", *args], env=dict(env), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-2000:]}"
                           f"{proc.stderr[-2000:]}")
    return proc


def up(home: Path, port: int = 8080, base: Mapping[str, str] | None = None,
       timeout: float = 240) -> dict[str, int]:
    """Migrate the DB, start every component, wait until they are healthy; the PIDs."""
    home.mkdir(parents=True, exist_ok=True)
    pid_file = home / PIDS
    if pid_file.exists() and any(_ours(pid) for pid in json.loads(pid_file.read_text()).values()):
        raise RuntimeError(f"Airflow already runs from {home} (PIDs in {pid_file}); stop it with `down`")
    if not _port_free(port):
        raise RuntimeError(f"port {port} on 127.0.0.1 is taken; choose another with --port")
    env = airflow_env(home, port, base)
    Path(env["DOCCLEAN_INBOX"]).mkdir(parents=True, exist_ok=True)
    airflow(env, "db", "migrate", timeout=300)
    (home / "logs").mkdir(exist_ok=True)
    pids: dict[str, int] = {}
    try:
        for name, args in COMPONENTS.items():
            with open(home / "logs" / f"{name}.log", "ab") as log:
                proc = subprocess.Popen(["airflow", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            pids[name] = proc.pid
            pid_file.write_text(json.dumps(pids))
        wait_healthy(port, pids, timeout)
    except BaseException:
        down(home)
        raise
    return pids


def wait_healthy(port: int, pids: Mapping[str, int], timeout: float) -> None:
    """Until /api/v2/monitor/health says the DB, scheduler and dag-processor are healthy."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        for name, pid in pids.items():
            if not _ours(pid):
                raise RuntimeError(f"airflow {name} (pid {pid}) exited during start-up; see its log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5) as r:
                health = json.load(r)
            states = {part: (health.get(part) or {}).get("status")
                      for part in ("metadatabase", "scheduler", "dag_processor")}
            if all(s == "healthy" for s in states.values()):
                return
            last = str(states)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(1)
    raise TimeoutError(f"Airflow not healthy after {timeout:.0f} s: {last}")


def down(home: Path) -> list[str]:
    """Stop the process groups `up` started; what was stopped."""
    pid_file = home / PIDS
    if not pid_file.exists():
        return []
    pids: dict[str, int] = json.loads(pid_file.read_text())
    live = {name: pid for name, pid in pids.items() if _ours(pid)}
    for pid in live.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in live.values()):
        time.sleep(0.2)
    for pid in live.values():
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
    pid_file.unlink()
    return sorted(live)


def _ours(pid: int) -> bool:
    """The PID is alive and still an airflow process (not a reused PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"airflow" in cmdline


def _group_alive(pgid: int) -> bool:
    try:   # when `up` ran in this process, its components are our children: reap, or they stay zombies
        os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["up", "down", "env"])
    p.add_argument("--home", type=Path, default=Path(os.environ.get("AIRFLOW_HOME", REPO / ".airflow")),
                   help="AIRFLOW_HOME (default: $AIRFLOW_HOME, else .airflow/ in the repository)")
    p.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW__API__PORT", "8080")),
                   help="API server and UI port on 127.0.0.1 (default 8080)")
    args = p.parse_args(argv)
    home = args.home.resolve()
    if args.command == "env":
        env = airflow_env(home, args.port)
        for key in sorted(k for k in env if k.startswith(("AIRFLOW", "DOCCLEAN")) or k == "PATH"):
            print(f"export {key}={shlex.quote(env[key])}")
        return 0
    if args.command == "down":
        stopped = down(home)
        print(f"stopped: {', '.join(stopped)}" if stopped else f"nothing of ours runs from {home}")
        return 0
    started = time.monotonic()
    try:
        pids = up(home, args.port)
    except (RuntimeError, TimeoutError, subprocess.TimeoutExpired) as exc:
        print(f"airflow-up: {exc}", file=sys.stderr)
        return 1
    password = home / "simple_auth_manager_passwords.json.generated"
    print(f"Airflow is up in {time.monotonic() - started:.0f} s from {home}: "
          + ", ".join(f"{n} (pid {pid})" for n, pid in pids.items()))
    print(f"UI: http://127.0.0.1:{args.port}  (user admin; password in {password})")
    print(f"logs: {home / 'logs'}; stop with `make airflow-down`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
