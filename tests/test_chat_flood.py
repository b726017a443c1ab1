"""A chat socket cannot flood the hub: typing events are passed on at most once per visitor per interval, and every
frame counts against the socket's budget (refused with an error frame, then the socket is closed)."""
from __future__ import annotations

from aiohttp import WSMsgType

from tests.hubtest import agent_socket, hub_config, running_hub


async def test_typing_flood_reaches_agents_once(sqlite_url: str) -> None:
    cfg = hub_config(sqlite_url, rate_limits={"chat_typing_interval": 3600})
    async with running_hub(cfg) as h:
        chat = await h.chat()
        await chat.say("hello")
        ws = await agent_socket(h, await h.agent("a@example.com"))
        for _ in range(300):
            await chat.ws.send_json({"type": "typing"})
        await chat.ws.send_json({"type": "message", "client_id": "after", "text": "still here"})
        await chat.expect("ack", client_id="after")  # every typing frame before it has been handled
        typing = 0
        while True:  # the message's own events arrive after every typing event the flood produced
            ev = await ws.receive_json(timeout=5)
            if ev["type"] == "typing":
                typing += 1
            if ev["type"] == "message.created" and ev.get("message", {}).get("text") == "still here":
                break
        assert typing == 1


async def test_every_frame_counts_against_the_socket_budget(sqlite_url: str) -> None:
    cfg = hub_config(sqlite_url, rate_limits={"chat_frames_per_minute": 40})
    async with running_hub(cfg) as h:
        chat = await h.chat()  # the hello is frame 1
        for _ in range(39):
            await chat.ws.send_json({"type": "typing"})
        await chat.ws.send_json({"type": "message", "client_id": "over", "text": "one too many"})
        err = await chat.expect("error")
        assert err["code"] == "rate_limited"
        for _ in range(60):  # keeps going past another budget's worth: disconnected
            try:
                await chat.ws.send_str("not even json")
            except ConnectionResetError:
                break
        while True:
            msg = await chat.ws.receive(timeout=5)
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                break
            assert not (msg.type == WSMsgType.TEXT and '"ack"' in msg.data), msg.data
        assert chat.ws.close_code == 1008
        status, _ = await h.api("GET", "/healthz")
        assert status == 200
