"""Killing a Ray process in the middle of its work, for the fault checks of sharded runs."""
import os
import signal
import subprocess
import threading
import time


def ray_processes(name):
    """Pids of the Ray processes running `name` now (Ray names a worker after its task or actor class)."""
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split(None, 1)[0]) for line in ps.splitlines() if f"ray::{name}" in line]


def kill_first(name, after_seconds):
    """Start a thread that SIGKILLs the first process running `name`, `after_seconds` once one is seen.

    Returns (killed, stop): the pids killed (one at most) and an Event that ends the watch."""
    killed, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            pids = ray_processes(name)
            if pids:
                time.sleep(after_seconds)
                try:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                    return
                except ProcessLookupError:
                    continue
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    return killed, stop
