//! The simulated GPS speaking UBX (`--gps-protocol ubx|both`) over a real
//! pty: the daemon's u-blox decoder reproduces the same flight's truth,
//! faults hit UBX frames, and set-up requests are answered with ACK-ACK /
//! ACK-NAK (a request enabling NAV-PVT turns UBX on).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use crate::common::{Event, Reader, Scratch, DEADLINE};
use bytes::BytesMut;
use dronetel_proto::v1::GpsFix;
use dronetel_wire::ubx::setup::{self, ACK, ACK_ACK, ACK_NAK, CFG, CFG_MSG, CFG_VALSET};
use dronetel_wire::ubx::UbloxDecoder;
use dronetel_wire::{Reading, SensorDecoder};
use firmware_sim::{FaultRates, GpsProtocol, SimOptions, Simulator, Truth};

fn opts(dir: &Scratch, protocol: GpsProtocol) -> SimOptions {
    SimOptions {
        gps_rate_hz: 10.0,
        seed: 3,
        gps_protocol: protocol,
        ..SimOptions::new(&dir.0)
    }
}

fn ms(f: &GpsFix) -> i64 {
    let t = f.time.unwrap();
    t.seconds * 1000 + i64::from(t.nanos / 1_000_000)
}

/// Decodes the device with the daemon's u-blox decoder until `want` fixes
/// matched a truth of the same time (lat/lon 1e-7°, altitudes 1 mm, speed
/// 1 mm/s, satellites); returns the fixes and the decoder.
async fn matched_fixes(sim: &Simulator, want: usize) -> (Vec<GpsFix>, UbloxDecoder) {
    let gps = sim.gps().clone();
    let mut truths = gps.subscribe_truth();
    let mut reader = Reader::open(&gps.link());
    let mut decoder = UbloxDecoder::default();
    let mut buf = BytesMut::new();
    let mut fixes: Vec<GpsFix> = Vec::new();
    let mut pending: Vec<Truth> = Vec::new();
    let mut matched = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while matched.len() < want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "matched only {}",
            matched.len()
        );
        tokio::select! {
            t = truths.recv() => pending.push(t.unwrap()),
            e = reader.events.recv() => match e.unwrap() {
                Event::Bytes(b) => {
                    buf.extend_from_slice(&b);
                    let mut out = Vec::new();
                    decoder.decode_all(&mut buf, &mut out);
                    // A fix whose time a fault destroyed has no truth.
                    fixes.extend(
                        out.into_iter()
                            .filter_map(Reading::into_gps)
                            .filter(|f| f.time.is_some()),
                    );
                }
                Event::Ended(e) => panic!("device closed: {e:?}"),
            },
        }
        while let (Some(f), Some(t)) = (fixes.first(), pending.first()) {
            let (fm, tm) = (ms(f), ms(&t.fix));
            if fm < tm {
                fixes.remove(0);
            } else if fm > tm {
                pending.remove(0);
            } else {
                let (got, want) = (fixes.remove(0), pending.remove(0).fix);
                let near = |a: Option<f64>, b: Option<f64>, tol: f64| {
                    (a.unwrap() - b.unwrap()).abs() <= tol
                };
                assert!(near(got.latitude_deg, want.latitude_deg, 1e-7), "{got:?}");
                assert!(near(got.longitude_deg, want.longitude_deg, 1e-7), "{got:?}");
                assert!(
                    near(got.altitude_msl_m, want.altitude_msl_m, 1e-3),
                    "{got:?}"
                );
                assert!(
                    near(got.altitude_hae_m, want.altitude_hae_m, 1e-3),
                    "{got:?}"
                );
                assert!(near(got.speed_mps, want.speed_mps, 1e-3), "{got:?}");
                assert_eq!(got.satellites_used, want.satellites_used);
                assert_eq!(got.mode(), want.mode());
                matched.push(got);
            }
        }
    }
    (matched, decoder)
}

#[tokio::test]
async fn ubx_only_flies_the_same_flight() {
    let dir = Scratch::new("ubx-only");
    let sim = Simulator::start(opts(&dir, GpsProtocol::Ubx))
        .await
        .unwrap();
    let (fixes, decoder) = matched_fixes(&sim, 20).await;
    for f in &fixes {
        assert_eq!(f.cycle_end, "NAV-EOE");
        // What only UBX carries.
        assert!(f.velocity_north_mps.is_some() && f.horizontal_error_m.is_some());
        assert!(!f.sky.is_empty());
    }
    let st = decoder.stats();
    assert_eq!(
        st.checksum_errors + st.framing_errors + st.unknown_messages,
        0,
        "{st:?}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn both_protocols_merge_into_one_fix_per_epoch() {
    let dir = Scratch::new("ubx-both");
    let sim = Simulator::start(opts(&dir, GpsProtocol::Both))
        .await
        .unwrap();
    let (fixes, decoder) = matched_fixes(&sim, 20).await;
    let mut times: Vec<i64> = fixes.iter().map(ms).collect();
    times.dedup();
    assert_eq!(times.len(), fixes.len(), "one fix per epoch");
    for f in &fixes {
        assert_eq!(f.cycle_end, "NAV-EOE");
    }
    // NMEA fills in beside UBX once the NMEA decoder has learned the end
    // of its cycles (whole-second and sub-second ones apart): only the
    // first cycle of each kind is published by UBX alone.
    let merged = fixes.iter().filter(|f| f.talker == "GN").count();
    assert!(
        merged + 2 >= fixes.len(),
        "{merged} of {} merged",
        fixes.len()
    );
    let st = decoder.stats();
    // Ten NMEA sentences and four UBX frames (at least) per epoch.
    assert!(st.messages_ok > 14 * 20, "{st:?}");
    assert_eq!(st.checksum_errors + st.framing_errors, 0, "{st:?}");
    sim.stop().await;
}

#[tokio::test]
async fn faults_hit_ubx_frames() {
    let dir = Scratch::new("ubx-faults");
    let sim = Simulator::start(opts(&dir, GpsProtocol::Ubx))
        .await
        .unwrap();
    assert!(sim.gps().set_fault_rates(FaultRates {
        bit_flip: 0.2,
        ..FaultRates::default()
    }));
    // Untouched epochs still decode to their truth; flipped frames are
    // counted and skipped.
    let (_, decoder) = matched_fixes(&sim, 10).await;
    let injected = sim.gps().fault_stats();
    assert!(injected.bit_flips > 0, "{injected:?}");
    let st = decoder.stats();
    assert!(
        st.checksum_errors + st.framing_errors + st.decode_errors > 0,
        "{st:?}"
    );
    sim.stop().await;
}

/// Writes `bytes` to the device as the daemon would.
fn write_to(path: &std::path::Path, bytes: &[u8]) -> std::fs::File {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits())
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
    f
}

/// ACK frames (ack?, class, id of the acknowledged message) in what the
/// device sends until `n` were seen and a NAV-PVT came after them; fails
/// the test when that does not happen within [`DEADLINE`].
async fn answers_then_pvt(reader: &mut Reader, n: usize) -> Vec<(bool, u8, u8)> {
    let mut buf = Vec::new();
    let mut acks = Vec::new();
    let mut pvt_after = false;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while acks.len() < n || !pvt_after {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, reader.events.recv()).await {
            Ok(Some(Event::Bytes(b))) => buf.extend_from_slice(&b),
            other => {
                panic!("device gave {acks:?} (NAV-PVT after them: {pvt_after}) then {other:?}")
            }
        }
        for (class, id, payload) in setup::take_frames(&mut buf, 1 << 16) {
            match (class, id) {
                (ACK, ACK_ACK | ACK_NAK) => {
                    acks.push((id == ACK_ACK, payload[0], payload[1]));
                }
                (0x01, 0x07) if acks.len() >= n => pvt_after = true,
                _ => {}
            }
        }
    }
    acks
}

#[tokio::test]
async fn set_up_requests_are_answered_and_turn_ubx_on() {
    let dir = Scratch::new("ubx-setup");
    let sim = Simulator::start(opts(&dir, GpsProtocol::Nmea))
        .await
        .unwrap();
    let link = sim.gps().link();
    let mut reader = Reader::open(&link);
    let mut requests = setup::requests();
    // An unknown message (RXM-RAWX) and an unknown key are refused.
    setup::cfg_msg(&mut requests, 0x02, 0x15, 1);
    setup::cfg_valset(&mut requests, setup::LAYER_RAM, &[0x1234_5678], 1);
    let _w = write_to(&link, &requests);
    // NAV-PVT enabled: the receiver sends UBX after its answers.
    let acks = answers_then_pvt(&mut reader, 7).await;
    let mut want: Vec<(bool, u8, u8)> = vec![(true, CFG, CFG_MSG); 4];
    want.push((true, CFG, CFG_VALSET));
    want.push((false, CFG, CFG_MSG));
    want.push((false, CFG, CFG_VALSET));
    assert_eq!(acks, want);
    sim.stop().await;
}
