#!/usr/bin/env python3
"""tests/containers/dns.py - a tiny authoritative DNS server for the
container tests: answers A queries for the names given on the command
line (NAME=ADDR ...), NXDOMAIN for anything else, over UDP and TCP on
port 53. It runs in a container on the tests' internal egress network;
the sidecar's policy points its resolver here, so nothing is ever asked
of a real resolver."""
import socket
import socketserver
import struct
import sys
import threading

RECORDS = {}


def answer(query):
    if len(query) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    if qdcount != 1:
        return None
    pos, labels = 12, []
    while pos < len(query) and query[pos] != 0:
        n = query[pos]
        labels.append(query[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    question = query[12:pos + 5]
    qtype = struct.unpack("!H", query[pos + 1:pos + 3])[0]
    name = ".".join(labels).lower()
    rd = flags & 0x0100
    addr = RECORDS.get(name)
    if addr is None:
        return struct.pack("!HHHHHH", qid, 0x8403 | rd, 1, 0, 0, 0) + question
    if qtype != 1:
        return struct.pack("!HHHHHH", qid, 0x8400 | rd, 1, 0, 0, 0) + question
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(addr)
    return struct.pack("!HHHHHH", qid, 0x8400 | rd, 1, 1, 0, 0) + question + rr


class UDP(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        reply = answer(data)
        if reply:
            sock.sendto(reply, self.client_address)


class TCP(socketserver.BaseRequestHandler):
    def handle(self):
        head = self.request.recv(2)
        if len(head) < 2:
            return
        data = self.request.recv(struct.unpack("!H", head)[0])
        reply = answer(data)
        if reply:
            self.request.sendall(struct.pack("!H", len(reply)) + reply)


def main():
    for arg in sys.argv[1:]:
        name, addr = arg.split("=", 1)
        RECORDS[name.lower()] = addr
    socketserver.ThreadingUDPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    udp = socketserver.ThreadingUDPServer(("0.0.0.0", 53), UDP)
    tcp = socketserver.ThreadingTCPServer(("0.0.0.0", 53), TCP)
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    print("dns: serving", RECORDS, flush=True)
    udp.serve_forever()


if __name__ == "__main__":
    main()
