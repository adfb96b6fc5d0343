//! The UBX messages the decoder uses, read from their payloads into small
//! values with the receiver's own units (no state touched, nothing
//! allocated: satellite lists are views over the payload). Offsets and
//! units are those of the u-blox interface descriptions (u-blox 6 to F9 and
//! X20; NAV-SOL and NAV-SVINFO back to Antaris/LEA-4T).
//!
//! The structs with public fields are also what the encoder
//! ([`super::encode`]) writes, so decode and encode share one layout.

/// Little-endian reader over a payload; every read is bounds-checked and
/// the dispatch table's minimum lengths make the reads of a parser succeed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Payload<'a>(pub(crate) &'a [u8]);

impl<'a> Payload<'a> {
    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        self.0
            .get(at..at.saturating_add(N))
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; N])
    }
    pub(crate) fn u1(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }
    pub(crate) fn i1(&self, at: usize) -> i8 {
        i8::from_le_bytes(self.bytes(at))
    }
    pub(crate) fn u2(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.bytes(at))
    }
    pub(crate) fn i2(&self, at: usize) -> i16 {
        i16::from_le_bytes(self.bytes(at))
    }
    pub(crate) fn u4(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.bytes(at))
    }
    pub(crate) fn i4(&self, at: usize) -> i32 {
        i32::from_le_bytes(self.bytes(at))
    }
}

/// UBX-NAV-PVT (class 1, id 7): the whole navigation solution of an epoch
/// (u-blox 7 and later; 84 bytes on u-blox 7, 92 from u-blox 8 on). Also
/// the layout of UBX-HNR-PVT's common fields after conversion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NavPvt {
    /// GPS time of week of the navigation epoch, ms.
    pub itow: u32,
    /// UTC year.
    pub year: u16,
    /// UTC month, 1..12.
    pub month: u8,
    /// UTC day of month, 1..31.
    pub day: u8,
    /// UTC hour, 0..23.
    pub hour: u8,
    /// UTC minute, 0..59.
    pub min: u8,
    /// UTC second, 0..60.
    pub sec: u8,
    /// Validity flags: bit 0 validDate, bit 1 validTime, bit 2
    /// fullyResolved, bit 3 validMag.
    pub valid: u8,
    /// Time accuracy estimate, ns.
    pub t_acc: u32,
    /// Fraction of second, ns, -1e9..1e9 (may be negative).
    pub nano: i32,
    /// 0 no fix, 1 dead reckoning only, 2 2D, 3 3D, 4 GNSS + dead
    /// reckoning, 5 time only.
    pub fix_type: u8,
    /// Bit 0 gnssFixOK, bit 1 diffSoln, bits 6..7 carrSoln (1 float,
    /// 2 fixed).
    pub flags: u8,
    /// Additional flags (confirmed date/time).
    pub flags2: u8,
    /// Satellites used in the solution.
    pub num_sv: u8,
    /// Longitude, 1e-7 degree.
    pub lon: i32,
    /// Latitude, 1e-7 degree.
    pub lat: i32,
    /// Height above the ellipsoid, mm.
    pub height: i32,
    /// Height above mean sea level, mm.
    pub h_msl: i32,
    /// Horizontal accuracy estimate, mm.
    pub h_acc: u32,
    /// Vertical accuracy estimate, mm.
    pub v_acc: u32,
    /// NED north velocity, mm/s.
    pub vel_n: i32,
    /// NED east velocity, mm/s.
    pub vel_e: i32,
    /// NED down velocity, mm/s.
    pub vel_d: i32,
    /// Ground speed (2D), mm/s.
    pub g_speed: i32,
    /// Heading of motion (2D), 1e-5 degree.
    pub head_mot: i32,
    /// Speed accuracy estimate, mm/s.
    pub s_acc: u32,
    /// Heading accuracy estimate, 1e-5 degree.
    pub head_acc: u32,
    /// Position DOP, 0.01.
    pub p_dop: u16,
}

/// Length of NAV-PVT as the encoder writes it (u-blox 8 and later).
pub const NAV_PVT_LEN: usize = 92;

impl NavPvt {
    /// Reads a NAV-PVT payload (at least 84 bytes).
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            year: p.u2(4),
            month: p.u1(6),
            day: p.u1(7),
            hour: p.u1(8),
            min: p.u1(9),
            sec: p.u1(10),
            valid: p.u1(11),
            t_acc: p.u4(12),
            nano: p.i4(16),
            fix_type: p.u1(20),
            flags: p.u1(21),
            flags2: p.u1(22),
            num_sv: p.u1(23),
            lon: p.i4(24),
            lat: p.i4(28),
            height: p.i4(32),
            h_msl: p.i4(36),
            h_acc: p.u4(40),
            v_acc: p.u4(44),
            vel_n: p.i4(48),
            vel_e: p.i4(52),
            vel_d: p.i4(56),
            g_speed: p.i4(60),
            head_mot: p.i4(64),
            s_acc: p.u4(68),
            head_acc: p.u4(72),
            p_dop: p.u2(76),
        }
    }

    /// Writes the 92-byte payload (reserved and u-blox 8 extension fields
    /// zero).
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.itow.to_le_bytes());
        out.extend_from_slice(&self.year.to_le_bytes());
        out.extend_from_slice(&[
            self.month, self.day, self.hour, self.min, self.sec, self.valid,
        ]);
        out.extend_from_slice(&self.t_acc.to_le_bytes());
        out.extend_from_slice(&self.nano.to_le_bytes());
        out.extend_from_slice(&[self.fix_type, self.flags, self.flags2, self.num_sv]);
        for v in [self.lon, self.lat, self.height, self.h_msl] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.h_acc.to_le_bytes());
        out.extend_from_slice(&self.v_acc.to_le_bytes());
        for v in [
            self.vel_n,
            self.vel_e,
            self.vel_d,
            self.g_speed,
            self.head_mot,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.s_acc.to_le_bytes());
        out.extend_from_slice(&self.head_acc.to_le_bytes());
        out.extend_from_slice(&self.p_dop.to_le_bytes());
        out.resize(start + NAV_PVT_LEN, 0);
    }
}

/// UBX-HNR-PVT (class 0x28, id 0): the high-rate (up to 30 Hz) solution
/// of dead-reckoning receivers (NEO-M8L/M8U), read into the NAV-PVT shape.
pub(crate) fn hnr_pvt(p: Payload<'_>) -> NavPvt {
    NavPvt {
        itow: p.u4(0),
        year: p.u2(4),
        month: p.u1(6),
        day: p.u1(7),
        hour: p.u1(8),
        min: p.u1(9),
        sec: p.u1(10),
        valid: p.u1(11),
        nano: p.i4(12),
        fix_type: p.u1(16),
        // HNR flags: bit 0 GPSfixOK, bit 1 DiffSoln (as NAV-PVT); no
        // carrier solution.
        flags: p.u1(17) & 0x03,
        lon: p.i4(20),
        lat: p.i4(24),
        height: p.i4(28),
        h_msl: p.i4(32),
        g_speed: p.i4(36),
        head_mot: p.i4(44),
        h_acc: p.u4(52),
        v_acc: p.u4(56),
        s_acc: p.u4(60),
        head_acc: p.u4(64),
        ..NavPvt::default()
    }
}

/// UBX-NAV-DOP (class 1, id 4): dilutions of precision, 0.01 each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NavDop {
    /// GPS time of week, ms.
    pub itow: u32,
    /// Geometric DOP.
    pub g_dop: u16,
    /// Position DOP.
    pub p_dop: u16,
    /// Time DOP.
    pub t_dop: u16,
    /// Vertical DOP.
    pub v_dop: u16,
    /// Horizontal DOP.
    pub h_dop: u16,
    /// Northing DOP.
    pub n_dop: u16,
    /// Easting DOP.
    pub e_dop: u16,
}

impl NavDop {
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            g_dop: p.u2(4),
            p_dop: p.u2(6),
            t_dop: p.u2(8),
            v_dop: p.u2(10),
            h_dop: p.u2(12),
            n_dop: p.u2(14),
            e_dop: p.u2(16),
        }
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.itow.to_le_bytes());
        for v in [
            self.g_dop, self.p_dop, self.t_dop, self.v_dop, self.h_dop, self.n_dop, self.e_dop,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// One satellite of UBX-NAV-SAT (class 1, id 0x35).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SatEntry {
    /// GNSS: 0 GPS, 1 SBAS, 2 Galileo, 3 BeiDou, 4 IMES, 5 QZSS,
    /// 6 GLONASS, 7 NavIC.
    pub gnss_id: u8,
    /// Satellite number within its GNSS.
    pub sv_id: u8,
    /// Carrier-to-noise density, dB-Hz (0 when not tracked).
    pub cno: u8,
    /// Elevation, degrees (-90..90; out of range when unknown).
    pub elev: i8,
    /// Azimuth, degrees (0..360).
    pub azim: i16,
    /// Pseudorange residual, 0.1 m.
    pub pr_res: i16,
    /// Bits 0..2 signal quality, bit 3 svUsed, bits 4..5 health, ...
    pub flags: u32,
}

/// Bytes per satellite in NAV-SAT and NAV-SVINFO, after the 8-byte head.
pub(crate) const SAT_BLOCK: usize = 12;

impl SatEntry {
    fn parse(p: Payload<'_>, at: usize) -> Self {
        Self {
            gnss_id: p.u1(at),
            sv_id: p.u1(at + 1),
            cno: p.u1(at + 2),
            elev: p.i1(at + 3),
            azim: p.i2(at + 4),
            pr_res: p.i2(at + 6),
            flags: p.u4(at + 8),
        }
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.gnss_id, self.sv_id, self.cno]);
        out.extend_from_slice(&self.elev.to_le_bytes());
        out.extend_from_slice(&self.azim.to_le_bytes());
        out.extend_from_slice(&self.pr_res.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
    }

    /// Whether the receiver used this satellite in the solution.
    pub fn used(&self) -> bool {
        self.flags & 0x08 != 0
    }
}

/// Satellites of a NAV-SAT or NAV-SVINFO payload, read lazily (no copy).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sats<'a> {
    p: Payload<'a>,
    count: usize,
    svinfo: bool,
}

impl<'a> Sats<'a> {
    /// NAV-SAT: `numSvs` at offset 5; only whole blocks present count.
    pub(crate) fn nav_sat(p: Payload<'a>) -> Self {
        let present = p.0.len().saturating_sub(8) / SAT_BLOCK;
        Self {
            count: usize::from(p.u1(5)).min(present),
            p,
            svinfo: false,
        }
    }

    /// NAV-SVINFO: `numCh` at offset 4.
    pub(crate) fn nav_svinfo(p: Payload<'a>) -> Self {
        let present = p.0.len().saturating_sub(8) / SAT_BLOCK;
        Self {
            count: usize::from(p.u1(4)).min(present),
            p,
            svinfo: true,
        }
    }

    /// Number of satellites.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The satellites, in NAV-SAT's shape. NAV-SVINFO's u-blox numbering
    /// (one number space for every GNSS) is split into GNSS and number.
    pub(crate) fn iter(&self) -> impl Iterator<Item = SatEntry> + 'a {
        let (p, svinfo) = (self.p, self.svinfo);
        (0..self.count).map(move |i| {
            let at = 8 + i * SAT_BLOCK;
            if !svinfo {
                return SatEntry::parse(p, at);
            }
            // chn, svid, flags (bit 0 svUsed), quality, cno, elev, azim,
            // prRes (I4, cm).
            let (gnss_id, sv_id) = split_ubx_svid(p.u1(at + 1));
            SatEntry {
                gnss_id,
                sv_id,
                cno: p.u1(at + 4),
                elev: p.i1(at + 5),
                azim: p.i2(at + 6),
                pr_res: 0,
                flags: if p.u1(at + 2) & 0x01 != 0 { 0x08 } else { 0 },
            }
        })
    }
}

/// GNSS and number of a satellite in the single u-blox numbering of
/// NAV-SVINFO: 1..32 GPS, 33..64 and 159..163 BeiDou, 65..96 GLONASS,
/// 120..158 SBAS, 193..197 QZSS, 211..246 Galileo.
fn split_ubx_svid(svid: u8) -> (u8, u8) {
    match svid {
        1..=32 => (0, svid),
        33..=64 => (3, svid - 32),
        65..=96 => (6, svid - 64),
        120..=158 => (1, svid),
        159..=163 => (3, svid - 122),
        193..=197 => (5, svid - 192),
        211..=246 => (2, svid - 210),
        _ => (0xff, svid),
    }
}

/// UBX-NAV-SOL (class 1, id 6): ECEF solution of u-blox 4 to 8.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NavSol {
    pub(crate) itow: u32,
    /// Fractional time of week, ns (-500000..500000).
    pub(crate) ftow: i32,
    pub(crate) week: i16,
    pub(crate) gps_fix: u8,
    /// Bit 0 GPSfixOK, bit 1 DiffSoln, bit 2 WKNSET, bit 3 TOWSET.
    pub(crate) flags: u8,
    /// ECEF position, cm.
    pub(crate) ecef: [i32; 3],
    /// 3D position accuracy, cm.
    pub(crate) p_acc: u32,
    /// ECEF velocity, cm/s.
    pub(crate) vel: [i32; 3],
    /// Speed accuracy, cm/s.
    pub(crate) s_acc: u32,
    pub(crate) p_dop: u16,
    pub(crate) num_sv: u8,
}

impl NavSol {
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            ftow: p.i4(4),
            week: p.i2(8),
            gps_fix: p.u1(10),
            flags: p.u1(11),
            ecef: [p.i4(12), p.i4(16), p.i4(20)],
            p_acc: p.u4(24),
            vel: [p.i4(28), p.i4(32), p.i4(36)],
            s_acc: p.u4(40),
            p_dop: p.u2(44),
            num_sv: p.u1(47),
        }
    }
}

/// UBX-NAV-POSLLH (class 1, id 2), and UBX-NAV-HPPOSLLH (id 0x14) with its
/// high-precision parts added.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PosLlh {
    pub(crate) itow: u32,
    /// Degrees.
    pub(crate) lon: f64,
    /// Degrees.
    pub(crate) lat: f64,
    /// Metres above the ellipsoid.
    pub(crate) height: f64,
    /// Metres above mean sea level.
    pub(crate) h_msl: f64,
    /// Metres.
    pub(crate) h_acc: f64,
    /// Metres.
    pub(crate) v_acc: f64,
    /// False when HPPOSLLH's invalidLlh flag is set (no position).
    pub(crate) valid: bool,
}

impl PosLlh {
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            lon: f64::from(p.i4(4)) / 1e7,
            lat: f64::from(p.i4(8)) / 1e7,
            height: f64::from(p.i4(12)) / 1e3,
            h_msl: f64::from(p.i4(16)) / 1e3,
            h_acc: f64::from(p.u4(20)) / 1e3,
            v_acc: f64::from(p.u4(24)) / 1e3,
            valid: true,
        }
    }

    /// HPPOSLLH (the invalidLlh flag, bit 0 of byte 3, clears `valid`).
    pub(crate) fn parse_hp(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(4),
            lon: f64::from(p.i4(8)) / 1e7 + f64::from(p.i1(24)) / 1e9,
            lat: f64::from(p.i4(12)) / 1e7 + f64::from(p.i1(25)) / 1e9,
            height: f64::from(p.i4(16)) / 1e3 + f64::from(p.i1(26)) / 1e4,
            h_msl: f64::from(p.i4(20)) / 1e3 + f64::from(p.i1(27)) / 1e4,
            h_acc: f64::from(p.u4(28)) / 1e4,
            v_acc: f64::from(p.u4(32)) / 1e4,
            valid: p.u1(3) & 0x01 == 0,
        }
    }
}

/// UBX-NAV-POSECEF (id 1) or UBX-NAV-VELECEF (id 0x11): one ECEF vector,
/// cm or cm/s, and its accuracy.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ecef {
    pub(crate) itow: u32,
    pub(crate) v: [i32; 3],
    pub(crate) acc: u32,
}

impl Ecef {
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            v: [p.i4(4), p.i4(8), p.i4(12)],
            acc: p.u4(16),
        }
    }
}

/// UBX-NAV-VELNED (class 1, id 0x12).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct VelNed {
    pub(crate) itow: u32,
    /// cm/s.
    pub(crate) vel: [i32; 3],
    /// Ground speed, cm/s.
    pub(crate) g_speed: u32,
    /// Heading of motion, 1e-5 degree.
    pub(crate) heading: i32,
    /// cm/s.
    pub(crate) s_acc: u32,
    /// 1e-5 degree.
    pub(crate) c_acc: u32,
}

impl VelNed {
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            vel: [p.i4(4), p.i4(8), p.i4(12)],
            g_speed: p.u4(20),
            heading: p.i4(24),
            s_acc: p.u4(28),
            c_acc: p.u4(32),
        }
    }
}

/// UBX-NAV-STATUS (class 1, id 3): fix type and flags for receivers whose
/// position messages carry none (NAV-POSLLH, NAV-POSECEF).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NavStatus {
    pub(crate) itow: u32,
    pub(crate) gps_fix: u8,
    /// Bit 0 gpsFixOk, bit 1 diffSoln.
    pub(crate) flags: u8,
    /// Bits 6..7 carrSoln.
    pub(crate) flags2: u8,
}

impl NavStatus {
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            gps_fix: p.u1(4),
            flags: p.u1(5),
            flags2: p.u1(7),
        }
    }
}

/// UBX-NAV-TIMEGPS (class 1, id 0x20).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NavTimeGps {
    /// GPS time of week, ms.
    pub itow: u32,
    /// Fraction of the millisecond, ns (-500000..500000).
    pub ftow: i32,
    /// GPS week number (no rollover: weeks since 1980-01-06).
    pub week: i16,
    /// GPS - UTC leap seconds.
    pub leap_s: i8,
    /// Bit 0 towValid, bit 1 weekValid, bit 2 leapSValid.
    pub valid: u8,
    /// Time accuracy estimate, ns.
    pub t_acc: u32,
}

impl NavTimeGps {
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            ftow: p.i4(4),
            week: p.i2(8),
            leap_s: p.i1(10),
            valid: p.u1(11),
            t_acc: p.u4(12),
        }
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.itow.to_le_bytes());
        out.extend_from_slice(&self.ftow.to_le_bytes());
        out.extend_from_slice(&self.week.to_le_bytes());
        out.extend_from_slice(&self.leap_s.to_le_bytes());
        out.push(self.valid);
        out.extend_from_slice(&self.t_acc.to_le_bytes());
    }
}

/// UBX-NAV-TIMEUTC (class 1, id 0x21).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NavTimeUtc {
    pub(crate) itow: u32,
    pub(crate) nano: i32,
    pub(crate) year: u16,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) min: u8,
    pub(crate) sec: u8,
    /// Bit 2 validUTC.
    pub(crate) valid: u8,
}

impl NavTimeUtc {
    pub(crate) fn parse(p: Payload<'_>) -> Self {
        Self {
            itow: p.u4(0),
            nano: p.i4(8),
            year: p.u2(12),
            month: p.u1(14),
            day: p.u1(15),
            hour: p.u1(16),
            min: p.u1(17),
            sec: p.u1(18),
            valid: p.u1(19),
        }
    }
}

/// A parsed message of the dispatch table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Msg<'a> {
    Pvt(NavPvt),
    HnrPvt(NavPvt),
    Sol(NavSol),
    PosLlh(PosLlh),
    HpPosLlh(PosLlh),
    PosEcef(Ecef),
    VelEcef(Ecef),
    VelNed(VelNed),
    Status(NavStatus),
    Dop(NavDop),
    TimeGps(NavTimeGps),
    TimeUtc(NavTimeUtc),
    Sat(Sats<'a>),
    SvInfo(Sats<'a>),
    /// UBX-NAV-EOE: the epoch of this time of week is complete.
    Eoe(u32),
}

impl Msg<'_> {
    /// GPS time of week (ms) of the epoch the message belongs to.
    pub(crate) fn itow(&self) -> u32 {
        match self {
            Msg::Pvt(m) | Msg::HnrPvt(m) => m.itow,
            Msg::Sol(m) => m.itow,
            Msg::PosLlh(m) | Msg::HpPosLlh(m) => m.itow,
            Msg::PosEcef(m) | Msg::VelEcef(m) => m.itow,
            Msg::VelNed(m) => m.itow,
            Msg::Status(m) => m.itow,
            Msg::Dop(m) => m.itow,
            Msg::TimeGps(m) => m.itow,
            Msg::TimeUtc(m) => m.itow,
            Msg::Sat(s) | Msg::SvInfo(s) => s.p.u4(0),
            Msg::Eoe(t) => *t,
        }
    }
}
