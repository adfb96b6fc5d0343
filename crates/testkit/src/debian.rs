//! A program of another Debian release, for comparing the daemon with the
//! version of a peer that release ships (gpsd 3.25 of Debian 13 "trixie"
//! beside the gpsd 3.22 of Debian 12 installed with apt). The packages are
//! downloaded with apt-get from deb.debian.org, their signatures checked
//! against the system's Debian archive keyring, and unpacked into a
//! private folder under the build's temporary directory: nothing is
//! installed on the system. The program runs through that release's own
//! dynamic loader and libraries, so its C library may be newer than the
//! system's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The packages Debian 13's gpsd (3.25) needs: gpsd itself and the
/// library packages it links (its `Depends` that are libraries, and
/// theirs), the C library among them.
pub const GPSD_DEBIAN_13: &[&str] = &[
    "gpsd",
    "libc6",
    "libgcc-s1",
    "libbluetooth3",
    "libdbus-1-3",
    "libusb-1.0-0",
    "libsystemd0",
    "libudev1",
    "libcap2",
];

/// Debian 13's gpsd unpacked under `root` (see [`unpacked`]), ready to
/// run.
pub fn gpsd_debian_13(root: &Path) -> Program {
    unpacked(root, "trixie", GPSD_DEBIAN_13, "/usr/sbin/gpsd").program("/usr/sbin/gpsd")
}

/// A program to start and the arguments that come before its own: a
/// plain executable, or one of another Debian release run through that
/// release's loader ([`Unpacked::program`]).
#[derive(Debug, Clone)]
pub struct Program {
    exe: PathBuf,
    prefix: Vec<OsString>,
}

impl Program {
    /// `exe` itself: a path, or a name looked up on the PATH.
    pub fn plain(exe: impl Into<PathBuf>) -> Program {
        Program {
            exe: exe.into(),
            prefix: Vec::new(),
        }
    }

    /// A command that runs it; the program's own arguments go after.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(&self.prefix);
        c
    }

    /// gpsd's release, the second word `-V` prints ("gpsd: 3.25
    /// (revision 3.25)"); `None` when it does not run or prints none.
    pub fn gpsd_release(&self) -> Option<String> {
        let out = self.command().arg("-V").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().nth(1).map(str::to_owned)
    }
}

/// The index targets `apt-get update` fetches besides the package lists
/// and that nothing here reads (AppStream metadata and icons).
const ONLY_PACKAGES: &[&str] = &["DEP-11", "DEP-11-icons", "DEP-11-icons-small"];

/// Packages of one Debian release unpacked side by side in a folder.
pub struct Unpacked {
    /// The folder the packages' files are unpacked into (their `/`).
    root: PathBuf,
    /// The release's multiarch library folder, e.g. `x86_64-linux-gnu`.
    triplet: &'static str,
    /// The release's dynamic loader.
    loader: PathBuf,
}

impl Unpacked {
    /// `program` (a path inside the release, e.g. `/usr/sbin/gpsd`) run
    /// with the release's loader and libraries.
    pub fn program(&self, program: &str) -> Program {
        let libs = format!(
            "{root}/lib/{t}:{root}/usr/lib/{t}",
            root = self.root.display(),
            t = self.triplet
        );
        let program = self.root.join(program.trim_start_matches('/'));
        Program {
            exe: self.loader.clone(),
            prefix: vec![
                "--library-path".into(),
                libs.into(),
                program.into_os_string(),
            ],
        }
    }
}

/// The multiarch triplet and loader of this machine's architecture.
fn architecture() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
        "aarch64" => ("aarch64-linux-gnu", "ld-linux-aarch64.so.1"),
        other => panic!("no Debian loader known for architecture {other}"),
    }
}

/// `packages` of Debian `suite` (a code name: `trixie`) unpacked under
/// `root`, downloaded if missing, once per process (tests of one binary
/// wait for each other here). `packages` must hold the program's package
/// and every library package it links, the C library's `libc6` among them;
/// `check` (a path inside the release) must then list no missing library.
/// Panics when apt-get cannot fetch them.
pub fn unpacked(root: &Path, suite: &str, packages: &[&str], check: &str) -> Unpacked {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (triplet, loader) = architecture();
    // Absolute: apt-get reads a relative `Dir::Etc::SourceList` under
    // /etc/apt and runs in the `debs` folder, so a relative root (the
    // bench's default `target/tmp`) would leave it with no sources.
    let dir = std::path::absolute(root.join(format!("debian-{suite}")))
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    let files = dir.join("root");
    let unpacked = Unpacked {
        root: files.clone(),
        triplet,
        loader: files.join("usr/lib").join(triplet).join(loader),
    };
    let done = dir.join("unpacked");
    if std::fs::read_to_string(&done).is_ok_and(|s| s == packages.join(" ")) {
        return unpacked;
    }
    let _ = std::fs::remove_dir_all(&dir);
    for d in ["lists/partial", "cache/archives/partial", "debs", "root"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let sources = dir.join("sources.list");
    std::fs::write(
        &sources,
        format!("deb http://deb.debian.org/debian {suite} main\n"),
    )
    .unwrap();
    // apt-get with its own index and cache: the system's sources, lists
    // and packages are neither read nor changed. Signatures are checked
    // with the system's keyring (Debian 12's holds Debian 13's keys).
    let apt = |args: &[&str]| {
        let status = Command::new("apt-get")
            .arg("-q")
            .args(["-o", &format!("Dir::Etc::SourceList={}", sources.display())])
            .args(["-o", "Dir::Etc::SourceParts=/dev/null"])
            .args(["-o", &format!("Dir::State::Lists={}/lists", dir.display())])
            .args(["-o", &format!("Dir::Cache={}/cache", dir.display())])
            .args(["-o", "APT::Sandbox::User=root"])
            // The package lists only: no translations, no AppStream data.
            .args(["-o", "Acquire::Languages=none"])
            .args(ONLY_PACKAGES.iter().flat_map(|t| {
                [
                    "-o".to_owned(),
                    format!("Acquire::IndexTargets::deb::{t}::DefaultEnabled=false"),
                ]
            }))
            .args(args)
            .current_dir(dir.join("debs"))
            .stdout(Stdio::null())
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "apt-get {args:?} for Debian {suite} failed"
        );
    };
    apt(&["update"]);
    let mut download = vec!["download"];
    download.extend_from_slice(packages);
    apt(&download);
    for deb in std::fs::read_dir(dir.join("debs")).unwrap() {
        let deb = deb.unwrap().path();
        let ok = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&files)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "dpkg-deb -x {} failed", deb.display());
    }
    let check_program = unpacked.program(check);
    let mut list = Command::new(&check_program.exe);
    list.arg("--list").args(&check_program.prefix);
    let listed = list.output().unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success() && !text.contains("not found"),
        "{check} of Debian {suite} lacks libraries (add their packages):\n{text}{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    std::fs::write(&done, packages.join(" ")).unwrap();
    unpacked
}
