#!/usr/bin/python3
"""console_client.py - a WebSocket client of the serial console (issue 16),
for console_serial.sh. Debian's python3-websockets (asyncio API, 10.x).

  console_client.py session URL MARK     Enter, the prompt, `echo MARK`
                                         and its output line, then 200
                                         keystrokes timed to their echo:
                                         prints "p50_ms P p99_ms Q"
  console_client.py refused URL          prints the HTTP status refusing it
  console_client.py until_close URL [KEEP]  waits for the close: prints the
                                         close code and the text messages;
                                         with KEEP, a Ctrl-U every KEEP s
                                         (not idle)
  console_client.py virsh URI DOMAIN     the 200 keystrokes through
                                         `virsh console`, for comparison
Exit 0 when the mode's checks hold, else 1 with why on stderr.
"""
import asyncio
import os
import pty
import re
import select
import statistics
import subprocess
import sys
import time

import websockets

PROMPT = b"sw-console# "


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def figures(lat):
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return "p50_ms %.2f p99_ms %.2f" % (statistics.median(lat), p99)


class Ws:
    def __init__(self, ws):
        self.ws, self.buf = ws, b""

    async def send(self, data):
        await self.ws.send(data)

    async def until(self, pattern, secs):
        """Reads until pattern (a regex over bytes) matches what came since
        the last match; returns the match."""
        end = time.monotonic() + secs
        while True:
            m = re.search(pattern, self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                fail("no %r within %d s; got %r" % (pattern, secs, self.buf[-300:]))
            msg = await asyncio.wait_for(self.ws.recv(), left)
            self.buf += msg if isinstance(msg, bytes) else msg.encode()


async def keystrokes(send, until):
    """200 keystrokes, each timed from its send to its echo; a line of 40 at
    most, then Enter and the prompt (not timed). The letters are none of the
    prompt's nor of a terminal escape's, so only their echo matches."""
    lat = []
    for i in range(200):
        c = b"xyzqvjkufg"[i % 10:i % 10 + 1]  # none in the prompt or in escapes
        t = time.monotonic()
        await send(c)
        await until(re.escape(c), 10)
        lat.append((time.monotonic() - t) * 1000)
        if i % 40 == 39:
            await send(b"\r")  # "sh: ...: not found", the prompt
            await until(re.escape(PROMPT), 10)
    return lat


async def session(url, mark):
    async with websockets.connect(url, open_timeout=10) as raw:
        ws = Ws(raw)
        await ws.send(b"\r")
        await ws.until(re.escape(PROMPT), 20)
        await ws.send(("echo %s\r" % mark).encode())
        await ws.until(rb"\n" + re.escape(mark.encode()) + rb"\r?\n", 10)
        await ws.until(re.escape(PROMPT), 10)
        print(figures(await keystrokes(ws.send, ws.until)))


async def refused(url):
    try:
        async with websockets.connect(url, open_timeout=10):
            fail("the WebSocket opened")
    except websockets.exceptions.InvalidStatusCode as e:
        print(e.status_code)


async def until_close(url, keep):
    texts = []
    async with websockets.connect(url, open_timeout=10) as ws:
        print("open", flush=True)
        try:
            while True:
                try:
                    msg = await asyncio.wait_for(ws.recv(), keep or 300)
                except asyncio.TimeoutError:
                    if not keep:
                        raise
                    await ws.send(b"\x15")  # kill the (empty) line
                    continue
                if isinstance(msg, str):
                    texts.append(msg.strip())
        except websockets.exceptions.ConnectionClosed as e:
            print("code %s reason %s" % (e.code, e.reason))
    print("\n".join(texts))


def virsh(uri, dom):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("virsh", ["virsh", "-c", uri, "console", "--force", dom])
    buf = [b""]

    def until(pattern, secs):
        end = time.monotonic() + secs
        while not re.search(pattern, buf[0]):
            if time.monotonic() > end:
                fail("virsh: no %r; got %r" % (pattern, buf[0][-300:]))
            if select.select([fd], [], [], 0.5)[0]:
                buf[0] += os.read(fd, 4096)
        buf[0] = buf[0][re.search(pattern, buf[0]).end():]

    async def asend(c):
        os.write(fd, c)

    async def auntil(p, s):
        until(p, s)

    try:
        until(rb"Escape character", 10)
        os.write(fd, b"\r")
        until(re.escape(PROMPT), 20)
        print(figures(asyncio.run(keystrokes(asend, auntil))))
    finally:
        os.write(fd, b"\x1d")
        os.waitpid(pid, 0)


def main():
    mode = sys.argv[1]
    if mode == "virsh":
        virsh(sys.argv[2], sys.argv[3])
    elif mode == "session":
        asyncio.run(session(sys.argv[2], sys.argv[3]))
    elif mode == "refused":
        asyncio.run(refused(sys.argv[2]))
    else:
        asyncio.run(until_close(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0))


main()
