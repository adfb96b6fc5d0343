# Reads a dronetel recording with the official Python `mcap` reader and
# `mcap-protobuf-support`, decoding every message through the schema the
# file embeds (no generated code), and prints one JSON object per message
# of the channels the test compares.
import json
import sys

from mcap.reader import make_reader
from mcap_protobuf.decoder import DecoderFactory


def ns(ts):
    return ts.seconds * 1_000_000_000 + ts.nanos


with open(sys.argv[1], "rb") as f:
    reader = make_reader(f, decoder_factories=[DecoderFactory()])
    for schema, channel, message, m in reader.iter_decoded_messages():
        out = {"topic": channel.topic, "schema": schema.name, "log_time": message.log_time}
        if schema.name == "foxglove.LocationFix":
            out.update(
                time=ns(m.timestamp), frame_id=m.frame_id, lat=m.latitude, lon=m.longitude,
                alt=m.altitude, cov=list(m.position_covariance),
                cov_type=m.position_covariance_type,
            )
        elif schema.name == "foxglove.Log":
            out.update(time=ns(m.timestamp), level=m.level, message=m.message, name=m.name)
        elif schema.name == "foxglove.SceneUpdate":
            out.update(
                entities=[
                    {"id": e.id, "frame_id": e.frame_id, "text": e.texts[0].text if e.texts else ""}
                    for e in m.entities
                ],
                deletions=len(m.deletions),
            )
        elif schema.name == "dronetel.v1.Frame":
            out.update(seq=m.seq, sensor=m.sensor, received=ns(m.received_at))
            body = m.WhichOneof("body")
            out["body"] = body
            if body == "gps":
                g = m.gps
                out.update(
                    time=ns(g.time) if g.HasField("time") else None,
                    lat=g.latitude_deg if g.HasField("latitude_deg") else None,
                    lon=g.longitude_deg if g.HasField("longitude_deg") else None,
                    hae=g.altitude_hae_m if g.HasField("altitude_hae_m") else None,
                    msl=g.altitude_msl_m if g.HasField("altitude_msl_m") else None,
                    sep=g.geoid_separation_m if g.HasField("geoid_separation_m") else None,
                    herr=g.horizontal_error_m if g.HasField("horizontal_error_m") else None,
                    verr=g.vertical_error_m if g.HasField("vertical_error_m") else None,
                    hdop=g.hdop if g.HasField("hdop") else None,
                    vdop=g.vdop if g.HasField("vdop") else None,
                )
            elif body == "health":
                out.update(state=m.health.state)
            elif body == "tracking":
                out.update(objects=len(m.tracking.objects))
        print(json.dumps(out))
