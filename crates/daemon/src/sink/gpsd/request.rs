//! The client side of gpsd's protocol: splitting what a client sends into
//! requests (`?VERSION;`, `?WATCH={...};`, ...) with a bound on their
//! length, and the watch policy a client sets with `?WATCH`.

use serde::Deserialize;

/// Longest request kept while waiting for its end; a longer one is
/// answered with an `ERROR` and skipped up to its end (gpsd's own limit
/// is smaller: its requests fit in 80 bytes but for a device path).
pub const MAX_REQUEST: usize = 4096;

/// One request of a client.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `?VERSION;`
    Version,
    /// `?DEVICES;`
    Devices,
    /// `?WATCH;` (report the policy) or `?WATCH={...};` (change it).
    Watch(Option<WatchArgs>),
    /// `?POLL;`
    Poll,
    /// `?DEVICE;` (report every device) or `?DEVICE={...};`.
    Device(Option<DeviceArgs>),
    /// Anything else: gpsd answers `ERROR` with this text.
    Invalid(String),
}

/// The members of `?WATCH={...}`. What an absent one means is gpsd's
/// (`json_watch_read()`), see [`Policy::apply`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchArgs {
    class: Option<String>,
    enable: Option<bool>,
    json: Option<bool>,
    nmea: Option<bool>,
    raw: Option<u8>,
    scaled: Option<bool>,
    split24: Option<bool>,
    pps: Option<bool>,
    timing: Option<bool>,
    device: Option<String>,
    remote: Option<String>,
}

/// The members of `?DEVICE={...}`: only `path` selects; the others would
/// change the device, which is refused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceArgs {
    class: Option<String>,
    /// The device to report on.
    pub path: Option<String>,
    bps: Option<u32>,
    parity: Option<String>,
    stopbits: Option<u32>,
    native: Option<u32>,
    cycle: Option<f64>,
    hexdata: Option<String>,
}

impl DeviceArgs {
    /// True when the request would change the device (speed, mode, rate,
    /// bytes to send).
    pub fn changes(&self) -> bool {
        self.bps.is_some()
            || self.parity.is_some()
            || self.stopbits.is_some()
            || self.native.is_some()
            || self.cycle.is_some()
            || self.hexdata.is_some()
    }
}

/// What a client has asked to be sent (`?WATCH`), as gpsd echoes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// `enable`: reports are streamed.
    pub watcher: bool,
    /// `json`: reports as JSON objects.
    pub json: bool,
    /// `nmea`: the NMEA devices' sentences as received.
    pub nmea: bool,
    /// `raw`: 1 or 2 send an NMEA device's sentences as received (as
    /// gpsd does for NMEA); binary input is never passed on.
    pub raw: u8,
    /// `scaled` (no effect: reports are always in SI units).
    pub scaled: bool,
    /// `split24` (AIS only: no effect).
    pub split24: bool,
    /// `pps`: the `TOFF` of each device's first fix of every second (no
    /// PPS source, so no `PPS` objects).
    pub pps: bool,
    /// `device`: only this device's reports.
    pub device: Option<String>,
}

impl Policy {
    /// Applies `?WATCH={...}` as gpsd does (`json_watch_read()`, whose
    /// defaults stand for the absent members): `enable` is true unless
    /// sent (any `?WATCH={...}` starts watching: gpsmon sends only
    /// `{"raw":2,"pps":true}`), `scaled`, `split24`, `pps` and `timing`
    /// are false unless sent, `device` is every device unless sent; only
    /// `json`, `nmea` and `raw` keep their value when absent. A watcher
    /// that names no format and has none gets JSON (gpsd sends it
    /// nothing); one that turned every format off is left so.
    pub fn apply(&mut self, a: &WatchArgs) {
        self.watcher = a.enable.unwrap_or(true);
        self.scaled = a.scaled.unwrap_or(false);
        self.split24 = a.split24.unwrap_or(false);
        self.pps = a.pps.unwrap_or(false);
        self.device = a.device.clone().filter(|d| !d.is_empty());
        // `timing` is not kept: its members (`rtime`, `sor`, ...) are not
        // sent, so it is echoed false as a gpsd built without it does.
        let _ = (&a.class, &a.remote, a.timing);
        self.json = a.json.unwrap_or(self.json);
        self.nmea = a.nmea.unwrap_or(self.nmea);
        self.raw = a.raw.map_or(self.raw, |r| r.min(2));
        let names_a_format = a.json.is_some() || a.nmea.is_some() || a.raw.is_some();
        if self.watcher && !names_a_format && !self.json && !self.nmea && self.raw == 0 {
            self.json = true;
        }
    }

    /// True when reports of `device` are to be sent as JSON.
    pub fn wants(&self, device: &str) -> bool {
        self.watcher && self.json && self.device.as_deref().is_none_or(|d| d == device)
    }

    /// True when the `TOFF` objects of `device` are to be sent (to a
    /// `pps` watcher, in any format, as gpsd sends them).
    pub fn wants_toff(&self, device: &str) -> bool {
        self.watcher && self.pps && self.device.as_deref().is_none_or(|d| d == device)
    }

    /// True when the sentences of `device` (an NMEA source) are to be
    /// sent as received.
    pub fn wants_sentences(&self, device: &str) -> bool {
        self.watcher
            && (self.nmea || self.raw > 0)
            && self.device.as_deref().is_none_or(|d| d == device)
    }
}

/// Splits the requests off the front of what a client sent.
#[derive(Debug, Default)]
pub struct Requests {
    buf: Vec<u8>,
    /// Skipping the rest of an over-long request up to its end.
    skipping: bool,
}

/// The result of looking for the next request.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// A complete request.
    Request(Request),
    /// Nothing complete yet: read more.
    More,
}

impl Requests {
    /// Room left before the buffer is full (a read never asks for more).
    pub fn room(&self) -> usize {
        MAX_REQUEST - self.buf.len()
    }

    /// Appends bytes read from the client (at most [`room`](Self::room)).
    pub fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.room());
        self.buf
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
    }

    /// The next complete request, if any. A request that fills the buffer
    /// without ending is answered once as too long and skipped up to the
    /// next `;` or newline.
    pub fn next_request(&mut self) -> Next {
        if self.skipping {
            match self.buf.iter().position(|b| matches!(b, b';' | b'\n')) {
                Some(i) => {
                    self.buf.drain(..=i);
                    self.skipping = false;
                }
                None => {
                    self.buf.clear();
                    return Next::More;
                }
            }
        }
        let start = self
            .buf
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != b';')
            .unwrap_or(self.buf.len());
        self.buf.drain(..start);
        if self.buf.is_empty() {
            return Next::More;
        }
        match parse(&self.buf) {
            Some((req, used)) => {
                self.buf.drain(..used);
                Next::Request(req)
            }
            None if self.buf.len() >= MAX_REQUEST => {
                self.skipping = true;
                Next::Request(Request::Invalid(format!(
                    "Request too long: more than {MAX_REQUEST} bytes without ';' or newline"
                )))
            }
            None => Next::More,
        }
    }
}

/// One request at the front of `buf` (no leading whitespace) and the
/// bytes it took, or `None` when it has not ended yet.
fn parse(buf: &[u8]) -> Option<(Request, usize)> {
    let end = buf.iter().position(|b| matches!(b, b';' | b'\n' | b'\r'));
    let name_end = buf
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'?'))
        .unwrap_or(buf.len());
    let name = buf.get(..name_end).unwrap_or_default();
    let simple = |r: Request| -> Option<(Request, usize)> {
        match buf.get(name_end) {
            Some(b';') => Some((r, name_end + 1)),
            _ => None,
        }
    };
    let with_args = buf.get(name_end) == Some(&b'=');
    let found = match name {
        b"?VERSION" => simple(Request::Version),
        b"?DEVICES" => simple(Request::Devices),
        b"?POLL" => simple(Request::Poll),
        b"?WATCH" if with_args => {
            return json_args(buf, name_end + 1, end, "WATCH", |a| Request::Watch(Some(a)))
        }
        b"?WATCH" => simple(Request::Watch(None)),
        b"?DEVICE" if with_args => {
            return json_args(buf, name_end + 1, end, "DEVICE", |a| {
                Request::Device(Some(a))
            })
        }
        b"?DEVICE" => simple(Request::Device(None)),
        _ => None,
    };
    if found.is_some() {
        return found;
    }
    // Not (or not yet) a request gpsd knows: complete at its end.
    let end = end?;
    let text = String::from_utf8_lossy(buf.get(..end).unwrap_or_default());
    let used = end + 1;
    Some((
        Request::Invalid(format!("Unrecognized request '{}'", text.trim_end())),
        used,
    ))
}

/// `?NAME={json};` starting at `at`: the request when the JSON object
/// parses, an `Invalid NAME` error when it cannot, `None` while it may
/// still be arriving. `end` is the first `;` or line end.
fn json_args<T: serde::de::DeserializeOwned>(
    buf: &[u8],
    at: usize,
    end: Option<usize>,
    name: &str,
    make: impl FnOnce(T) -> Request,
) -> Option<(Request, usize)> {
    let mut values =
        serde_json::Deserializer::from_slice(buf.get(at..).unwrap_or_default()).into_iter::<T>();
    match values.next() {
        Some(Ok(args)) => {
            let mut used = at + values.byte_offset();
            if buf.get(used) == Some(&b';') {
                used += 1;
            }
            Some((make(args), used))
        }
        Some(Err(e))
            if e.is_eof()
                && buf
                    .get(at..)
                    .unwrap_or_default()
                    .iter()
                    .all(|b| *b != b'\n') =>
        {
            None
        }
        None => None,
        Some(Err(e)) => {
            let skip = match end {
                Some(i) if i >= at => i + 1,
                _ => buf.len(),
            };
            Some((Request::Invalid(format!("Invalid {name}: {e}")), skip))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn all(input: &[u8]) -> Vec<Request> {
        let mut r = Requests::default();
        let mut out = Vec::new();
        for chunk in input.chunks(MAX_REQUEST / 2) {
            r.push(chunk);
            while let Next::Request(q) = r.next_request() {
                out.push(q);
            }
        }
        out
    }

    #[test]
    fn the_simple_requests_parse_with_whitespace_between() {
        assert_eq!(
            all(b"?VERSION;\n?DEVICES; ?POLL;\r\n?WATCH;?DEVICE;"),
            vec![
                Request::Version,
                Request::Devices,
                Request::Poll,
                Request::Watch(None),
                Request::Device(None)
            ]
        );
    }

    #[test]
    fn watch_arguments_are_read_and_applied() {
        let got =
            all(b"?WATCH={\"enable\":true,\"json\":true,\"nmea\":true,\"device\":\"/dev/x\"};");
        let Request::Watch(Some(a)) = &got[0] else {
            panic!("{got:?}")
        };
        let mut p = Policy::default();
        p.apply(a);
        assert!(p.watcher && p.json && p.nmea, "{p:?}");
        assert!(p.wants_sentences("/dev/x") && !p.wants_sentences("/dev/y"));
        assert!(p.wants("/dev/x") && !p.wants("/dev/y"));
        let mut p = Policy::default();
        p.apply(&WatchArgs {
            enable: Some(true),
            ..Default::default()
        });
        assert!(p.json, "a watcher without a format gets JSON");
        p.apply(&WatchArgs {
            json: Some(false),
            ..Default::default()
        });
        assert!(p.watcher && !p.json, "JSON turned off stays off: {p:?}");
    }

    /// What gpsd 3.22 answered to this sequence on one connection: an
    /// absent `enable` turns watching on, absent `pps`/`scaled`/`split24`
    /// and `device` go back to their defaults, absent `json`/`nmea`/`raw`
    /// keep their value.
    #[test]
    fn absent_watch_members_mean_what_they_mean_to_gpsd() {
        let apply = |p: &mut Policy, req: &[u8]| {
            let got = all(req);
            let Request::Watch(Some(a)) = &got[0] else {
                panic!("{got:?}")
            };
            p.apply(a);
        };
        let mut p = Policy::default();
        apply(&mut p, b"?WATCH={\"raw\":2,\"pps\":true};");
        assert!(
            p.watcher && p.pps && p.raw == 2 && !p.json && !p.nmea,
            "{p:?}"
        );
        apply(&mut p, b"?WATCH={\"nmea\":true};");
        assert!(
            p.watcher && !p.pps && p.raw == 2 && p.nmea && !p.json,
            "{p:?}"
        );
        apply(&mut p, b"?WATCH={\"enable\":false};");
        assert!(!p.watcher && p.nmea && p.raw == 2, "{p:?}");
        apply(
            &mut p,
            b"?WATCH={\"json\":true,\"scaled\":true,\"device\":\"/dev/x\"};",
        );
        assert!(p.watcher && p.json && p.nmea && p.scaled, "{p:?}");
        assert_eq!(p.device.as_deref(), Some("/dev/x"));
        apply(&mut p, b"?WATCH={\"json\":false};");
        assert!(
            p.watcher && !p.json && p.nmea && !p.scaled && p.device.is_none(),
            "{p:?}"
        );
    }

    #[test]
    fn a_request_split_across_reads_waits_for_its_end() {
        let mut r = Requests::default();
        r.push(b"?WATCH={\"ena");
        assert_eq!(r.next_request(), Next::More);
        r.push(b"ble\":true};?VER");
        assert!(matches!(
            r.next_request(),
            Next::Request(Request::Watch(Some(_)))
        ));
        assert_eq!(r.next_request(), Next::More);
        r.push(b"SION;");
        assert_eq!(r.next_request(), Next::Request(Request::Version));
    }

    #[test]
    fn bad_requests_are_errors_and_the_next_one_still_works() {
        let got = all(b"?WATCH={\"enable\":tru};?FOO;\n?WATCH={\"bogus\":1};?VERSION;");
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!(&got[0], Request::Invalid(m) if m.starts_with("Invalid WATCH")));
        assert_eq!(
            got[1],
            Request::Invalid("Unrecognized request '?FOO'".into())
        );
        assert!(matches!(&got[2], Request::Invalid(m) if m.contains("unknown field")));
        assert_eq!(got[3], Request::Version);
    }

    #[test]
    fn a_megabyte_without_an_end_is_one_error_and_bounded() {
        let mut r = Requests::default();
        let mut errors = 0;
        let junk = vec![b'x'; 1 << 20];
        let mut fed = 0;
        while fed < junk.len() {
            let n = r.room().min(junk.len() - fed);
            r.push(&junk[fed..fed + n]);
            fed += n;
            assert!(r.buf.len() <= MAX_REQUEST);
            while let Next::Request(q) = r.next_request() {
                assert!(matches!(q, Request::Invalid(_)));
                errors += 1;
            }
        }
        assert_eq!(errors, 1);
        r.push(b";?POLL;");
        assert_eq!(r.next_request(), Next::Request(Request::Poll));
    }

    #[test]
    fn device_arguments_that_change_the_device_are_recognised() {
        let got = all(
            b"?DEVICE={\"path\":\"/dev/ttyS0\",\"bps\":9600};?DEVICE={\"path\":\"/dev/ttyS0\"};",
        );
        let [Request::Device(Some(a)), Request::Device(Some(b))] = &got[..] else {
            panic!("{got:?}")
        };
        assert!(a.changes() && !b.changes());
        assert_eq!(b.path.as_deref(), Some("/dev/ttyS0"));
    }
}
