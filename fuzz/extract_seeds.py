#!/usr/bin/env python3
"""Writes seed inputs for the harnesses into fuzz/corpus/<harness>/seed-*, from the recorded Pebble
transcripts (tests/fixtures/pebble-transcripts) and the examples. Run from anywhere; rerunning
rewrites the seed-* files only (inputs found by fuzzing, named otherwise, are kept).

The input format of each harness is described at the top of its .cpp file."""
import hashlib
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "tests" / "fixtures" / "pebble-transcripts"
CORPUS = ROOT / "fuzz" / "corpus"
STATUSES = {  # the status tables of envelope.cpp and client_responses.cpp
    "envelope": [200, 202, 400, 401, 403, 404, 405, 500, 502, 504],
    "client_responses": [200, 202, 400, 404, 500, 502],
}


def exchanges(path):
    raw = path.read_bytes()
    if raw.startswith(b"### request\n"):
        raw = raw[len(b"### request\n"):]
    for piece in raw.split(b"\n### request\n"):
        req, _, resp = piece.partition(b"\n### response\n")
        yield req, resp


def split_http(msg):
    head, _, body = msg.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip()
    if headers.get("transfer-encoding") == b"chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        body = out
    return lines[0], headers, body


seeds = {}


def add(harness, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(harness, set()).add(data)


def status_byte(harness, status):
    table = STATUSES[harness]
    return bytes([table.index(status) if status in table else 0])


for path in sorted(TRANSCRIPTS.glob("*.http")):
    for req, resp in exchanges(path):
        if not req:
            continue
        add("server_request", req)
        start, headers, body = split_http(req)
        if body:
            try:
                j = json.loads(body)
            except ValueError:
                j = None
            if isinstance(j, dict) and isinstance(j.get("layer"), str):
                add("layer", j["layer"])
            if isinstance(j, dict) and isinstance(j.get("command"), list):
                add("shlex", "\0".join(j["command"]))
            if b"multipart" in headers.get("content-type", b""):
                add("multipart", headers["content-type"] + b"\n" + body)
        if not resp:
            continue
        rstart, rheaders, rbody = split_http(resp)
        parts = rstart.split(b" ")
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            continue
        ctype = rheaders.get("content-type", b"")
        if b"multipart" in ctype:
            add("multipart", ctype + b"\n" + rbody)
        if status != 101:
            add("client_responses", status_byte("client_responses", status) + ctype + b"\n" + rbody)
        if b"json" in ctype:
            add("envelope", status_byte("envelope", status) + rbody)
            try:
                env = json.loads(rbody)
            except ValueError:
                env = None
            result = env.get("result") if isinstance(env, dict) else None
            if isinstance(result, str) and start.startswith(b"GET /v1/plan"):
                add("plan", result)
            if isinstance(result, (dict, list)):
                add("exec_notice", json.dumps(result, separators=(",", ":")))
                items = result if isinstance(result, list) else [result]
                for it in items:
                    if isinstance(it, dict):
                        for t in it.get("tasks", []) or []:
                            if isinstance(t, dict) and "data" in t:
                                add("exec_notice", json.dumps(it, separators=(",", ":")))
        elif start.startswith(b"GET /v1/logs") or b"/v1/logs" in start:
            add("exec_notice", rbody)

for name in ("config.yaml",):
    p = ROOT / "examples" / name
    if p.exists():
        add("config", p.read_bytes())
for name in ("peer.yaml",):
    p = ROOT / "examples" / name
    if p.exists():
        add("peer_data", p.read_bytes())
p = ROOT / "examples" / "plan.yaml"
if p.exists():
    add("plan", p.read_bytes())
    add("layer", p.read_bytes())

# Small hand-written seeds for what the transcripts do not carry.
add("config", "port: 6380\nenable-tls: true\nstorage-path: /srv/redis\nbind-address: \"::1\"\n")
add("config", "secrets: command-line\nuser: redis\ngroup: redis\nservice-name: redis\n")
add("peer_data", "admin-password: s3cret\ncurrent-master: redis-0.redis-endpoints\nhostname: redis-0.redis-endpoints\n")
for d in ["0", "1ns", "1.5h", "-2m3.5s", "300ms", "1h2m3s4ms5us6ns", "9223372036854775807ns", "-9223372036854775808ns",
          ".5s", "1µs", "1us"]:
    add("go_duration", d)
for w in ["redis-server", "--requirepass\0p a s s", "it's", "a\"b\\c", "", "[ --port 6379 ]", "#x", "\xff"]:
    add("shlex", w)
add("shlex", "redis-server /etc/redis.conf [ --port 6379 ]")
add("multipart", "multipart/form-data; boundary=b\n--b\r\nContent-Disposition: form-data; name=\"files\"; "
                 "filename=\"/a\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n--b--\r\n")

# Write: seed-<sha1 prefix>; remove old seed-* files first.
for harness, datas in seeds.items():
    d = CORPUS / harness
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    for data in sorted(datas):
        (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)
    print(f"{harness}: {len(datas)} seeds")
