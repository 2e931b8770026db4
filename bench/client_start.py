"""Start-up cost of the client: `import repl.api`, the first `SessionsClient`, and
`acajs-repl exec '1+1'` against a running `acajs-repl serve`, with `node -e` as
the anchor. Each figure is measured in fresh processes, checkouts interleaved
(ABAB) so load hits them alike.

    python bench/client_start.py --runs 9                      # this checkout
    python bench/client_start.py --runs 9 --repo ../old-checkout # and another one, interleaved

The serve used for `exec` is this checkout's, started here on a free port.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PROBE = r'''
import time
t0 = time.perf_counter()
import repl.api
t1 = time.perf_counter()
repl.api.SessionsClient("http://127.0.0.1:1/subscriptions/s/resourceGroups/r/sessionPools/p",
                        repl.api.StaticToken("t"), arm_base="http://127.0.0.1:1")
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000)
'''


def start_serve() -> tuple[subprocess.Popen[bytes], str, str, Path]:
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"client-start-serve-{os.getpid()}.log"
    out = log.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "repl", "serve", "--port", "0"], cwd=HERE, stdout=out,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        ep, tok = re.search(r"endpoint:\s*(\S+)", text), re.search(r"token:\s*(\S+)", text)
        if ep and tok:
            return proc, ep.group(1), tok.group(1), log
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"serve did not start: {log.read_text()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--repo", action="append", default=[], help="another checkout to measure, interleaved")
    args = ap.parse_args()
    repos = [HERE, *(Path(r).resolve() for r in args.repo)]
    proc, endpoint, token, log = start_serve()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACAJS_", "ACA_POOL_"))}
    env.update(ACAJS_ENDPOINT=endpoint, ACAJS_TOKEN=token)
    res: dict[str, dict[str, list[float]]] = {str(r): {"import": [], "client": [], "exec": []} for r in repos}
    node: list[float] = []
    try:
        for _ in range(args.runs):
            for repo in repos:
                renv = {**env, "PYTHONPATH": str(repo)}
                out = subprocess.run([sys.executable, "-c", PROBE], cwd=repo, env=renv, capture_output=True,
                                     text=True, check=True).stdout.split()
                res[str(repo)]["import"].append(float(out[0]))
                res[str(repo)]["client"].append(float(out[1]))
                t = time.perf_counter()
                p = subprocess.run([sys.executable, "-m", "repl", "exec", "1+1", "--session", "bench"], cwd=repo,
                                   env=renv, capture_output=True, text=True)
                res[str(repo)]["exec"].append((time.perf_counter() - t) * 1000)
                assert p.stdout == "2\n", (repo, p.stdout, p.stderr)
            if shutil.which("node"):
                t = time.perf_counter()
                subprocess.run(["node", "-e", "console.log(1+1)"], capture_output=True, check=True)
                node.append((time.perf_counter() - t) * 1000)
    finally:
        proc.terminate()
        proc.wait(15)
        log.unlink(missing_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f}, {args.runs} runs, medians (min)")
    anchor = statistics.median(node) if node else None
    if node:
        print(f"node -e 'console.log(1+1)'      {anchor:7.0f} ms ({min(node):.0f})")
    for repo, r in res.items():
        e = statistics.median(r["exec"])
        ratio = f" = {e / anchor:.1f}x node -e" if anchor else ""
        imp, cli = r["import"], r["client"]
        print(f"{repo}\n  import repl.api              {statistics.median(imp):7.0f} ms ({min(imp):.0f})"
              f"\n  first SessionsClient (http)  {statistics.median(cli):7.1f} ms ({min(cli):.1f})"
              f"\n  exec '1+1' against serve     {e:7.0f} ms ({min(r['exec']):.0f}){ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
