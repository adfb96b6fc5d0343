#![allow(clippy::unwrap_used)]

use bytes::BytesMut;
use dronetel_proto::v1::{BatteryChargeState, BatterySource, FixMode};
use mavlink::{MavHeader, MavlinkVersion};
use tokio_util::codec::Decoder;

use super::common::*;
use super::{encode, MavlinkDecoder, MavlinkOptions, RateRequest};
use crate::{Reading, SensorDecoder};

fn header(seq: u8) -> MavHeader {
    MavHeader {
        system_id: 1,
        component_id: 1,
        sequence: seq,
    }
}

fn heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(HEARTBEAT_DATA {
        custom_mode: 0,
        mavtype: MavType::MAV_TYPE_QUADROTOR,
        autopilot: MavAutopilot::MAV_AUTOPILOT_PX4,
        base_mode: MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED,
        system_status: MavState::MAV_STATE_ACTIVE,
        mavlink_version: 3,
    })
}

fn sys_status(mv: u16) -> MavMessage {
    MavMessage::SYS_STATUS(SYS_STATUS_DATA {
        voltage_battery: mv,
        current_battery: 1234,
        battery_remaining: -1,
        ..SYS_STATUS_DATA::default()
    })
}

fn battery(cells: usize) -> MavMessage {
    let mut voltages = [u16::MAX; 10];
    let mut voltages_ext = [0u16; 4];
    for i in 0..cells {
        if i < 10 {
            voltages[i] = 4000 + i as u16;
        } else {
            voltages_ext[i - 10] = 4000 + i as u16;
        }
    }
    MavMessage::BATTERY_STATUS(BATTERY_STATUS_DATA {
        id: 2,
        voltages,
        voltages_ext,
        current_battery: -1,
        current_consumed: 1500,
        energy_consumed: 720,
        temperature: i16::MAX,
        battery_remaining: 63,
        time_remaining: 0,
        charge_state: MavBatteryChargeState::MAV_BATTERY_CHARGE_STATE_LOW,
        ..BATTERY_STATUS_DATA::default()
    })
}

fn gps_raw() -> MavMessage {
    MavMessage::GPS_RAW_INT(GPS_RAW_INT_DATA {
        time_usec: 1_700_000_000_200_000,
        lat: 473_977_420,
        lon: 85_455_940,
        alt: 488_123,
        eph: 90,
        epv: u16::MAX,
        vel: 1234,
        cog: u16::MAX,
        fix_type: GpsFixType::GPS_FIX_TYPE_3D_FIX,
        satellites_visible: 14,
        ..GPS_RAW_INT_DATA::default()
    })
}

fn attitude() -> MavMessage {
    MavMessage::ATTITUDE(ATTITUDE_DATA::default())
}

/// Frames of a v1/v2 mix: (bytes, message) for each.
fn stream() -> Vec<(Vec<u8>, MavMessage)> {
    let msgs = [
        heartbeat(),
        sys_status(15_800),
        battery(12),
        gps_raw(),
        attitude(),
        battery(4),
    ];
    msgs.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let v = if i % 2 == 0 {
                MavlinkVersion::V2
            } else {
                MavlinkVersion::V1
            };
            let mut out = Vec::new();
            encode::frame(v, header(i as u8), &m, &mut out);
            (out, m)
        })
        .collect()
}

fn decode_chunked(bytes: &[u8], chunk: usize, d: &mut MavlinkDecoder) -> Vec<Reading> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in bytes.chunks(chunk) {
        buf.extend_from_slice(c);
        while let Some(r) = d.decode(&mut buf).unwrap() {
            out.push(r);
        }
        assert!(buf.is_empty(), "the decoder takes every byte it is given");
    }
    out
}

#[test]
fn every_chunk_size_gives_the_same_readings_with_junk_and_a_v1_v2_mix() {
    let frames = stream();
    let mut bytes = b"junk\xfe\x03\x00junk".to_vec();
    for (f, _) in &frames {
        bytes.extend_from_slice(f);
    }
    bytes.extend_from_slice(b"\xfd\xfd tail junk");
    let mut whole = MavlinkDecoder::default();
    let reference = decode_chunked(&bytes, bytes.len(), &mut whole);
    // heartbeat, sys_status, battery, gps, battery; attitude is unused.
    assert_eq!(reference.len(), 5);
    eprintln!(
        "{} bytes (6 frames, v1/v2, junk), chunk sizes 1..={0}, stats {:?}",
        bytes.len(),
        whole.stats()
    );
    for chunk in 1..=bytes.len() {
        let mut d = MavlinkDecoder::default();
        assert_eq!(
            decode_chunked(&bytes, chunk, &mut d),
            reference,
            "chunk {chunk}"
        );
        let s = d.stats();
        assert_eq!((s.messages_ok, s.unknown_messages), (5, 1), "chunk {chunk}");
        // Junk that looks like a header is a failed candidate, counted the
        // same way whatever the chunking.
        assert_eq!(s, whole.stats(), "chunk {chunk}");
        assert_eq!(s.bytes, bytes.len() as u64);
    }
}

#[test]
fn corrupted_crcs_are_counted_and_the_next_frame_decodes() {
    let frames = stream();
    let mut bytes = Vec::new();
    let mut corrupted = 0;
    for (i, (f, _)) in frames.iter().enumerate() {
        let mut f = f.clone();
        if i % 2 == 1 {
            // Precondition for an exact count: no marker byte inside the
            // frame that could start another candidate.
            if f[1..].iter().all(|b| *b != 0xfd && *b != 0xfe) {
                let last = f.len() - 1;
                f[last] ^= 0x55;
                corrupted += 1;
            }
        }
        bytes.extend_from_slice(&f);
    }
    assert!(corrupted >= 2, "test data must corrupt frames");
    for chunk in [1, 2, 3, 7, 64, bytes.len()] {
        let mut d = MavlinkDecoder::default();
        let got = decode_chunked(&bytes, chunk, &mut d);
        assert_eq!(d.stats().checksum_errors, corrupted, "chunk {chunk}");
        assert_eq!(
            got.len() as u64 + d.stats().unknown_messages + corrupted,
            frames.len() as u64
        );
    }
}

#[test]
fn truncated_frames_are_skipped_and_resync_finds_the_next() {
    let frames = stream();
    let mut bytes = Vec::new();
    for (f, _) in &frames {
        bytes.extend_from_slice(&f[..f.len() / 2]);
        bytes.extend_from_slice(f);
    }
    for chunk in [1, 5, 33, bytes.len()] {
        let mut d = MavlinkDecoder::default();
        let got = decode_chunked(&bytes, chunk, &mut d);
        assert_eq!(got.len(), 5, "chunk {chunk}");
        assert_eq!(d.stats().messages_ok, 5);
    }
}

#[test]
fn unknown_markers_become_absent_fields() {
    let bytes = stream()
        .into_iter()
        .flat_map(|(f, _)| f)
        .collect::<Vec<_>>();
    let got = decode_chunked(&bytes, bytes.len(), &mut MavlinkDecoder::default());
    let Reading::Vehicle(v) = &got[0] else {
        panic!("{got:?}")
    };
    assert!(v.armed);
    assert_eq!((v.system_id, v.autopilot, v.vehicle_type), (1, 12, 2));
    let Reading::Battery(s) = &got[1] else {
        panic!()
    };
    assert_eq!(s.source, BatterySource::SysStatus as i32);
    assert_eq!(
        (s.voltage_v, s.current_a, s.remaining_percent),
        (Some(15.8), Some(12.34), None)
    );
    let Reading::Battery(b) = &got[2] else {
        panic!()
    };
    assert_eq!(
        b.cell_voltages_v.len(),
        12,
        "ten cells plus two extension cells"
    );
    assert_eq!(b.cell_voltages_v[11], 4.011);
    assert_eq!(b.current_a, None);
    assert_eq!(b.temperature_c, None);
    assert_eq!(b.time_remaining_s, None);
    assert_eq!(b.consumed_mah, Some(1500.0));
    assert_eq!(b.consumed_wh, Some(20.0));
    assert_eq!(b.remaining_percent, Some(63.0));
    assert_eq!(b.charge_state, BatteryChargeState::Low as i32);
    assert_eq!(b.battery_id, 2);
    let Reading::Gps(g) = &got[3] else { panic!() };
    assert_eq!(g.mode, FixMode::FixMode3d as i32);
    assert_eq!(
        (g.latitude_deg, g.longitude_deg),
        (Some(47.397742), Some(8.545594))
    );
    assert_eq!((g.hdop, g.vdop, g.course_deg), (Some(0.9), None, None));
    assert_eq!(g.speed_mps, Some(12.34));
    assert_eq!(
        g.time.as_ref().map(|t| (t.seconds, t.nanos)),
        Some((1_700_000_000, 200_000_000))
    );
    let Reading::Battery(b4) = &got[4] else {
        panic!()
    };
    assert_eq!(b4.cell_voltages_v, vec![4.0, 4.001, 4.002, 4.003]);
    assert_eq!(b4.voltage_v, Some(16.006));
}

#[test]
fn rate_requests_go_out_after_the_first_autopilot_heartbeat_only_when_configured() {
    let mut hb = Vec::new();
    encode::frame(MavlinkVersion::V2, header(0), &heartbeat(), &mut hb);
    let mut ro = MavlinkDecoder::default();
    decode_chunked(&hb, hb.len(), &mut ro);
    assert_eq!(ro.take_output(), None, "read-only by default");

    let req = RateRequest {
        message_id: 147,
        interval: std::time::Duration::from_secs(1),
    };
    let mut d = MavlinkDecoder::new(MavlinkOptions {
        rate_requests: vec![req],
        ..Default::default()
    });
    decode_chunked(&hb, hb.len(), &mut d);
    let out = d.take_output().expect("request queued");
    decode_chunked(&hb, hb.len(), &mut d);
    assert_eq!(d.take_output(), None, "once per connection");
    // The request is a valid COMMAND_LONG for system 1.
    let mut back = mavlink::MavlinkReader::new(&out[..]);
    let (h, m): (MavHeader, MavMessage) = back.read_any_message().unwrap();
    assert_eq!((h.system_id, h.component_id), (255, 191));
    let MavMessage::COMMAND_LONG(c) = m else {
        panic!()
    };
    assert_eq!(c.command, MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL);
    assert_eq!(
        (c.target_system, c.param1, c.param2),
        (1, 147.0, 1_000_000.0)
    );
    d.on_open();
    decode_chunked(&hb, hb.len(), &mut d);
    assert!(d.take_output().is_some(), "again after a reopen");
}

#[test]
fn arbitrary_bytes_never_panic_and_are_all_consumed() {
    use proptest::prelude::*;
    proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..64)| {
        let mut d = MavlinkDecoder::default();
        let mut buf = BytesMut::new();
        for c in bytes.chunks(chunk) {
            buf.extend_from_slice(c);
            while d.decode(&mut buf).unwrap().is_some() {}
            prop_assert!(buf.is_empty());
        }
        prop_assert_eq!(d.stats().bytes, bytes.len() as u64);
    });
}

/// One v2 frame of `msg` from `system_id`, `component_id`.
fn from(system_id: u32, component_id: u8, msg: &MavMessage) -> Vec<u8> {
    let mut out = Vec::new();
    let h = MavHeader {
        system_id,
        component_id,
        sequence: 0,
    };
    encode::frame(MavlinkVersion::V2, h, msg, &mut out);
    out
}

/// A ground station's heartbeat (no autopilot), as MAVProxy sends.
fn gcs_heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(HEARTBEAT_DATA {
        mavtype: MavType::MAV_TYPE_GCS,
        autopilot: MavAutopilot::MAV_AUTOPILOT_INVALID,
        ..HEARTBEAT_DATA::default()
    })
}

fn foreign_gps() -> MavMessage {
    MavMessage::GPS_RAW_INT(GPS_RAW_INT_DATA {
        lat: 100_000_000,
        lon: 200_000_000,
        fix_type: GpsFixType::GPS_FIX_TYPE_3D_FIX,
        ..GPS_RAW_INT_DATA::default()
    })
}

#[test]
fn on_a_shared_link_only_the_autopilot_is_published() {
    let mut bytes = Vec::new();
    // Before the autopilot is heard: a GCS heartbeat (counted), and data
    // that could be the autopilot's (skipped, not counted).
    bytes.extend(from(255, 190, &gcs_heartbeat()));
    bytes.extend(from(1, 1, &gps_raw()));
    // The autopilot, then a camera of its system, the GCS again, and
    // another vehicle's position.
    bytes.extend(from(1, 1, &heartbeat()));
    bytes.extend(from(
        1,
        100,
        &MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            mavtype: MavType::MAV_TYPE_CAMERA,
            autopilot: MavAutopilot::MAV_AUTOPILOT_INVALID,
            ..HEARTBEAT_DATA::default()
        }),
    ));
    bytes.extend(from(255, 190, &gcs_heartbeat()));
    bytes.extend(from(7, 1, &heartbeat()));
    bytes.extend(from(7, 1, &foreign_gps()));
    bytes.extend(from(1, 1, &gps_raw()));
    let mut d = MavlinkDecoder::default();
    let out = decode_chunked(&bytes, 7, &mut d);
    let [Reading::Vehicle(v), Reading::Gps(g)] = out.as_slice() else {
        panic!("the autopilot's status and fix only: {out:?}")
    };
    assert_eq!((v.system_id, v.component_id), (1, 1));
    assert_eq!(g.latitude_deg, Some(47.397742));
    assert_eq!(d.stats().other_systems, 5, "{:?}", d.stats());
}

#[test]
fn a_pinned_system_is_published_before_its_heartbeat_and_no_other() {
    let opts = MavlinkOptions {
        system_id: Some(7),
        ..MavlinkOptions::default()
    };
    let mut d = MavlinkDecoder::new(opts);
    let mut bytes = from(1, 1, &heartbeat());
    bytes.extend(from(7, 1, &foreign_gps()));
    bytes.extend(from(7, 1, &heartbeat()));
    let out = decode_chunked(&bytes, 64, &mut d);
    assert!(
        matches!(out.as_slice(), [Reading::Gps(_), Reading::Vehicle(v)] if v.system_id == 7),
        "{out:?}"
    );
    assert_eq!(d.stats().other_systems, 1);
    // A new connection forgets the learned component, not the pinned system.
    d.on_open();
    let out = decode_chunked(&from(7, 1, &foreign_gps()), 64, &mut d);
    assert_eq!(out.len(), 1);
}

#[test]
fn after_a_reconnect_the_autopilot_counts_at_once_or_another_takes_over() {
    let mut d = MavlinkDecoder::default();
    decode_chunked(&from(1, 1, &heartbeat()), 64, &mut d);
    // A replug: the known autopilot's data is published before its next
    // heartbeat.
    d.on_open();
    let out = decode_chunked(&from(1, 1, &gps_raw()), 64, &mut d);
    assert!(matches!(out.as_slice(), [Reading::Gps(_)]), "{out:?}");
    // A reconnect that leads to another vehicle: its autopilot takes over
    // before the old one speaks again.
    d.on_open();
    let mut bytes = from(2, 1, &heartbeat());
    bytes.extend(from(1, 1, &gps_raw()));
    bytes.extend(from(2, 1, &foreign_gps()));
    let out = decode_chunked(&bytes, 64, &mut d);
    assert!(
        matches!(out.as_slice(), [Reading::Vehicle(v), Reading::Gps(g)]
            if v.system_id == 2 && g.latitude_deg == Some(10.0)),
        "{out:?}"
    );
    // Once heard, it keeps the link: a third autopilot is another system.
    let out = decode_chunked(&from(3, 1, &heartbeat()), 64, &mut d);
    assert!(out.is_empty(), "{out:?}");
}

/// `msg` from system 1, component 1, signed by `signer`.
fn signed(signer: &mut super::signing::Signer, msg: &MavMessage) -> Vec<u8> {
    let mut out = Vec::new();
    encode::signed_frame(header(0), msg, signer, &mut out);
    out
}

#[test]
fn with_a_key_only_fresh_valid_signatures_count_and_requests_are_signed() {
    use super::signing::{Signer, Verdict};
    use super::SigningKey;
    let key = SigningKey::from_passphrase("drone-42");
    let mut autopilot = Signer::new(key.clone());
    let mut stranger = Signer::new(SigningKey::from_passphrase("guess"));
    let opts = MavlinkOptions {
        signing: Some(key.clone()),
        rate_requests: MavlinkOptions::default_rate_requests(),
        ..MavlinkOptions::default()
    };
    let mut d = MavlinkDecoder::new(opts);
    let hb = signed(&mut autopilot, &heartbeat());
    let fix = signed(&mut autopilot, &gps_raw());
    let mut bytes = hb.clone();
    bytes.extend(&fix);
    // Injected: unsigned (v2 and v1), signed with another key, a replay.
    bytes.extend(from(1, 1, &foreign_gps()));
    let mut v1 = Vec::new();
    encode::frame(MavlinkVersion::V1, header(9), &foreign_gps(), &mut v1);
    bytes.extend(&v1);
    let mut forged = Vec::new();
    encode::signed_frame(header(3), &foreign_gps(), &mut stranger, &mut forged);
    bytes.extend(&forged);
    bytes.extend(&fix);
    let out = decode_chunked(&bytes, 5, &mut d);
    assert!(
        matches!(out.as_slice(), [Reading::Vehicle(_), Reading::Gps(g)] if g.latitude_deg == Some(47.397742)),
        "{out:?}"
    );
    let st = d.stats();
    assert_eq!((st.unsigned_messages, st.bad_signatures), (2, 2), "{st:?}");
    // The rate requests went out signed with the same key.
    let sent = d.take_output().expect("rate requests");
    let mut check = Signer::new(key);
    let mut r = mavlink::MavlinkReader::new(&sent[..]);
    let mut n = 0;
    while let Ok(raw) = r.read_any_raw_message::<MavMessage>() {
        assert_eq!(check.check(&raw), Verdict::Valid);
        n += 1;
    }
    assert_eq!(n, 4);
}

#[test]
fn a_signed_copy_of_a_v2_stream_reads_as_the_stream_with_the_key() {
    use super::encode::sign_stream;
    use super::SigningKey;
    let mut plain = Vec::new();
    for (i, m) in [heartbeat(), sys_status(15_800), gps_raw(), battery(4)]
        .iter()
        .enumerate()
    {
        encode::frame(MavlinkVersion::V2, header(i as u8), m, &mut plain);
    }
    // Junk and a MAVLink 1 frame are left out of the signed copy.
    let mut input = b"junk".to_vec();
    input.extend(&plain);
    encode::frame(MavlinkVersion::V1, header(9), &foreign_gps(), &mut input);
    let key = SigningKey::from_passphrase("drone-42");
    let signed = sign_stream(&key, &input);
    let want = decode_chunked(&plain, 7, &mut MavlinkDecoder::default());
    let mut d = MavlinkDecoder::new(MavlinkOptions {
        signing: Some(key),
        ..MavlinkOptions::default()
    });
    assert_eq!(decode_chunked(&signed, 7, &mut d), want);
    let st = d.stats();
    assert_eq!((st.unsigned_messages, st.bad_signatures), (0, 0), "{st:?}");
    assert_eq!(st.messages_ok, 4, "{st:?}");
}
