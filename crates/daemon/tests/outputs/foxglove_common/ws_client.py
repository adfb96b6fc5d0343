# A second Foxglove WebSocket client, written against the published spec
# with Python's `websockets` and `protobuf` only: offers SUBPROTOCOL,
# subscribes to TOPIC once advertised, decodes its messages with a class
# built from the advertised schema alone, prints one JSON line each and
# exits after COUNT of them.
# Usage: python ws_client.py URL SUBPROTOCOL COUNT TOPIC
import asyncio
import base64
import json
import struct
import sys

import websockets
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


async def main(url, subprotocol, count, topic):
    async with websockets.connect(url, subprotocols=[subprotocol]) as ws:
        print(json.dumps({"event": "connected", "protocol": ws.subprotocol}), flush=True)
        decoders = {}
        got = 0
        while got < count:
            raw = await asyncio.wait_for(ws.recv(), 30)
            if isinstance(raw, str):
                m = json.loads(raw)
                if m["op"] != "advertise":
                    continue
                for ch in m["channels"]:
                    if ch["topic"] != topic:
                        continue
                    fds = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(ch["schema"]))
                    pool = descriptor_pool.DescriptorPool()
                    for f in fds.file:
                        pool.AddSerializedFile(f.SerializeToString())
                    desc = pool.FindMessageTypeByName(ch["schemaName"])
                    sub = len(decoders)
                    decoders[sub] = message_factory.GetMessageClass(desc)
                    await ws.send(json.dumps(
                        {"op": "subscribe", "subscriptions": [{"id": sub, "channelId": ch["id"]}]}))
            else:
                op, sub, receive = struct.unpack_from("<BIQ", raw)
                assert op == 1
                msg = decoders[sub].FromString(raw[13:])
                print(json.dumps({
                    "event": "message",
                    "time": msg.timestamp.seconds * 10**9 + msg.timestamp.nanos,
                    "lat": msg.latitude,
                    "lon": msg.longitude,
                    "frame_id": msg.frame_id,
                    "receive": receive,
                }), flush=True)
                got += 1


asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
