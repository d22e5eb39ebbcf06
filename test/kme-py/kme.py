#!/usr/bin/env python3
"""A minimal ETSI GS QKD 014 KME pair for the tests only, written from the specification
(ETSI GS QKD 014 V1.1.1, sections 5 and 6), not after qkey-kme-sim: it behaves the way KMEs
seen in the wild do, so qkey's etsi014 driver is tested against habits that are not its own:

  * answers are HTTP/1.0 with "Connection: close" (one request per connection);
  * error bodies are HTML pages, not ETSI JSON;
  * exhaustion is 400 "Number of keys requested exceeds the generated key count" (not 503);
  * an unknown SAE in the URL is answered 401 before the request body is read, and the
    connection is then reset (SO_LINGER 0), as a server that closes with unread data does;
  * the server certificates have no subjectAltName (CN only): see mkpki.sh;
  * status reports as stored_key_count every key ever generated, not the keys left, so a
    client cannot trust it to size its requests.

One process serves both KMEs (A for SAE_A, B for SAE_B) on two ports; they share the key pool,
standing in for the QKD link. The SAE is the client certificate's CN.

usage: kme.py --pki DIR --port-a N --port-b N [--keys N] [--key-bits N] [--log FILE]
SIGUSR1 adds 10 keys to the link (a satellite pass, for on_exhausted = wait). --log appends
"KME METHOD PATH VERSION" per request.
"""
import argparse
import signal
import base64
import http.server
import json
import os
import socket
import ssl
import struct
import threading
import uuid

EXHAUSTED = "Number of keys requested exceeds the generated key count"
SAES = {"A": "SAE_A", "B": "SAE_B"}


class Link:
    """The key pool both KMEs draw from: keys made for a master, waiting for the slave."""

    def __init__(self, n, bits):
        self.lock = threading.Lock()
        self.bits = bits
        self.fresh = [os.urandom(bits // 8) for _ in range(n)]
        self.generated = n
        self.pending = {}  # key_ID -> (key, master, slave)

    def enc(self, master, slave, number, bits):
        with self.lock:
            if bits != self.bits:
                return None, "size must be %d" % self.bits
            if number > len(self.fresh):
                return None, EXHAUSTED
            out = []
            for _ in range(number):
                kid = str(uuid.uuid4())
                key = self.fresh.pop()
                self.pending[kid] = (key, master, slave)
                out.append({"key_ID": kid, "key": base64.b64encode(key).decode()})
            return out, None

    def dec(self, master, slave, ids):
        with self.lock:
            for kid in ids:
                k = self.pending.get(kid)
                if k is None or k[1] != master or k[2] != slave:
                    return None, "key_ID %s unknown" % kid
            return [{"key_ID": kid, "key": base64.b64encode(self.pending.pop(kid)[0]).decode()}
                    for kid in ids], None


def html(code, text):
    return ("<!doctype html>\n<html lang=en>\n<title>%d</title>\n<h1>Error %d</h1>\n<p>%s</p>\n"
            % (code, code, text)).encode()


log = None
log_lock = threading.Lock()


def handler_for(kme, link):
    me = SAES[kme]

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # and Connection: close, one request per connection

        def log_message(self, fmt, *args):
            pass

        def client_sae(self):
            cert = self.connection.getpeercert()
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
            return None

        def send(self, code, body, ctype):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def error(self, code, text):
            self.send(code, html(code, text), "text/html; charset=utf-8")

        def reset(self):
            """Close with a TCP reset, as a server that did not read the request does."""
            try:
                self.wfile.flush()
                raw = self.connection
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_connection = True

        def route(self, method):
            if log is not None:
                with log_lock:
                    log.write("%s %s %s %s\n" % (kme, method, self.path, self.request_version))
                    log.flush()
            parts = self.path.split("?")[0].strip("/").split("/")
            sae = self.client_sae()
            if sae != me:
                self.error(401, "SAE %s is not served here" % sae)
                return self.reset()
            if len(parts) != 5 or parts[:3] != ["api", "v1", "keys"] or \
                    parts[4] not in ("status", "enc_keys", "dec_keys"):
                return self.error(404, "Not Found")
            other, op = parts[3], parts[4]
            if other not in SAES.values() or other == me:
                self.error(401, "Unknown SAE %s" % other)  # before reading any body
                return self.reset()
            body = {}
            if method == "POST":
                n = int(self.headers.get("Content-Length", "0") or 0)
                try:
                    body = json.loads(self.rfile.read(n) or b"{}")
                except ValueError:
                    return self.error(400, "Bad Request: body is not JSON")
            if op == "status":
                return self.send(200, json.dumps({
                    "source_KME_ID": "KME_" + kme, "target_KME_ID": "KME_" + ("B" if kme == "A" else "A"),
                    "master_SAE_ID": me, "slave_SAE_ID": other, "key_size": link.bits,
                    "stored_key_count": link.generated, "max_key_count": 100000,
                    "max_key_per_request": 128, "max_key_size": 1024, "min_key_size": 64,
                    "max_SAE_ID_count": 0}).encode(), "application/json")
            if op == "enc_keys":
                keys, err = link.enc(me, other, int(body.get("number", 1)),
                                     int(body.get("size", link.bits)))
            else:
                ids = [k.get("key_ID") for k in body.get("key_IDs", [])]
                keys, err = link.dec(other, me, ids)
            if err:
                return self.error(400, err)
            self.send(200, json.dumps({"keys": keys}).encode(), "application/json")

        def do_GET(self):
            self.route("GET")

        def do_POST(self):
            self.route("POST")

    return H


def serve(kme, port, pki, link):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(os.path.join(pki, "kme-%s.pem" % kme.lower()),
                        os.path.join(pki, "kme-%s.key" % kme.lower()))
    ctx.load_verify_locations(os.path.join(pki, "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler_for(kme, link))
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pki", required=True)
    ap.add_argument("--port-a", type=int, required=True)
    ap.add_argument("--port-b", type=int, required=True)
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--key-bits", type=int, default=256)
    ap.add_argument("--log")
    a = ap.parse_args()
    global log
    if a.log:
        log = open(a.log, "a")
    link = Link(a.keys, a.key_bits)

    def refill(signum, frame):
        with link.lock:
            link.fresh += [os.urandom(link.bits // 8) for _ in range(10)]
            link.generated += 10
    signal.signal(signal.SIGUSR1, refill)
    serve("A", a.port_a, a.pki, link)
    serve("B", a.port_b, a.pki, link)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
