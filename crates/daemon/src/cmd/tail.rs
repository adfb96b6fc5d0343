//! `dronetel tail`: connect to a running daemon's stream and print its frames.

use std::io::Write;

use anyhow::Context as _;
use dronetel_proto::v1::Frame;
use dronetel_proto::FrameCodec;
use futures_util::StreamExt;
use tokio::io::AsyncRead;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::cli::TailArgs;

/// How `tail` prints each frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// One readable line per frame.
    Text,
    /// One protobuf-JSON object per line, proto field names (feature
    /// `json`: the mapping reflects over the descriptor with prost-reflect).
    #[cfg(feature = "json")]
    Json,
}

/// Runs `dronetel tail` until the daemon closes the stream or Ctrl-C.
pub(crate) async fn tail(args: TailArgs) -> anyhow::Result<()> {
    let format = if args.json {
        json_format()?
    } else {
        Format::Text
    };
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    let mut out = std::io::stdout().lock();
    let sensor = args.sensor.as_deref();
    if let Some(path) = &args.unix {
        let s = tokio::net::UnixStream::connect(path)
            .await
            .with_context(|| format!("connecting to {}", path.display()))?;
        print_frames(s, sensor, format, &mut out, &cancel).await?;
    } else {
        let addr = &args.tcp;
        let s = tokio::net::TcpStream::connect(addr.as_str())
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        print_frames(s, sensor, format, &mut out, &cancel).await?;
    }
    Ok(())
}

/// Reads delimited frames from `reader` and prints those of `sensor` (all
/// when `None`) to `out` until end of stream or cancellation. Returns the
/// number of frames printed.
pub(crate) async fn print_frames<R, W>(
    reader: R,
    sensor: Option<&str>,
    format: Format,
    out: &mut W,
    cancel: &CancellationToken,
) -> anyhow::Result<u64>
where
    R: AsyncRead + Unpin,
    W: Write,
{
    let mut frames = FramedRead::new(reader, FrameCodec::default());
    let mut printed = 0;
    loop {
        let frame = tokio::select! {
            _ = cancel.cancelled() => break,
            f = frames.next() => match f {
                None => break,
                Some(f) => f.context("reading the frame stream")?,
            },
        };
        if sensor.is_some_and(|s| s != frame.sensor) {
            continue;
        }
        writeln!(out, "{}", render(&frame, format)).context("writing to stdout")?;
        out.flush().context("writing to stdout")?;
        printed += 1;
    }
    Ok(printed)
}

/// One frame as a line in the given format.
pub(crate) fn render(frame: &Frame, format: Format) -> String {
    match format {
        Format::Text => super::view::frame_line(frame),
        #[cfg(feature = "json")]
        Format::Json => dronetel_proto::json::frame_to_json(frame),
    }
}

/// The JSON format, or why this build has none.
#[cfg(feature = "json")]
fn json_format() -> anyhow::Result<Format> {
    Ok(Format::Json)
}

/// The JSON format, or why this build has none.
#[cfg(not(feature = "json"))]
fn json_format() -> anyhow::Result<Format> {
    anyhow::bail!(
        "`tail --json` needs the `json` cargo feature (on by default); this dronetel was built without it"
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dronetel_proto::encode_delimited;
    use dronetel_proto::v1::{frame::Body, GpsFix};
    use tokio::io::AsyncWriteExt;

    fn frame(seq: u64, sensor: &str) -> Frame {
        Frame {
            seq,
            sensor: sensor.into(),
            received_at: None,
            body: Some(Body::Gps(GpsFix {
                latitude_deg: Some(1.5),
                ..Default::default()
            })),
        }
    }

    /// A stream of frames from the sensors "gps", "gps2", "gps" (seq 1 to 3).
    async fn stream() -> tokio::io::DuplexStream {
        let (mut tx, rx) = tokio::io::duplex(1024);
        for (seq, name) in [(1, "gps"), (2, "gps2"), (3, "gps")] {
            tx.write_all(&encode_delimited(&frame(seq, name)))
                .await
                .unwrap();
        }
        rx
    }

    /// What `print_frames` prints of [`stream`] for the sensor "gps": two
    /// frames.
    async fn print_gps(format: Format) -> String {
        let mut out = Vec::new();
        let n = print_frames(
            stream().await,
            Some("gps"),
            format,
            &mut out,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(n, 2);
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn filters_by_sensor_and_prints_text_lines() {
        let want = [frame(1, "gps"), frame(3, "gps")]
            .iter()
            .map(|f| format!("{}\n", render(f, Format::Text)))
            .collect::<String>();
        assert_eq!(print_gps(Format::Text).await, want);
    }

    // `Format::Json` exists only with the `json` feature.
    #[cfg(feature = "json")]
    #[tokio::test]
    async fn filters_by_sensor_and_prints_json_lines() {
        let lines: Vec<serde_json::Value> = print_gps(Format::Json)
            .await
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["seq"], "1");
        assert_eq!(lines[1]["seq"], "3");
        assert_eq!(lines[1]["gps"]["latitude_deg"], 1.5);
    }

    #[tokio::test]
    async fn a_corrupt_stream_is_an_error() {
        let (mut tx, rx) = tokio::io::duplex(64);
        tx.write_all(&[0xff; 12]).await.unwrap();
        drop(tx);
        let mut out = Vec::new();
        let r = print_frames(rx, None, Format::Text, &mut out, &CancellationToken::new()).await;
        assert!(r.is_err());
    }
}
