#!/usr/bin/env python3
"""A loopback TCP relay to a radosgw that loses the response to the first
CompleteMultipartUpload (POST KEY?uploadId=...): the request reaches the
server, which completes the upload, and once its answer is in, the relay
closes the client's connection without passing the answer on. The client sees
a dropped connection and sends the completion again; the relay answers that
repeat itself with 404 NoSuchUpload, as a store does once the completed
upload's record is gone (AWS S3; Ceph RGW 19 was seen to answer 200 to a
repeat that comes at once).

Usage: s3_relay.py UPSTREAM_PORT LISTEN_PORT LOG
Writes "listening" to LOG once it accepts connections, and "dropped the
response to POST ..." when it did. Everything else passes through unchanged.
"""
import select
import socket
import sys
import threading
import time

UPSTREAM = ("127.0.0.1", int(sys.argv[1]))
LISTEN = ("127.0.0.1", int(sys.argv[2]))
LOG = sys.argv[3]
# How long the relay waits for the server's answer to the completion it drops.
ANSWER_DEADLINE = 60

dropped = threading.Event()  # only the first completion loses its answer
log_lock = threading.Lock()


def log(line):
    with log_lock, open(LOG, "a") as out:
        out.write(line + "\n")


def is_completion(head):
    method, target = head.split(b" ", 2)[:2]
    return method == b"POST" and b"uploadId=" in target


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def answer_is_whole(answer):
    return any(end in answer for end in (b"</CompleteMultipartUploadResult>", b"</Error>"))


class Connection:
    """One client connection and its own connection to the server. The
    client's bytes are cut into requests (head, then Content-Length bytes of
    body: the client sends no chunked bodies) so that the completion is seen;
    the server's bytes pass through, except the completion's answer."""

    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.pending = b""  # the client's bytes not yet passed on
        self.body_left = 0  # bytes of the current request's body still to pass on
        self.dropping_since = None  # when the completion went to the server
        self.answer = b""
        self.request_line = b""
        self.swallow = False  # the current request's body goes nowhere (the relay answered it)

    def from_client(self, data):
        self.pending += data
        while self.pending:
            if self.body_left > 0:
                take = self.pending[: self.body_left]
                if not self.swallow:
                    self.upstream.sendall(take)
                self.pending = self.pending[len(take):]
                self.body_left -= len(take)
                continue
            end = self.pending.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.pending[: end + 4]
            self.pending = self.pending[end + 4:]
            self.body_left = content_length(head)
            self.swallow = dropped.is_set() and self.dropping_since is None and is_completion(head)
            if self.swallow:
                body = b"<Error><Code>NoSuchUpload</Code><Message>repeat refused by the relay</Message></Error>"
                self.client.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: " +
                                    str(len(body)).encode() + b"\r\n\r\n" + body)
                log("answered the repeat " + head.split(b"\r\n", 1)[0].decode(errors="replace") + " with 404")
                continue
            if self.dropping_since is None and not dropped.is_set() and is_completion(head):
                dropped.set()
                self.dropping_since = time.monotonic()
                self.request_line = head.split(b"\r\n", 1)[0]
            self.upstream.sendall(head)

    def from_server(self, data):
        """False once the dropped answer is whole."""
        if self.dropping_since is None:
            self.client.sendall(data)
            return True
        self.answer += data
        return not answer_is_whole(self.answer)

    def run(self):
        try:
            while True:
                if self.dropping_since is not None and time.monotonic() - self.dropping_since > ANSWER_DEADLINE:
                    break
                ready, _, _ = select.select([self.client, self.upstream], [], [], 1.0)
                if self.upstream in ready:
                    data = self.upstream.recv(65536)
                    if not data or not self.from_server(data):
                        break
                if self.client in ready:
                    data = self.client.recv(65536)
                    if not data:
                        break
                    self.from_client(data)
        except OSError:
            pass
        if self.dropping_since is not None:
            status = self.answer.split(b"\r\n", 1)[0]
            log("dropped the response to " + self.request_line.decode(errors="replace") + " (" +
                (status.decode(errors="replace") or "no answer") + ")")
        self.client.close()
        self.upstream.close()


def serve(client):
    try:
        upstream = socket.create_connection(UPSTREAM, timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    Connection(client, upstream).run()


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(LISTEN)
    listener.listen(16)
    log("listening")
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


main()
