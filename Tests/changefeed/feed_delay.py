# Measures, against a running `meridian dev`, the change feed's delay from apply to event:
# an SSE subscriber in each region, one write every 100 ms in us-east (table feedprobe).
import json, subprocess, sys, threading, time, urllib.request
data = sys.argv[1]; count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
token = open(f"{data}/token").read().strip()
cluster = json.load(open(f"{data}/cluster.json"))
apis = {r["name"]: "http://" + r["api"] for r in cluster["regions"]}
def req(method, url, body=None):
    r = urllib.request.Request(url, method=method, data=body.encode() if body else None, headers={"Authorization": f"Bearer {token}"})
    return urllib.request.urlopen(r).read()
req("PUT", apis["us-east"] + "/v1/tables/feedprobe", '{"conflict": "lww"}')
time.sleep(1)
delays = {r: [] for r in apis}; end_to_end = {r: [] for r in apis}; sent = {}
def follow(region):
    p = subprocess.Popen(["curl", "-sN", "-H", "Accept: text/event-stream", "-H", f"Authorization: Bearer {token}", apis[region] + "/v1/tables/feedprobe/changes"], stdout=subprocess.PIPE)
    for line in p.stdout:
        if line.startswith(b"data: ") and b'"kind"' in line:
            now = time.time() * 1000; change = json.loads(line[6:])
            delays[region].append(now - change["applied_at_ms"])
            if change["key"] in sent: end_to_end[region].append(now - sent[change["key"]])
            if len(delays[region]) >= count: p.kill(); return
threads = [threading.Thread(target=follow, args=(r,)) for r in apis]
for t in threads: t.start()
time.sleep(1)
for i in range(count):
    key = f"k{i}"; sent[key] = time.time() * 1000
    req("PUT", apis["us-east"] + f"/v1/tables/feedprobe/items/{key}", '{"n": %d}' % i)
    time.sleep(0.1)
for t in threads: t.join(30)
def pct(xs, q): xs = sorted(xs); return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))] if xs else float("nan")
for r in apis:
    print(f"{r}: apply->event p50 {pct(delays[r], .5):.1f} ms p99 {pct(delays[r], .99):.1f} ms; write sent in us-east -> event here p50 {pct(end_to_end[r], .5):.1f} ms p99 {pct(end_to_end[r], .99):.1f} ms (n={len(delays[r])})")
