//! `/proc/diskstats`, the kernel's per-device I/O counters, and which device backs a directory.
//!
//! Each line is `major minor name` followed by counters (kernel `Documentation/admin-guide/iostats.rst`):
//! 11 of them since Linux 2.6 (14 fields), 15 since 4.18 (discards, 18 fields), 17 since 5.5
//! (flushes, 20 fields). Older kernels simply lack the later counters, which then read as 0.
//! The counters only grow (until they wrap); a rate is the difference of two readings.

use super::DiskLabError;
use std::path::{Path, PathBuf};

/// Where Linux publishes the counters.
pub const DISKSTATS_PATH: &str = "/proc/diskstats";
/// Where Linux lists the mounts this process sees.
pub const MOUNTINFO_PATH: &str = "/proc/self/mountinfo";

/// One device's counters at one instant, named as in `iostats.rst`. Times are milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskCounters {
    pub major: u32,
    pub minor: u32,
    pub name: String,
    pub reads_completed: u64,
    pub reads_merged: u64,
    pub sectors_read: u64,
    /// Sum over completed reads of the time each spent from submission to completion.
    pub read_ms: u64,
    pub writes_completed: u64,
    pub writes_merged: u64,
    pub sectors_written: u64,
    /// Sum over completed writes of the time each spent from submission to completion.
    pub write_ms: u64,
    /// Requests submitted and not yet completed, at this instant.
    pub in_flight: u64,
    /// Time during which at least one request was in flight (`tot_ticks`, for `%util`).
    pub io_ms: u64,
    /// Time in flight summed over requests (`rq_ticks`, for `aqu-sz`): the area under the
    /// in-flight curve.
    pub weighted_io_ms: u64,
    pub discards_completed: u64,
    pub discards_merged: u64,
    pub sectors_discarded: u64,
    pub discard_ms: u64,
    pub flushes_completed: u64,
    pub flush_ms: u64,
}

/// Parses the whole text of `/proc/diskstats`. A line with fewer than 14 fields, or a counter
/// that is not a number, is an error that quotes the line.
pub fn parse_diskstats(text: &str) -> Result<Vec<DiskCounters>, DiskLabError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| parse_line(line).map_err(|reason| malformed(index + 1, line, reason)))
        .collect()
}

fn malformed(line_number: usize, line: &str, reason: String) -> DiskLabError {
    DiskLabError::MalformedDiskstats {
        line_number,
        line: line.trim().to_string(),
        reason,
    }
}

fn parse_line(line: &str) -> Result<DiskCounters, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 14 {
        return Err(format!(
            "{} fields; expected 14 (Linux 2.6+), 18 (4.18+) or 20 (5.5+): major minor name counters...",
            fields.len()
        ));
    }
    let number = |i: usize| -> Result<u64, String> {
        match fields.get(i) {
            None => Ok(0), // a counter this kernel does not have yet
            Some(text) => text.parse().map_err(|_| {
                format!(
                    "field {} is {text:?}; expected a non-negative integer",
                    i + 1
                )
            }),
        }
    };
    let device_number = |i: usize| -> Result<u32, String> {
        fields[i].parse().map_err(|_| {
            format!(
                "field {} is {:?}; expected a device number",
                i + 1,
                fields[i]
            )
        })
    };
    Ok(DiskCounters {
        major: device_number(0)?,
        minor: device_number(1)?,
        name: fields[2].to_string(),
        reads_completed: number(3)?,
        reads_merged: number(4)?,
        sectors_read: number(5)?,
        read_ms: number(6)?,
        writes_completed: number(7)?,
        writes_merged: number(8)?,
        sectors_written: number(9)?,
        write_ms: number(10)?,
        in_flight: number(11)?,
        io_ms: number(12)?,
        weighted_io_ms: number(13)?,
        discards_completed: number(14)?,
        discards_merged: number(15)?,
        sectors_discarded: number(16)?,
        discard_ms: number(17)?,
        flushes_completed: number(18)?,
        flush_ms: number(19)?,
    })
}

/// Reads and parses `/proc/diskstats`. On a system without it (macOS, Windows, a container
/// without /proc) this is [`DiskLabError::DiskstatsUnavailable`], never a panic.
pub fn read_diskstats() -> Result<Vec<DiskCounters>, DiskLabError> {
    read_diskstats_at(Path::new(DISKSTATS_PATH))
}

fn read_diskstats_at(path: &Path) -> Result<Vec<DiskCounters>, DiskLabError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| DiskLabError::DiskstatsUnavailable {
            path: path.to_path_buf(),
            reason: source.to_string(),
        })?;
    parse_diskstats(&text)
}

/// Splits a Linux `dev_t` into (major, minor), as glibc's `gnu_dev_major`/`gnu_dev_minor` do:
/// 12 bits of major and 20 of minor, interleaved for compatibility with the old 16-bit layout.
pub fn split_device_number(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// One line of `/proc/self/mountinfo` (`proc(5)`), the parts that lead to a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The `major:minor` the kernel reports for the mount (0:N for filesystems without a device).
    pub device: (u32, u32),
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// The mount source: `/dev/vda1`, `overlay`, `tmpfs`...
    pub source: String,
}

/// Parses `/proc/self/mountinfo`, skipping lines it cannot read.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_mount).collect()
}

fn parse_mount(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (major, minor) = fields.get(2)?.split_once(':')?;
    // Optional fields run up to a lone "-"; then come the type and the source.
    let separator = fields.iter().position(|&f| f == "-")?;
    Some(Mount {
        device: (major.parse().ok()?, minor.parse().ok()?),
        mount_point: PathBuf::from(unescape_mount_field(fields.get(4)?)),
        fs_type: fields.get(separator + 1)?.to_string(),
        source: unescape_mount_field(fields.get(separator + 2)?),
    })
}

/// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`...).
fn unescape_mount_field(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount a path lives on: the longest mount point that is a prefix of it (the last one
/// mounted, if several were stacked on the same point).
pub fn mount_of<'a>(path: &Path, mounts: &'a [Mount]) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.components().count())
}

/// Which line of `/proc/diskstats` counts the I/O of a file on device `dev` (from `stat`) at
/// `path`: the line with the same major:minor; else the line of the mount's device; else the line
/// named like the mount's `/dev/...` source (`resolve` follows `/dev/mapper/x` to `/dev/dm-0`).
/// Filesystems without a block device (tmpfs, overlay, a network share) give
/// [`DiskLabError::NoBlockDevice`] saying what to do instead.
pub fn device_backing<'a>(
    path: &Path,
    dev: (u32, u32),
    disks: &'a [DiskCounters],
    mounts: &[Mount],
    resolve: impl Fn(&str) -> Option<String>,
) -> Result<&'a DiskCounters, DiskLabError> {
    let by_number = |number: (u32, u32)| disks.iter().find(|d| (d.major, d.minor) == number);
    if let Some(disk) = by_number(dev) {
        return Ok(disk);
    }
    let mount = mount_of(path, mounts);
    if let Some(mount) = mount {
        if let Some(disk) = by_number(mount.device) {
            return Ok(disk);
        }
        if mount.source.starts_with("/dev/") {
            let name = resolve(&mount.source).unwrap_or_else(|| mount.source.clone());
            let name = name.rsplit('/').next().unwrap_or_default();
            if let Some(disk) = disks.iter().find(|d| d.name == name) {
                return Ok(disk);
            }
        }
    }
    Err(DiskLabError::NoBlockDevice {
        path: path.to_path_buf(),
        filesystem: mount
            .map(|m| format!("{} (mounted from {})", m.fs_type, m.source))
            .unwrap_or_else(|| format!("device {}:{}", dev.0, dev.1)),
    })
}

/// [`device_backing`] on this machine: `stat` of `dir`, `/proc/diskstats`, `/proc/self/mountinfo`.
pub fn locate_device(dir: &Path) -> Result<DiskCounters, DiskLabError> {
    use std::os::unix::fs::MetadataExt;
    let canonical = dir.canonicalize().map_err(|source| DiskLabError::Io {
        what: format!("cannot resolve {}", dir.display()),
        source,
    })?;
    let metadata = std::fs::metadata(&canonical).map_err(|source| DiskLabError::Io {
        what: format!("cannot stat {}", canonical.display()),
        source,
    })?;
    let disks = read_diskstats()?;
    let mounts = std::fs::read_to_string(MOUNTINFO_PATH)
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default();
    let resolve = |source: &str| {
        let path = Path::new(source).canonicalize().ok()?;
        Some(path.to_string_lossy().into_owned())
    };
    device_backing(
        &canonical,
        split_device_number(metadata.dev()),
        &disks,
        &mounts,
        resolve,
    )
    .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as three kernel generations print them (values made up, shapes real).
    const KERNEL_2_6: &str =
        "   8       0 sda 33167 3812 1124805 428735 28338 77604 850432 3304811 0 384521 3733854\n";
    const KERNEL_4_18: &str =
        " 259       0 nvme0n1 1200 10 96000 300 5000 20 80000 900 1 2000 1250 7 0 56 2\n";
    const KERNEL_6_18: &str = "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n \
        254       0 vda 10783 3911 2131850 11385 3468 30909 2445088 10854 0 7228 23937 4971 75 189448 1457 82 239\n";

    #[test]
    fn fourteen_eighteen_and_twenty_field_lines_all_parse_with_missing_counters_as_zero() {
        // Claim: every kernel generation's line parses; counters a kernel lacks read as 0.
        let old = &parse_diskstats(KERNEL_2_6).unwrap()[0];
        assert_eq!((old.major, old.minor, old.name.as_str()), (8, 0, "sda"));
        assert_eq!(
            (old.writes_completed, old.write_ms, old.weighted_io_ms),
            (28338, 3304811, 3733854)
        );
        assert_eq!((old.discards_completed, old.flushes_completed), (0, 0));

        let discards = &parse_diskstats(KERNEL_4_18).unwrap()[0];
        assert_eq!((discards.discards_completed, discards.discard_ms), (7, 2));
        assert_eq!(discards.flushes_completed, 0);

        let all = parse_diskstats(KERNEL_6_18).unwrap();
        assert_eq!(all.len(), 2);
        let vda = &all[1];
        assert_eq!(
            (vda.io_ms, vda.weighted_io_ms, vda.discards_completed),
            (7228, 23937, 4971)
        );
        assert_eq!((vda.flushes_completed, vda.flush_ms), (82, 239));
    }

    #[test]
    fn a_short_or_garbled_line_is_an_error_that_quotes_it() {
        // Claim: text that is not diskstats is refused with the line and what was expected.
        let short = parse_diskstats("8 0 sda 1 2 3\n").unwrap_err().to_string();
        assert!(
            short.contains("line 1") && short.contains("expected 14"),
            "{short}"
        );
        let garbled = parse_diskstats(&KERNEL_2_6.replace("28338", "many"))
            .unwrap_err()
            .to_string();
        assert!(
            garbled.contains("\"many\"") && garbled.contains("non-negative integer"),
            "{garbled}"
        );
        assert_eq!(parse_diskstats("").unwrap(), vec![]);
    }

    #[test]
    fn a_missing_diskstats_file_is_an_error_that_says_what_to_do_instead() {
        // Claim: where the counters do not exist (another OS, a container without /proc) the
        // lab gets an error value naming the file and an alternative, not a panic.
        let dir = tempfile::tempdir().unwrap();
        let error = read_diskstats_at(&dir.path().join("diskstats")).unwrap_err();
        assert!(matches!(error, DiskLabError::DiskstatsUnavailable { .. }));
        let message = error.to_string();
        assert!(
            message.contains("diskstats") && message.contains("instead"),
            "{message}"
        );
    }

    #[test]
    fn device_numbers_split_like_glibc() {
        // Claim: major and minor come out of both the old 16-bit and the wide dev_t layouts.
        let cases: [(u64, (u32, u32)); 3] = [
            (0xfe00, (254, 0)),               // vda: 254:0
            (0x0801, (8, 1)),                 // sda1
            (0x1_0001_0305, (259, 0x100005)), // wide layout: minor above 255
        ];
        for (dev, expected) in cases {
            assert_eq!(split_device_number(dev), expected, "{dev:#x}");
        }
    }

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 27 0:27 / /tmp rw,relatime shared:5 - tmpfs tmpfs rw
31 27 0:40 / /data rw - btrfs /dev/mapper/data rw
32 27 0:41 / /mnt/my\\040disk rw - ext4 /dev/sdb1 rw
";

    #[test]
    fn the_device_behind_a_path_is_found_by_number_by_mount_or_by_source_name() {
        // Claim: the stat device number wins; a btrfs-style anonymous number falls back to the
        // mount's /dev source (following a symlink); tmpfs has no device and says so.
        let disks = parse_diskstats(
            " 254 0 vda 1 0 0 0 1 0 0 0 0 0 0\n 253 0 dm-0 1 0 0 0 1 0 0 0 0 0 0\n 8 17 sdb1 1 0 0 0 1 0 0 0 0 0 0\n",
        )
        .unwrap();
        let mounts = parse_mountinfo(MOUNTINFO);
        assert_eq!(mounts[4].mount_point, PathBuf::from("/mnt/my disk"));
        let resolve =
            |source: &str| (source == "/dev/mapper/data").then(|| "/dev/dm-0".to_string());
        let find = |path: &str, dev| {
            device_backing(Path::new(path), dev, &disks, &mounts, resolve).map(|d| d.name.clone())
        };
        assert_eq!(find("/work/x", (254, 0)).unwrap(), "vda");
        assert_eq!(find("/data/logs", (0, 40)).unwrap(), "dm-0");
        assert_eq!(find("/mnt/my disk/f", (0, 99)).unwrap(), "sdb1");
        let tmp = find("/tmp/lab", (0, 27)).unwrap_err().to_string();
        assert!(tmp.contains("tmpfs") && tmp.contains("--path"), "{tmp}");
    }
}
