#!/usr/bin/env python3
"""Runs the rendered ingress config in a real nginx against stub upstreams on loopback and
checks the behaviour the services and clients depend on: the path table, /back stripping
(except /back/ws/), WebSocket upgrades, JSON 404/502 bodies, X-Forwarded-For set by the
edge, and no query string in any log. The test topology (TEST_TOPOLOGY=on, the loopback
cluster) also pins replicas by header and by ?replica= and names the replica that answered
in X-CarInfo-Upstream; the production render must do neither.

Needs only the standard library and an nginx binary (NGINX env var or PATH).
Usage: smoke_test.py  (exit status 0 when every check passes)
"""

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "s3cr3t-query-value"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def stub(reader, writer, name):
    """Echoes what it received as JSON; answers WebSocket handshakes with 101 and echoes."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    key, value = line.split(":", 1)
                    headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body_in = await reader.readexactly(length) if length else b""
            if headers.get("upgrade", "").lower() == "websocket":
                writer.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nX-Stub: " + name.encode() + b"\r\n\r\n"
                )
                await writer.drain()
                while data := await reader.read(1024):
                    writer.write(data)
                    await writer.drain()
                break
            body = json.dumps(
                {"stub": name, "method": method, "target": target, "headers": headers,
                 "body": body_in.decode("latin-1")}
            ).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def start_stubs(ports: dict) -> None:
    loop = asyncio.new_event_loop()

    async def serve():
        for name, port in ports.items():
            await asyncio.start_server(
                lambda r, w, n=name: stub(r, w, n), "127.0.0.1", port
            )

    loop.run_until_complete(serve())
    threading.Thread(target=loop.run_forever, daemon=True).start()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(base, path, method="GET", headers=None, data=None):
    req = urllib.request.Request(base + path, method=method, headers=headers or {}, data=data)
    try:
        with OPENER.open(req, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def websocket(port, path, headers=()):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        lines = [
            f"GET {path} HTTP/1.1", "Host: carinfo.test", "Upgrade: websocket",
            "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13", *headers,
        ]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        status = head.split(b"\r\n", 1)[0].decode()
        response_headers = {}
        for line in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
            key, _, value = line.decode("latin-1").partition(":")
            response_headers[key.strip().lower()] = value.strip()
        echoed = b""
        if " 101 " in status:
            s.sendall(b"frame-bytes")
            echoed = s.recv(100)
        return status, response_headers, echoed


def main() -> int:
    nginx = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    ports = {"accounts": free_port(), "a": free_port(), "b": free_port(), "notifier": free_port()}
    dead_port = free_port()  # nothing listens here: the 502 path
    listen = free_port()
    base = f"http://127.0.0.1:{listen}"

    work = tempfile.mkdtemp(prefix="carinfo-nginx-smoke-")
    # When run as root, nginx workers run as nobody and must be able to read these.
    os.chmod(work, 0o755)
    web = os.path.join(work, "web")
    os.makedirs(os.path.join(web, "static"))
    for rel, text in {"visitor.html": "<p>visitor</p>", "app.html": "<p>app</p>",
                      "static/site.css": "body{}"}.items():
        with open(os.path.join(web, rel), "w") as f:
            f.write(text)

    def render(runtime, gateway_b, test_topology):
        os.makedirs(os.path.join(runtime, "logs"), exist_ok=True)
        os.makedirs(os.path.join(runtime, "tmp"), exist_ok=True)
        subprocess.run(
            [os.path.join(HERE, "render.sh"), os.path.join(runtime, "nginx.conf"),
             f"LISTEN_PORT=127.0.0.1:{listen}",
             f"ACCOUNTS_UPSTREAM=127.0.0.1:{ports['accounts']}",
             f"GATEWAY_A_UPSTREAM=127.0.0.1:{ports['a']}",
             f"GATEWAY_B_UPSTREAM=127.0.0.1:{gateway_b}",
             f"NOTIFIER_UPSTREAM=127.0.0.1:{ports['notifier']}",
             f"WEB_ROOT={web}", f"RUNTIME_DIR={runtime}",
             f"TEST_TOPOLOGY={'on' if test_topology else 'off'}"],
            check=True)

    start_stubs(ports)
    failures = []
    checks = 0

    def check(name, condition, detail=""):
        nonlocal checks
        checks += 1
        if not condition:
            failures.append(f"{name}: {detail}")

    def run_nginx(runtime):
        conf = os.path.join(runtime, "nginx.conf")
        err = os.path.join(runtime, "logs", "error.log")
        proc = subprocess.Popen([nginx, "-p", runtime, "-c", conf, "-e", err, "-g", "daemon off;"])
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=0.2).close()
                return proc
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"nginx exited with {proc.returncode}")
                time.sleep(0.1)
        proc.kill()
        raise RuntimeError("nginx did not start listening")

    def stop(proc):
        proc.terminate()
        proc.wait(timeout=10)

    runtime = os.path.join(work, "run")
    render(runtime, ports["b"], test_topology=True)
    proc = run_nginx(runtime)
    try:
        # accounts-api paths, with and without /back, with and without the trailing slash
        for path in ["/api/user/register/", "/api/login/", "/api/token/refresh/", "/api/profile/",
                     "/api/users/", "/user/7d1c/", "/api/stickers/7d1c/", "/api/schema/",
                     "/api/docs/", "/api/redoc/", "/api/asyncapi/",
                     "/api/login", "/api/profile", "/api/users", "/api/asyncapi"]:
            for prefix in ["", "/back"]:
                status, _, body = request(base, prefix + path + f"?q={SECRET}")
                seen = json.loads(body) if status == 200 else {}
                check(f"{prefix}{path} reaches accounts-api", seen.get("stub") == "accounts",
                      f"{status} {body[:120]!r}")
                check(f"{prefix}{path} arrives as {path} with its query",
                      seen.get("target") == f"{path}?q={SECRET}", seen.get("target"))

        # the notifier, with and without /back; DELETE keeps its body
        for path in ["/api/push/vapid-key/", "/api/push/subscriptions/"]:
            for prefix in ["", "/back"]:
                status, _, body = request(base, prefix + path)
                seen = json.loads(body) if status == 200 else {}
                check(f"{prefix}{path} reaches the notifier", seen.get("stub") == "notifier",
                      f"{status} {body[:120]!r}")
                check(f"{prefix}{path} arrives as {path}", seen.get("target") == path,
                      seen.get("target"))
        status, _, body = request(base, "/back/api/push/subscriptions/", method="DELETE",
                                  headers={"Content-Type": "application/json"},
                                  data=b'{"endpoint": "https://push.example/x"}')
        seen = json.loads(body) if status == 200 else {}
        check("DELETE through /back keeps method and body",
              seen.get("method") == "DELETE" and "push.example" in seen.get("body", ""),
              f"{status} {body[:160]!r}")

        status, _, body = request(base, "/back/api/login/", method="POST",
                                  headers={"Content-Type": "application/json"},
                                  data=b'{"phone_number": "+998901234567"}')
        seen = json.loads(body) if status == 200 else {}
        check("POST through /back keeps method and body",
              seen.get("method") == "POST" and "+998901234567" in seen.get("body", ""),
              f"{status} {body[:160]!r}")

        # the edge sets the client address; a client-sent X-Forwarded-For must not survive
        status, _, body = request(base, "/api/login/", headers={"X-Forwarded-For": "203.0.113.9",
                                                                "Host": "carinfo.test:8080"})
        seen = json.loads(body).get("headers", {})
        check("X-Forwarded-For is the peer address", seen.get("x-forwarded-for") == "127.0.0.1",
              seen.get("x-forwarded-for"))
        check("X-Real-IP is passed", seen.get("x-real-ip") == "127.0.0.1", seen.get("x-real-ip"))
        check("Host is passed as sent", seen.get("host") == "carinfo.test:8080", seen.get("host"))

        # chat-gateway: balanced over both replicas, pinned by header
        replicas = set()
        for _ in range(6):
            status, _, body = request(base, "/api/chat/rooms/")
            replicas.add(json.loads(body).get("stub") if status == 200 else status)
        check("unpinned gateway traffic reaches both replicas", replicas == {"a", "b"}, replicas)
        for pin in ["a", "b"]:
            for path in ["/api/chat/start/", "/back/api/chat/start/"]:
                status, _, body = request(base, path, headers={"X-CarInfo-Replica": pin})
                seen = json.loads(body) if status == 200 else {}
                check(f"X-CarInfo-Replica: {pin} pins {path}", seen.get("stub") == pin,
                      f"{status} {body[:120]!r}")
                check(f"{path} arrives without /back", seen.get("target") == "/api/chat/start/",
                      seen.get("target"))

        # WebSocket: upgrade passes, /back/ws/ is kept, ?replica= wins over the header
        for path in [f"/ws/chat/r1/?visitor={SECRET}", f"/back/ws/chat/r1/?token={SECRET}"]:
            status, _, echoed = websocket(listen, path)
            check(f"WebSocket upgrade on {path.split('?')[0]}", " 101 " in status and echoed == b"frame-bytes",
                  f"{status} {echoed!r}")
        status, _, body = request(base, "/back/ws/chat/r1/", headers={"X-CarInfo-Replica": "a"})
        check("/back/ws/ reaches the gateway unchanged",
              status == 200 and json.loads(body).get("target") == "/back/ws/chat/r1/", body[:120])
        for pin in ["a", "b"]:
            _, seen, _ = websocket(listen, f"/ws/chat/r1/?visitor={SECRET}&replica={pin}")
            check(f"?replica={pin} pins the socket", seen.get("x-stub") == pin, seen)
            # what the cluster test relies on to tell the two replicas apart
            check(f"the ?replica={pin} handshake names its upstream",
                  seen.get("x-carinfo-upstream") == f"127.0.0.1:{ports[pin]}", seen)
            _, seen, _ = websocket(listen, f"/back/ws/chat/r1/?token={SECRET}",
                                   headers=[f"X-CarInfo-Replica: {pin}"])
            check(f"X-CarInfo-Replica: {pin} pins the socket", seen.get("x-stub") == pin, seen)
            check(f"the /back/ws/ handshake pinned to {pin} names its upstream",
                  seen.get("x-carinfo-upstream") == f"127.0.0.1:{ports[pin]}", seen)
            status, headers, _ = request(base, "/api/chat/rooms/", headers={"X-CarInfo-Replica": pin})
            check(f"/api/chat/ pinned to {pin} names its upstream",
                  headers.get("X-CarInfo-Upstream") == f"127.0.0.1:{ports[pin]}",
                  f"{status} {headers.get('X-CarInfo-Upstream')}")
        _, seen, _ = websocket(listen, f"/ws/chat/r1/?visitor={SECRET}&replica=a",
                               headers=["X-CarInfo-Replica: b"])
        check("?replica= wins over the header", seen.get("x-stub") == "a", seen)
        status, headers, _ = request(base, "/api/login/")
        check("accounts-api responses do not name an upstream",
              headers.get("X-CarInfo-Upstream") is None, headers.get("X-CarInfo-Upstream"))
        # the socket's own headers are set in its location; they must not be lost there
        status, _, body = request(base, "/ws/chat/r1/?replica=b",
                                  headers={"X-Forwarded-For": "203.0.113.9"})
        seen = json.loads(body).get("headers", {}) if status == 200 else {}
        check("WebSocket paths pass X-Forwarded-For and X-Real-IP",
              seen.get("x-forwarded-for") == "127.0.0.1" and seen.get("x-real-ip") == "127.0.0.1",
              seen)

        # static web client
        for path, text in [("/u/0b7e2a8e-7c61-4c55-9a4c-9d3c8f6f1a11", b"visitor"),
                           ("/app/", b"app"), ("/app/rooms/123", b"app"),
                           ("/static/site.css", b"body{}")]:
            status, _, body = request(base, path)
            check(f"{path} serves the web client", status == 200 and text in body, f"{status} {body[:80]!r}")

        # JSON 404 for anything else, whatever the extension says
        for path in ["/", "/nope", "/back/", "/metrics", "/readyz", "/static/missing.js", "/api/unknown/"]:
            status, headers, body = request(base, path)
            check(f"{path} is a JSON 404",
                  status == 404 and headers.get("Content-Type", "").startswith("application/json")
                  and json.loads(body) == {"detail": "Not found."}, f"{status} {headers.get('Content-Type')} {body[:80]!r}")
        status, _, body = request(base, "/healthz")
        check("the ingress answers its own /healthz", status == 200, status)
    finally:
        stop(proc)

    # An upstream that is down: JSON 502 naming no internals, status kept.
    # The production render: the same routes, but no client chooses its replica and no
    # response names one.
    runtime_production = os.path.join(work, "run-production")
    render(runtime_production, ports["b"], test_topology=False)
    proc = run_nginx(runtime_production)
    try:
        # Every request asks for replica a; both must still get traffic.
        replicas, named = set(), set()
        for _ in range(8):
            status, headers, body = request(base, "/back/api/chat/rooms/?visitor=v1",
                                            headers={"X-CarInfo-Replica": "a"})
            seen = json.loads(body) if status == 200 else {}
            replicas.add(seen.get("stub", status))
            named.add(headers.get("X-CarInfo-Upstream"))
            check("production: /back/api/chat/ arrives without /back, query kept",
                  seen.get("target") == "/api/chat/rooms/?visitor=v1", seen.get("target"))
        check("production: X-CarInfo-Replica does not pin", replicas == {"a", "b"}, replicas)
        check("production: responses do not name an upstream", named == {None}, named)
        replicas, named = set(), set()
        for _ in range(4):
            for path in [f"/ws/chat/r1/?visitor={SECRET}&replica=a",
                         f"/back/ws/chat/r1/?token={SECRET}&replica=a"]:
                status, seen, echoed = websocket(listen, path, headers=["X-CarInfo-Replica: a"])
                check(f"production: WebSocket upgrade on {path.split('?')[0]}",
                      " 101 " in status and echoed == b"frame-bytes", f"{status} {echoed!r}")
                replicas.add(seen.get("x-stub"))
                named.add(seen.get("x-carinfo-upstream"))
        check("production: ?replica= does not pin a socket", replicas == {"a", "b"}, replicas)
        check("production: handshakes do not name an upstream", named == {None}, named)
        status, _, body = request(base, "/back/ws/chat/r1/?visitor=v1")
        check("production: /back/ws/ reaches the gateway unchanged, query kept",
              status == 200 and json.loads(body).get("target") == "/back/ws/chat/r1/?visitor=v1",
              body[:120])
    finally:
        stop(proc)
    with open(os.path.join(runtime_production, "nginx.conf")) as f:
        lines = f.read().lower().splitlines()
    directives = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    for needle in [r"x-carinfo-replica", r"x_carinfo_replica", r"\$arg_replica\b",
                   r"x-carinfo-upstream", r"\bgateway_[ab]\b"]:
        check(f"production: the rendered config has no {needle!r}",
              not re.search(needle, directives))
    check("production: no render directive is left",
          not any(line.lstrip().startswith("#@") for line in lines))

    runtime_down = os.path.join(work, "run-down")
    render(runtime_down, dead_port, test_topology=True)
    proc = run_nginx(runtime_down)
    try:
        status, headers, body = request(base, f"/api/chat/rooms/x.css?visitor={SECRET}",
                                        headers={"X-CarInfo-Replica": "b"})
        check("a dead upstream is a JSON 502",
              status == 502 and headers.get("Content-Type", "").startswith("application/json")
              and json.loads(body) == {"detail": "Service temporarily unavailable, try again later."},
              f"{status} {headers.get('Content-Type')} {body[:120]!r}")
        status, _, _ = request(base, "/api/chat/rooms/")
        check("balanced traffic fails over to the live replica", status == 200, status)
    finally:
        stop(proc)

    for run in (runtime, runtime_production, runtime_down):
        for log in ("access.log", "error.log"):
            path = os.path.join(run, "logs", log)
            text = open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else ""
            check(f"{os.path.basename(run)}/{log} holds no query string", SECRET not in text,
                  "secret found in log")
    access = open(os.path.join(runtime, "logs", "access.log")).read()
    check("the access log records requests", "/api/login/" in access, access[:200])

    shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"nginx smoke test: {checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
