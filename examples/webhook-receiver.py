#!/usr/bin/env python3
"""A webhook receiver that checks the gateway's signatures.

Every POST must carry `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body,
secret)>`; verified events are appended to a JSON-lines file (one
`{"delivery", "event"}` object per line, `event` being the parsed body) and answered 200, anything
else is answered 401 and not recorded. Redelivered ids (`X-Webhook-Delivery`)
are recorded once.

    WEBHOOK_SECRET=secret python3 examples/webhook-receiver.py 8099 events.jsonl
"""

import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("WEBHOOK_SECRET", "secret").encode()
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8099
OUT = sys.argv[2] if len(sys.argv) > 2 else "events.jsonl"
seen = set()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        given = self.headers.get("X-Hub-Signature-256", "")
        if not hmac.compare_digest(expected, given):
            self.send_response(401)
            self.end_headers()
            return
        delivery = self.headers.get("X-Webhook-Delivery", "")
        if delivery not in seen:
            seen.add(delivery)
            record = {"delivery": delivery, "event": json.loads(body)}
            with open(OUT, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    print(f"listening on 127.0.0.1:{PORT}, writing {OUT}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", PORT), Receiver).serve_forever()
