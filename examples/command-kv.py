#!/usr/bin/env python3
"""faultline `command` client adapter example: drives the built-in store through `faultline kv`.
Protocol: one invocation per line (JSON, the history's op shape) on stdin; one completion per
line on stdout: {"type": "ok"|"fail"|"info", "value": ..., "error": ..., "node": ...}."""
import json, os, subprocess, sys

FAULTLINE = os.environ.get("FAULTLINE_BIN", "faultline")
CLUSTER = os.environ["FAULTLINE_KV_CLUSTER"]  # n1=127.0.0.1:7001,n2=127.0.0.1:7002,...
for line in sys.stdin:
    op = json.loads(line)
    key, v, f = str(op.get("key") or "r"), op.get("value"), op["f"]
    args = (["get", key] if f == "read" else ["put", key, json.dumps(v)] if f == "write"
            else ["cas", key, json.dumps(v[0]), json.dumps(v[1])] if f == "cas" else None)
    if args is None:
        out = {"type": "fail", "error": "unknown op " + f}
    else:
        p = subprocess.run([FAULTLINE, "kv", "--cluster", CLUSTER, *args], capture_output=True, text=True)
        ans = json.loads(p.stdout) if p.stdout.strip() else {}
        if "ok" in ans:  # took effect; a read returns what it saw
            out = {"type": "ok", "value": ans["ok"] if f == "read" else v, "node": ans.get("node")}
        elif "fail" in ans:  # certainly did not take effect (e.g. compare did not match)
            out = {"type": "fail", "error": str(ans["fail"]), "node": ans.get("node")}
        else:  # no answer: the op may or may not have happened
            out = {"type": "info", "error": p.stderr.strip()[-200:]}
    print(json.dumps(out), flush=True)
