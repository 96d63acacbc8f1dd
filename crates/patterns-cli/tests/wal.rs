//! `patterns wal recover` reports what recovery found, refuses what it must not repair, and
//! never destroys a synced entry or creates a log where there was none.

use patterns::wal::{Log, LogConfig, SEGMENT_HEADER_BYTES, segment_file_name};
use std::path::Path;
use std::process::Command;

fn patterns_wal_recover(dir: &Path) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_patterns"))
        .args(["wal", "recover"])
        .arg(dir)
        .output()
        .expect("the patterns binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A log of five synced entries "set x=1".."set x=5" (frames of 32 bytes) in one segment.
fn five_entries(dir: &Path) -> std::path::PathBuf {
    let mut log = Log::open(dir, LogConfig::default()).unwrap();
    for i in 1..=5 {
        log.append(format!("set x={i}").as_bytes()).unwrap();
    }
    log.close().unwrap();
    dir.join(segment_file_name(1))
}

#[test]
fn wal_recover_reports_the_entries_of_a_sound_log() {
    // Claim: a sound log exits 0 and its entries and segments are listed.
    let dir = tempfile::tempdir().unwrap();
    five_entries(dir.path());
    let (status, stdout, stderr) = patterns_wal_recover(dir.path());
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stdout.contains("recovered 5 entries"), "{stdout}");
    assert!(stdout.contains("entries 1..=5"), "{stdout}");
}

#[test]
fn wal_recover_on_a_missing_path_reports_it_and_creates_nothing() {
    // Claim: a path with no directory is bad input: exit 2, a message saying so, and no log
    // created there (issue 10, item 9).
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("no-such-log");
    let (status, _, stderr) = patterns_wal_recover(&missing);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(stderr.contains("no-such-log"), "{stderr}");
    assert!(!missing.exists(), "nothing was created");
}

#[test]
fn wal_recover_on_a_directory_without_segments_creates_nothing() {
    // Claim: an existing directory that holds no segment is not a log: exit 2, left empty.
    let dir = tempfile::tempdir().unwrap();
    let (status, _, stderr) = patterns_wal_recover(dir.path());
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("no segment"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn wal_recover_refuses_a_flipped_bit_before_synced_entries_and_changes_nothing() {
    // Claim: one flipped bit in the second frame of the newest segment, with three synced
    // entries after it, is corruption: exit 1, the segment and byte named, and the file left
    // byte for byte as it was, however often recovery is run (issue 10, item 7).
    let dir = tempfile::tempdir().unwrap();
    let segment = five_entries(dir.path());
    let mut bytes = std::fs::read(&segment).unwrap();
    let second_frame = SEGMENT_HEADER_BYTES as usize + 32;
    bytes[second_frame + 27] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    for _ in 0..2 {
        let (status, _, stderr) = patterns_wal_recover(dir.path());
        assert_eq!(status, Some(1), "{stderr}");
        assert!(stderr.contains("00000000000000000001.log"), "{stderr}");
        assert!(stderr.contains(&format!("byte {second_frame}")), "{stderr}");
        assert_eq!(std::fs::read(&segment).unwrap(), bytes, "nothing changed");
    }
}

#[test]
fn wal_recover_cuts_a_torn_tail_and_says_so() {
    // Claim: garbage after the last frame, with nothing valid after it, is a torn tail: exit 0,
    // the cut reported, the five entries kept.
    let dir = tempfile::tempdir().unwrap();
    let segment = five_entries(dir.path());
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[0xA5; 40]);
    std::fs::write(&segment, &bytes).unwrap();
    let (status, stdout, stderr) = patterns_wal_recover(dir.path());
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stdout.contains("cut 40 bytes"), "{stdout}");
    assert!(stdout.contains("entries 1..=5"), "{stdout}");
}

#[test]
fn wal_recover_refuses_a_segment_named_outside_the_index_space() {
    // Claim: a segment named index 0 is an error naming the file, never a panic (issue 10,
    // item 8).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(segment_file_name(0)), b"").unwrap();
    let (status, _, stderr) = patterns_wal_recover(dir.path());
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("00000000000000000000.log"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
