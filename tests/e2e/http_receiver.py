"""A loopback HTTP receiver for the notification tests.

python3 http_receiver.py LOG PORTFILE: listens on 127.0.0.1 (a free port,
written to PORTFILE), appends one JSON line per request to LOG (method, path,
headers, body), and answers by the path's first segment:
  /fail500/...  500, every time
  /flaky/...    500 the first time a path is seen, then 200
  anything else 200 "OK"
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path, port_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()
seen = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        with lock:
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            first = self.path not in seen
            seen.add(self.path)
        status = 200
        if self.path.startswith("/fail500/"):
            status = 500
        elif self.path.startswith("/flaky/") and first:
            status = 500
        answer = b"OK" if status == 200 else b"server error"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_HEAD = handle_any

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402

os.rename(port_file + ".tmp", port_file)
server.serve_forever()
