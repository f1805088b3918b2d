#!/usr/bin/python3
"""aio_gateway.py - a bench-only Discord double served by asyncio/aiohttp.

`make bench BENCH_ONLY=burst-aio` (tests/bench/bench_live.c) runs the daemon
against this server instead of the C double (tests/fakediscord): a Python
websocket server writes each message with its own small send, as most
Discord-like servers and proxies do, where the C double batches.  It serves
only what the daemon needs to come up on loopback:

  GET  /api/v10/gateway/bot, /api/v10/users/@me, /api/v10/applications/@me
  GET  /gateway/...          the websocket: HELLO, IDENTIFY -> READY with one
                             guild, GUILD_CREATE, heartbeat ACKs, zlib-stream
                             when the query asks for it
  POST /_control/guilds/{id}/burst {"count":N}
                             GUILD_MEMBER_REMOVE for members first..first+N-1
                             as fast as the event loop sends them
  GET  /_control/burst       {"stamps_us":[...]}: CLOCK_MONOTONIC (the clock
                             the daemon's commit trace uses) after each send

Usage: aio_gateway.py --port-file FILE [--guild ID] [--first-member ID]
       [--members N] [--token T]   (extra arguments are ignored)
"""
import argparse
import asyncio
import json
import os
import signal
import time
import zlib

from aiohttp import WSMsgType, web

BOT_ID = "900000000000000001"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--guild", default="1000000000000000001")
    p.add_argument("--first-member", type=int, default=2000000000000000000)
    p.add_argument("--members", type=int, default=10000)
    p.add_argument("--token", default="test-token")
    args, _ = p.parse_known_args()
    return args


class Session:
    """One gateway connection: sequence numbers and the zlib-stream context."""

    def __init__(self, ws, zlib_stream):
        self.ws = ws
        self.seq = 0
        self.z = zlib.compressobj() if zlib_stream else None

    async def send(self, payload):
        text = json.dumps(payload, separators=(",", ":"))
        if self.z:
            await self.ws.send_bytes(self.z.compress(text.encode()) + self.z.flush(zlib.Z_SYNC_FLUSH))
        else:
            await self.ws.send_str(text)

    async def dispatch(self, t, d):
        self.seq += 1
        await self.send({"op": 0, "s": self.seq, "t": t, "d": d})


class Double:
    def __init__(self, args):
        self.args = args
        self.port = 0
        self.sessions = []
        self.stamps = []
        self.next_member = args.first_member
        self.burst_task = None

    def authorized(self, request):
        return request.headers.get("Authorization") == "Bot " + self.args.token

    def bot_user(self):
        return {"id": BOT_ID, "username": "bench-bot", "discriminator": "0", "bot": True}

    async def gateway_bot(self, request):
        if not self.authorized(request):
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response({
            "url": "ws://127.0.0.1:%d/gateway" % self.port, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 86400000,
                                    "max_concurrency": 1}})

    async def users_me(self, request):
        return web.json_response(self.bot_user())

    async def application(self, request):
        return web.json_response({"id": BOT_ID, "name": "bench-bot", "bot": self.bot_user(), "flags": 0,
                                  "owner": {"id": "900000000000000002", "username": "owner",
                                            "discriminator": "0"}, "team": None})

    def guild_create(self):
        return {"id": self.args.guild, "name": "Bench", "owner_id": "900000000000000002",
                "roles": [{"id": self.args.guild, "name": "@everyone", "permissions": "0", "position": 0}],
                "joined_at": "2024-01-01T00:00:00.000000+00:00", "large": True, "unavailable": False,
                "member_count": self.args.members + 1,
                "members": [{"user": self.bot_user(), "roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00"}],
                "channels": [{"id": "1000000000000000002", "type": 0, "name": "general", "position": 0,
                              "permission_overwrites": []}],
                "voice_states": [], "presences": [], "threads": []}

    async def on_payload(self, s, msg):
        op = msg.get("op")
        if op == 1:
            await s.send({"op": 11, "d": None})
        elif op == 2:
            await s.dispatch("READY", {
                "v": 10, "user": self.bot_user(), "guilds": [{"id": self.args.guild, "unavailable": True}],
                "session_id": "aio-session-%d" % len(self.sessions),
                "resume_gateway_url": "ws://127.0.0.1:%d/gateway" % self.port,
                "application": {"id": BOT_ID, "flags": 0}})
            await s.dispatch("GUILD_CREATE", self.guild_create())
        elif op == 6:
            await s.send({"op": 9, "d": False})     # no resume here: identify anew

    async def gateway(self, request):
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        s = Session(ws, request.query.get("compress") == "zlib-stream")
        self.sessions.append(s)
        await s.send({"op": 10, "d": {"heartbeat_interval": 41250}})
        async for m in ws:
            if m.type == WSMsgType.TEXT:
                try:
                    await self.on_payload(s, json.loads(m.data))
                except (ValueError, AttributeError):
                    await ws.close(code=4002)
        self.sessions.remove(s)
        return ws

    async def burst(self, request, count):
        self.stamps = []
        live = [s for s in self.sessions if not s.ws.closed]
        for _ in range(count):
            uid = self.next_member
            self.next_member += 1
            d = {"guild_id": self.args.guild,
                 "user": {"id": str(uid), "username": "user%d" % uid, "discriminator": "0"}}
            for s in live:
                await s.dispatch("GUILD_MEMBER_REMOVE", d)
            self.stamps.append(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    async def control_burst(self, request):
        body = await request.json()
        count = int(body.get("count", -1))
        if count < 0 or self.next_member + count > self.args.first_member + self.args.members:
            return web.json_response({"message": "burst needs count within the members left"}, status=400)
        # Answer at once; the sends run on the loop like a live server's.
        self.burst_task = asyncio.get_running_loop().create_task(self.burst(request, count))
        return web.json_response({"ok": True, "removed": count})

    async def control_stamps(self, request):
        if self.burst_task:
            await self.burst_task
        return web.json_response({"ok": True, "stamps_us": self.stamps})


async def main():
    args = parse_args()
    dbl = Double(args)
    app = web.Application()
    app.router.add_get("/api/v10/gateway/bot", dbl.gateway_bot)
    app.router.add_get("/api/v10/users/@me", dbl.users_me)
    app.router.add_get("/api/v10/applications/@me", dbl.application)
    app.router.add_get("/gateway{tail:.*}", dbl.gateway)
    app.router.add_post("/_control/guilds/{id}/burst", dbl.control_burst)
    app.router.add_get("/_control/burst", dbl.control_stamps)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    dbl.port = site._server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % dbl.port)
    os.rename(args.port_file + ".tmp", args.port_file)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
