//! The reference's `WriteAheadLogTest` (spec §3.1 #1–#13), adapted, then recovery and bad input.
//!
//! Adaptations: sizes are computed from this frame format (25-byte frame header, 20-byte segment
//! header) instead of the reference's 40-byte entries; #8 (null config) cannot be expressed in
//! Rust, so it checks an unusable configuration instead; #11 asserted a wall-clock bound, which is
//! a benchmark's job; #12 now also asks for exactly a segment's first index, the case the
//! reference got wrong; #13 depended on the file system's block size being 4096, so the block
//! size is now a setting. The rest of §3.1 lives next to its code: #14 in `kv.rs`, #15–#18 in
//! `log_store.rs`, #21–#22 as rows of the padding table in `entry.rs`; #19–#20 compared wall-clock
//! times and printed an explanation, so they became `benches/wal.rs` and the notebook's
//! group-commit section.

use super::*;
use crate::wal::{EntryKind, ScratchDir, SimulatedFileSystem, Tear, WalError};
use std::sync::Arc;

fn config(segment_bytes_max: u64) -> LogConfig {
    LogConfig {
        segment_bytes_max,
        ..LogConfig::default()
    }
}

/// A segment size that holds exactly `entries` entries of `payload_bytes` each.
fn segment_for(entries: u64, payload_bytes: usize) -> u64 {
    SEGMENT_HEADER_BYTES + entries * frame_bytes(payload_bytes) as u64
}

fn payloads(log: &Log) -> Vec<Vec<u8>> {
    log.read_all()
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect()
}

fn indexes(log: &Log) -> Vec<u64> {
    log.read_all().unwrap().iter().map(|e| e.index).collect()
}

#[test]
fn reads_at_an_index_find_entries_in_closed_segments() {
    // Claim: read_at finds entries wherever their segment is (spec §3.1 #1).
    let dir = ScratchDir::new("wal-1").unwrap();
    let text = |n| format!("Entry {n} - some data to fill space");
    let mut log = Log::open(dir.path(), config(segment_for(2, 33))).unwrap();
    for n in 1..=5 {
        log.append(text(n).as_bytes()).unwrap();
    }
    log.sync().unwrap();
    let segments = log.segments();
    assert_eq!(segments.len(), 3, "segments {{1,2}}, {{3,4}}, open {{5}}");
    assert_eq!(
        segments.iter().map(|s| s.first_index).collect::<Vec<_>>(),
        vec![1, 3, 5]
    );
    let first = log.read_at(1).unwrap();
    assert_eq!((first.index, first.payload), (1, text(1).into_bytes()));
    assert_eq!(log.read_at(3).unwrap().index, 3);
}

#[test]
fn truncating_within_the_open_segment_removes_the_entry_and_all_after_it() {
    // Claim: truncate(3) of five entries leaves 1 and 2 (spec §3.1 #2).
    let dir = ScratchDir::new("wal-2").unwrap();
    let mut log = Log::open(dir.path(), config(10 << 10)).unwrap();
    for n in 1..=5 {
        log.append(format!("Entry {n}").as_bytes()).unwrap();
    }
    log.sync().unwrap();
    assert_eq!(log.segments().len(), 1);
    log.truncate(3).unwrap();
    assert_eq!(indexes(&log), vec![1, 2]);
    assert_eq!(log.last_index(), 2);
    assert!(log.read_at(3).is_err());
}

#[test]
fn truncating_inside_a_closed_segment_removes_later_segments() {
    // Claim: truncate(4) with segments {1,2}, {3,4}, {5,6} keeps 1..3, and the next append gets
    // index 4 (spec §3.1 #3), also after reopening.
    let dir = ScratchDir::new("wal-3").unwrap();
    let cfg = || config(segment_for(2, 60));
    let mut log = Log::open(dir.path(), cfg()).unwrap();
    for _ in 0..6 {
        log.append(&[0; 60]).unwrap();
    }
    log.sync().unwrap();
    assert_eq!(log.segments().len(), 3);
    log.truncate(4).unwrap();
    assert_eq!(indexes(&log), vec![1, 2, 3]);
    assert_eq!(log.last_index(), 3);
    assert_eq!(log.segments().len(), 2);
    assert_eq!(log.append(b"new four").unwrap(), 4);
    log.sync().unwrap();
    drop(log);
    let log = Log::open(dir.path(), cfg()).unwrap();
    assert_eq!(indexes(&log), vec![1, 2, 3, 4]);
    assert_eq!(log.read_at(4).unwrap().payload, b"new four");
}

#[test]
fn truncating_at_the_first_entry_empties_the_log() {
    // Claim: truncate(1) leaves nothing, and numbering restarts at 1 (spec §3.1 #4).
    let dir = ScratchDir::new("wal-4").unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
    for n in 1..=3 {
        log.append(format!("Entry {n}").as_bytes()).unwrap();
    }
    log.truncate(1).unwrap();
    assert!(log.is_empty());
    assert!(log.read_all().unwrap().is_empty());
    assert_eq!(log.last_index(), 0);
    assert_eq!(log.append(b"again").unwrap(), 1);
}

#[test]
fn truncation_keeps_the_entries_before_it_in_order() {
    // Claim: truncate(4) of five keeps 1, 2, 3 in order; the next index is 4 (spec §3.1 #5).
    let dir = ScratchDir::new("wal-5").unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
    for n in 1..=5 {
        log.append(format!("Entry {n}").as_bytes()).unwrap();
    }
    log.truncate(4).unwrap();
    assert_eq!(
        payloads(&log),
        vec![
            b"Entry 1".to_vec(),
            b"Entry 2".to_vec(),
            b"Entry 3".to_vec()
        ]
    );
    assert_eq!(log.append(b"Entry 4'").unwrap(), 4);
}

#[test]
fn truncating_at_the_last_index_removes_only_that_entry_and_after() {
    // Claim: truncate(3) of four keeps 1 and 2 (spec §3.1 #6).
    let dir = ScratchDir::new("wal-6").unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
    for n in 1..=4 {
        log.append(format!("Entry {n}").as_bytes()).unwrap();
    }
    log.truncate(3).unwrap();
    assert_eq!(indexes(&log), vec![1, 2]);
    assert_eq!(log.last_index(), 2);
}

#[test]
fn opening_a_missing_directory_creates_it() {
    // Claim: a log can be opened where no directory exists yet (spec §3.1 #7).
    let parent = ScratchDir::new("wal-7").unwrap();
    let dir = parent.path().join("not").join("yet");
    let mut log = Log::open(&dir, LogConfig::default()).unwrap();
    assert_eq!(log.append(b"first").unwrap(), 1);
    assert!(dir.is_dir());
}

#[test]
fn an_unusable_configuration_is_refused_with_the_reason() {
    // Claim: a segment too small for one entry is rejected up front (spec §3.1 #8 rejected a
    // null configuration, which Rust cannot express).
    let dir = ScratchDir::new("wal-8").unwrap();
    let err = Log::open(dir.path(), config(10)).unwrap_err();
    assert!(matches!(err, WalError::InvalidConfig { .. }));
    assert!(err.to_string().contains("segment_bytes_max is 10"), "{err}");
}

#[test]
fn reading_from_an_empty_log_is_an_index_out_of_range_error() {
    // Claim: an empty log says so, and read_at(1) names the range (spec §3.1 #9).
    let dir = ScratchDir::new("wal-9").unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert!(log.is_empty());
    let err = log.read_at(1).unwrap_err();
    assert!(matches!(err, WalError::IndexOutOfRange { index: 1, .. }));
    assert!(err.to_string().contains("the log is empty"), "{err}");
}

#[test]
fn a_reopened_log_recovers_its_segments_and_continues_numbering() {
    // Claim: after close and reopen every entry reads back and the next index follows the last
    // (spec §3.1 #10).
    let dir = ScratchDir::new("wal-10").unwrap();
    let cfg = || config(segment_for(2, 18));
    let mut log = Log::open(dir.path(), cfg()).unwrap();
    for n in 1..=3 {
        log.append(format!("Persistent entry {n}").as_bytes())
            .unwrap();
    }
    log.close().unwrap();
    let mut log = Log::open(dir.path(), cfg()).unwrap();
    assert_eq!(log.recovery().entries, 3);
    assert_eq!(log.recovery().segments, 2);
    assert_eq!(log.read_at(1).unwrap().payload, b"Persistent entry 1");
    assert_eq!(log.read_at(3).unwrap().payload, b"Persistent entry 3");
    assert_eq!(log.append(b"next").unwrap(), 4);
}

#[test]
fn many_small_segments_read_back_completely_and_in_order() {
    // Claim: 50 entries over 25 segments read back as 1..=50 (spec §3.1 #11, without its
    // wall-clock assertion: speed is the benchmark's business).
    let dir = ScratchDir::new("wal-11").unwrap();
    let mut log = Log::open(dir.path(), config(segment_for(2, 8))).unwrap();
    for i in 1..=50 {
        log.append(format!("Entry {i:02}").as_bytes()).unwrap();
    }
    log.sync().unwrap();
    assert_eq!(log.segments().len(), 25);
    assert_eq!(indexes(&log), (1..=50).collect::<Vec<_>>());
}

#[test]
fn reading_from_an_index_is_correct_at_and_across_segment_boundaries() {
    // Claim: read_from(i) returns i..=last in order for every i, including a segment's first
    // index (the reference skipped it and concatenated segments newest first, §2.3.3).
    let dir = ScratchDir::new("wal-12").unwrap();
    let mut log = Log::open(dir.path(), config(segment_for(2, 60))).unwrap();
    for i in 1..=7u8 {
        log.append(&[i; 60]).unwrap();
    }
    assert_eq!(
        log.segments()
            .iter()
            .map(|s| s.first_index)
            .collect::<Vec<_>>(),
        vec![1, 3, 5, 7]
    );
    for from in 1..=8 {
        let got: Vec<u64> = log
            .read_from(from)
            .unwrap()
            .iter()
            .map(|e| e.index)
            .collect();
        assert_eq!(got, (from..=7).collect::<Vec<_>>(), "read_from({from})");
    }
    assert!(log.read_from(9).is_err());
}

#[test]
fn padding_aligns_writes_and_is_invisible_to_readers() {
    // Claim: with a block size set, each write ends on a block boundary, and reading returns the
    // entry alone, identical (spec §3.1 #13, with the block size a setting instead of the file
    // system's, so it passes on any machine).
    let dir = ScratchDir::new("wal-13").unwrap();
    let cfg = || LogConfig {
        block_bytes: Some(4096),
        write_buffer_bytes: 0,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), cfg()).unwrap();
    let data: Vec<u8> = (0..4095u32).map(|i| i as u8).collect();
    assert_eq!(log.append(&data).unwrap(), 1);
    log.append(b"second").unwrap();
    log.sync().unwrap();
    assert_eq!(log.segments()[0].bytes % 4096, 0);
    let entries = log.read_all().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].payload, data);
    drop(log);
    let log = Log::open(dir.path(), cfg()).unwrap();
    assert_eq!(payloads(&log), vec![data, b"second".to_vec()]);
}

#[test]
fn timestamps_survive_a_reopen_and_drive_age_based_cleaning() {
    // Claim: stored timestamps come back after a restart (the reference replaced them with
    // "now"), so cleaning by age removes exactly the old segments. Time is passed in.
    let dir = ScratchDir::new("wal-age").unwrap();
    let cfg = || config(segment_for(2, 4));
    let mut log = Log::open(dir.path(), cfg()).unwrap();
    for (t, payload) in [
        (1_000, b"old1"),
        (2_000, b"old2"),
        (3_000, b"mid3"),
        (9_000, b"new4"),
        (9_500, b"new5"),
    ] {
        log.append_entry(EntryKind::Data, t, payload).unwrap();
    }
    log.close().unwrap();
    let mut log = Log::open(dir.path(), cfg()).unwrap();
    assert_eq!(log.read_at(2).unwrap().timestamp_ms, 2_000);
    // Segments: {1,2} newest at 2 000, {3,4} newest at 9 000, open {5}.
    assert_eq!(log.clean_older_than(10_000, 7_500).unwrap(), 1);
    assert_eq!(log.first_index(), 3);
    assert_eq!(
        log.clean_older_than(10_000, 500).unwrap(),
        1,
        "the open segment stays"
    );
    assert_eq!(indexes(&log), vec![5]);
    drop(log);
    let log = Log::open(dir.path(), cfg()).unwrap();
    assert_eq!(
        log.first_index(),
        5,
        "the start index survives cleaning and reopening"
    );
    assert!(matches!(
        log.read_at(2),
        Err(WalError::IndexOutOfRange { .. })
    ));
}

#[test]
fn cleaning_by_index_keeps_every_entry_at_or_after_it() {
    // Claim: clean_before(i) removes only whole segments below i, never the open one.
    let dir = ScratchDir::new("wal-clean").unwrap();
    let mut log = Log::open(dir.path(), config(segment_for(2, 1))).unwrap();
    for i in 1..=9u8 {
        log.append(&[i]).unwrap();
    }
    assert_eq!(
        log.clean_before(4).unwrap(),
        1,
        "{{1,2}} goes, {{3,4}} holds 3"
    );
    assert_eq!(log.first_index(), 3);
    assert_eq!(log.clean_before(100).unwrap(), 3);
    assert_eq!(indexes(&log), vec![9]);
}

fn simulated() -> (Arc<SimulatedFileSystem>, LogConfig) {
    let disk = Arc::new(SimulatedFileSystem::new());
    let cfg = LogConfig {
        write_buffer_bytes: 0,
        ..LogConfig::on(disk.clone())
    };
    (disk, cfg)
}

#[test]
fn recovery_cuts_a_torn_tail_and_keeps_every_synced_entry() {
    // Claim: an unsynced entry torn by a power failure is cut off on reopen; the synced ones
    // stay, and the report says how many bytes were cut and why.
    let (disk, cfg) = simulated();
    let mut log = Log::open("/wal", cfg.clone()).unwrap();
    for i in 1..=3 {
        log.append(format!("set x={i}").as_bytes()).unwrap();
    }
    log.sync().unwrap();
    log.append(&[b'!'; 700]).unwrap();
    disk.restart(Tear::LastWrite);
    let log = Log::open("/wal", cfg).unwrap();
    assert_eq!(indexes(&log), vec![1, 2, 3]);
    let cut = log
        .recovery()
        .tail_cut
        .clone()
        .expect("a torn tail was cut");
    assert_eq!(cut.bytes_cut, 512 - (cut.offset_bytes % 512));
    assert!(cut.reason.contains("torn"), "{}", cut.reason);
}

#[test]
fn a_log_stops_after_a_failed_sync_and_reopening_recovers_the_durable_entries() {
    // Claim: after an I/O error the log refuses writes (nothing can be promised any more), and
    // a reopen finds every entry acknowledged before the failure.
    let (disk, cfg) = simulated();
    let mut log = Log::open("/wal", cfg.clone()).unwrap();
    log.append(b"durable").unwrap();
    log.sync().unwrap();
    log.append(b"doomed").unwrap();
    disk.fail_power_at(1);
    assert!(matches!(log.sync(), Err(WalError::Io { .. })));
    assert!(matches!(log.append(b"more"), Err(WalError::Stopped { .. })));
    disk.restart(Tear::None);
    let log = Log::open("/wal", cfg).unwrap();
    assert_eq!(payloads(&log), vec![b"durable".to_vec()]);
}

// Bad input: every case gives a clear error and loses nothing acknowledged.

#[test]
fn a_log_directory_that_is_a_file_is_refused() {
    // Claim: a file where the directory should be is named in the error, and left alone.
    let parent = ScratchDir::new("wal-bad-file").unwrap();
    let path = parent.path().join("wal");
    std::fs::write(&path, b"precious").unwrap();
    let err = Log::open(&path, LogConfig::default()).unwrap_err();
    assert!(matches!(err, WalError::DirectoryIsAFile { .. }));
    assert!(err.to_string().contains("is a file"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

#[test]
fn a_directory_without_permission_is_an_io_error_naming_the_path() {
    // Claim: "permission denied" reaches the caller with the operation and path. The tests run
    // as root, whom file modes never stop, so the denial comes from the simulated disk; on the
    // real disk /sys refuses even root a new directory.
    let (disk, cfg) = simulated();
    disk.deny("/locked");
    let err = Log::open("/locked/wal", cfg).unwrap_err();
    match &err {
        WalError::Io { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied)
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert!(err.to_string().contains("/locked/wal"), "{err}");
    let real = Log::open("/sys/patterns-wal-test", LogConfig::default()).unwrap_err();
    assert!(matches!(real, WalError::Io { .. }), "{real}");
}

#[test]
fn a_segment_full_of_garbage_is_refused_and_nothing_is_lost() {
    // Claim: garbage where a segment should be is an error naming the file, not an empty log;
    // the files are left as they were, so moving the garbage away recovers every entry.
    let dir = ScratchDir::new("wal-garbage").unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
    for i in 1..=3 {
        log.append(format!("entry {i}").as_bytes()).unwrap();
    }
    log.close().unwrap();
    let garbage_path = dir.path().join(segment_file_name(4));
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&garbage_path, &garbage).unwrap();
    let err = Log::open(dir.path(), LogConfig::default()).unwrap_err();
    assert!(matches!(err, WalError::CorruptSegment { .. }));
    assert!(
        err.to_string().contains("00000000000000000004.log"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&garbage_path).unwrap(),
        garbage,
        "left untouched"
    );
    std::fs::remove_file(&garbage_path).unwrap();
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(indexes(&log), vec![1, 2, 3]);
}

#[test]
fn damage_inside_an_older_segment_is_refused_rather_than_cut() {
    // Claim: a bad frame in a segment other than the newest held synced entries, so the log
    // refuses to open instead of dropping them and everything after.
    let (disk, cfg) = simulated();
    let cfg = LogConfig {
        segment_bytes_max: segment_for(2, 5),
        ..cfg
    };
    let mut log = Log::open("/wal", cfg.clone()).unwrap();
    for _ in 0..5 {
        log.append(b"12345").unwrap();
    }
    log.close().unwrap();
    let first = std::path::Path::new("/wal").join(segment_file_name(1));
    disk.corrupt(&first, SEGMENT_HEADER_BYTES as usize + 30, b"\xff");
    let err = Log::open("/wal", cfg).unwrap_err();
    assert!(
        matches!(&err, WalError::CorruptSegment { offset_bytes, .. } if *offset_bytes == 50),
        "{err}"
    );
}

#[test]
fn indexes_out_of_range_are_errors_that_name_the_range() {
    // Claim: reads and truncations outside first..=last say what the log holds.
    let dir = ScratchDir::new("wal-range").unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
    for _ in 0..3 {
        log.append(b"x").unwrap();
    }
    for index in [0, 4, u64::MAX] {
        let err = log.read_at(index).unwrap_err();
        assert!(err.to_string().contains("holds entries 1..=3"), "{err}");
    }
    assert!(matches!(
        log.read_from(5),
        Err(WalError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        log.truncate(0),
        Err(WalError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        log.truncate(9),
        Err(WalError::IndexOutOfRange { .. })
    ));
    assert_eq!(indexes(&log), vec![1, 2, 3], "nothing changed");
}

#[test]
fn a_payload_larger_than_a_segment_is_refused_and_the_log_keeps_working() {
    // Claim: an entry that cannot fit in a segment is an error saying the limit, and the log
    // goes on with its earlier entries intact.
    let dir = ScratchDir::new("wal-big").unwrap();
    let cfg = config(1024);
    let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
    log.append(b"before").unwrap();
    let err = log.append(&vec![0; 2000]).unwrap_err();
    assert!(
        matches!(err, WalError::EntryTooLarge { payload_bytes: 2000, max_bytes } if max_bytes == cfg.payload_bytes_max())
    );
    assert!(err.to_string().contains("at most 979 bytes"), "{err}");
    assert_eq!(
        log.append(&vec![1; 979]).unwrap(),
        2,
        "the largest payload fits"
    );
    log.close().unwrap();
    let log = Log::open(dir.path(), cfg).unwrap();
    assert_eq!(indexes(&log), vec![1, 2]);
}

mod model {
    //! The log against a plain vector, over random operation sequences.
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Append(usize),
        Sync,
        Truncate(u64),
        CleanBefore(u64),
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0usize..90).prop_map(Op::Append),
            2 => Just(Op::Sync),
            1 => (0u64..12).prop_map(Op::Truncate),
            1 => (0u64..12).prop_map(Op::CleanBefore),
            1 => Just(Op::Reopen),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_log_reads_like_a_vector_under_any_sequence_of_operations(ops in proptest::collection::vec(op(), 1..60)) {
            // Claim: after every operation (appends rolling small segments, syncs, truncations,
            // cleanings, clean reopens) the log holds exactly what a vector model holds, from its
            // first index on, and read_from agrees with read_all at every index.
            let disk = Arc::new(SimulatedFileSystem::new());
            let config = LogConfig { segment_bytes_max: 160, write_buffer_bytes: 64, ..LogConfig::on(disk.clone()) };
            let mut log = Log::open("/m", config.clone()).unwrap();
            let mut model: Vec<(u64, Vec<u8>)> = Vec::new();
            let mut written = 0u64;
            for op in ops {
                match op {
                    Op::Append(len) => {
                        written += 1;
                        let payload = vec![(written % 251) as u8; len];
                        let index = log.append(&payload).unwrap();
                        prop_assert_eq!(index, model.last().map_or(log.first_index(), |e| e.0 + 1));
                        model.push((index, payload));
                    }
                    Op::Sync => prop_assert_eq!(log.sync().unwrap(), log.last_index()),
                    Op::Truncate(back) => {
                        let from = log.next_index().saturating_sub(back).max(log.first_index());
                        log.truncate(from).unwrap();
                        model.retain(|e| e.0 < from);
                    }
                    Op::CleanBefore(ahead) => {
                        log.clean_before(log.first_index() + ahead).unwrap();
                        let first = log.first_index();
                        model.retain(|e| e.0 >= first);
                    }
                    Op::Reopen => {
                        log.sync().unwrap();
                        drop(log);
                        log = Log::open("/m", config.clone()).unwrap();
                    }
                }
                let got: Vec<(u64, Vec<u8>)> = log.read_all().unwrap().into_iter().map(|e| (e.index, e.payload)).collect();
                prop_assert_eq!(&got, &model);
                if let Some(middle) = model.get(model.len() / 2) {
                    let tail = log.read_from(middle.0).unwrap();
                    prop_assert_eq!(tail.len(), model.len() - model.len() / 2);
                    prop_assert_eq!(&log.read_at(middle.0).unwrap().payload, &middle.1);
                }
            }
        }
    }
}

// Issue 10: damage that is not a torn tail, names at the edges of u64, a directory that must be
// durable, and a header that padding must protect.

/// Five synced entries in one segment on a simulated disk; returns the disk, the config and the
/// segment's path.
fn five_synced_entries() -> (Arc<SimulatedFileSystem>, LogConfig, std::path::PathBuf) {
    let (disk, cfg) = simulated();
    let mut log = Log::open("/wal", cfg.clone()).unwrap();
    for i in 1..=5 {
        log.append(format!("set x={i}").as_bytes()).unwrap();
    }
    log.sync().unwrap();
    drop(log);
    let segment = std::path::Path::new("/wal").join(segment_file_name(1));
    (disk, cfg, segment)
}

#[test]
fn a_flipped_bit_before_valid_frames_in_the_newest_segment_is_corruption_not_a_torn_tail() {
    // Claim: damage followed by valid frames is corruption even in the newest segment: the log
    // refuses to open, names the segment and the offset of the bad frame, and changes nothing
    // on disk, so the synced entries after it can still be rescued (issue 10, item 7).
    let (disk, cfg, segment) = five_synced_entries();
    let second_frame = SEGMENT_HEADER_BYTES as usize + frame_bytes(7);
    disk.corrupt(&segment, second_frame + 27, b"\x01");
    let before = disk.durable_bytes(&segment).unwrap();
    let err = Log::open("/wal", cfg.clone()).unwrap_err();
    match &err {
        WalError::CorruptSegment {
            path, offset_bytes, ..
        } => {
            assert_eq!(path, &segment);
            assert_eq!(*offset_bytes, second_frame as u64);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("00000000000000000001.log"), "{message}");
    assert!(
        message.contains(&format!("byte {second_frame}")),
        "{message}"
    );
    assert_eq!(disk.durable_bytes(&segment).unwrap(), before, "nothing cut");
    assert!(Log::open("/wal", cfg).is_err(), "and it still refuses");
}

#[test]
fn damage_with_nothing_valid_after_it_is_a_torn_tail_and_is_cut() {
    // Claim: the same flipped bit in the last frame leaves nothing valid after it: a torn tail,
    // which recovery cuts, keeping the four entries before it.
    let (disk, cfg, segment) = five_synced_entries();
    let last_frame = SEGMENT_HEADER_BYTES as usize + 4 * frame_bytes(7);
    disk.corrupt(&segment, last_frame + 27, b"\x01");
    let log = Log::open("/wal", cfg).unwrap();
    assert_eq!(indexes(&log), vec![1, 2, 3, 4]);
    assert_eq!(
        log.recovery().tail_cut.as_ref().unwrap().offset_bytes,
        last_frame as u64
    );
}

#[test]
fn zeros_followed_by_valid_frames_are_a_torn_tail_of_pages_written_out_of_order() {
    // Claim: a run of zeros where frames should be, then valid frames, is what a crash leaves
    // when a later unsynced write reached the disk and an earlier one did not (the kernel writes
    // dirty pages back in any order). A sync covers every byte before it, so the frames after
    // the zeros were never synced: they are cut, and the log opens.
    let (disk, cfg, segment) = five_synced_entries();
    let fourth_frame = SEGMENT_HEADER_BYTES as usize + 3 * frame_bytes(7);
    disk.corrupt(&segment, fourth_frame, &[0; 32]);
    let log = Log::open("/wal", cfg).unwrap();
    assert_eq!(indexes(&log), vec![1, 2, 3]);
}

#[test]
fn segment_names_at_the_edges_of_u64_are_errors_not_panics() {
    // Claim: index 0 is never used, u64::MAX leaves no next index and 20 digits can exceed
    // u64: a segment so named is refused with an error naming it (issue 10, item 8).
    for (name, header_index) in [
        ("00000000000000000000.log", Some(0)),
        ("00000000000000000000.log", None),
        ("18446744073709551615.log", Some(u64::MAX)),
        ("99999999999999999999.log", None),
    ] {
        let (disk, cfg) = simulated();
        disk.create_dir_all(std::path::Path::new("/wal")).unwrap();
        let file = disk
            .open(&std::path::Path::new("/wal").join(name), true)
            .unwrap();
        if let Some(index) = header_index {
            file.write_at(0, &segment_header(index)).unwrap();
        }
        let err = Log::open("/wal", cfg).unwrap_err();
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
}

#[test]
fn a_log_whose_index_space_is_exhausted_refuses_appends() {
    // Claim: a segment starting just below u64::MAX holds one entry; the next append is an
    // error, not an overflow, and the log still reads and reopens.
    let (disk, cfg) = simulated();
    let dir = std::path::Path::new("/wal");
    disk.create_dir_all(dir).unwrap();
    let first = u64::MAX - 1;
    let file = disk
        .open(&dir.join(segment_file_name(first)), true)
        .unwrap();
    let mut bytes = segment_header(first);
    encode_frame(first, EntryKind::Data, 0, b"last", &mut bytes);
    file.write_at(0, &bytes).unwrap();
    let mut log = Log::open(dir, cfg.clone()).unwrap();
    assert_eq!(log.last_index(), first);
    assert_eq!(log.read_at(first).unwrap().payload, b"last");
    let err = log.append(b"one too many").unwrap_err();
    assert!(err.to_string().contains("no index left"), "{err}");
    drop(log);
    assert_eq!(Log::open(dir, cfg).unwrap().last_index(), first);
}

#[test]
fn a_new_log_directory_survives_a_crash_once_an_entry_is_acknowledged() {
    // Claim: the log makes the directories it creates durable (it syncs each one's parent), so
    // an acknowledged entry does not vanish with its directory (issue 10, item 10).
    let (disk, cfg) = simulated();
    let dir = std::path::Path::new("/data/logs/wal");
    let mut log = Log::open(dir, cfg.clone()).unwrap();
    log.append(b"acknowledged").unwrap();
    log.sync().unwrap();
    disk.restart(Tear::None);
    let log = Log::open(dir, cfg).unwrap();
    assert_eq!(payloads(&log), vec![b"acknowledged".to_vec()]);
}

#[test]
fn a_whole_sector_torn_during_the_first_write_into_a_segment_leaves_a_log_that_opens() {
    // Claim: with block padding the segment header has its own block, so a torn write that
    // garbles the whole sector it stopped in cannot reach the header (issue 10, item 11). First
    // writes of several sizes stop in the first, second and third sector.
    for payload_bytes in [1usize, 100, 300, 480, 700, 1500] {
        let (disk, cfg) = simulated();
        let cfg = LogConfig {
            block_bytes: Some(512),
            ..cfg
        };
        disk.create_dir_all(std::path::Path::new("/wal")).unwrap();
        disk.sync_dir(std::path::Path::new("/")).unwrap();
        let mut log = Log::open("/wal", cfg.clone()).unwrap();
        log.append(&vec![7; payload_bytes]).unwrap();
        disk.fail_power_at(1);
        assert!(log.sync().is_err(), "the power failed during the sync");
        disk.restart(Tear::Sector);
        let segment = std::path::Path::new("/wal").join(segment_file_name(1));
        assert!(
            disk.durable_bytes(&segment).is_some(),
            "the segment survived"
        );
        let log = Log::open("/wal", cfg).unwrap_or_else(|e| panic!("payload {payload_bytes}: {e}"));
        // The entry was never acknowledged: gone, or whole if its frame was in the half kept.
        let entries = log.read_all().unwrap();
        assert!(entries.len() <= 1, "payload {payload_bytes}");
        assert!(entries.iter().all(|e| e.payload == vec![7; payload_bytes]));
    }
}

#[test]
fn padding_keeps_every_write_of_a_segment_in_its_own_blocks() {
    // Claim: with 4 KiB padding the header has its own block, the 4,095-byte entry starts on a
    // block boundary and a padding frame follows it up to the next one, so the second entry
    // starts on a boundary too (the reference's #13 checked the padding entry after the 4,095
    // bytes; checking each entry's offset also catches padding applied only at a batch's end).
    let dir = ScratchDir::new("wal-13-align").unwrap();
    let cfg = LogConfig {
        block_bytes: Some(4096),
        write_buffer_bytes: 0,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), cfg).unwrap();
    let data: Vec<u8> = (0..4095u32).map(|i| i as u8).collect();
    log.append(&data).unwrap();
    log.append(b"second").unwrap();
    log.sync().unwrap();
    let bytes = std::fs::read(dir.path().join(segment_file_name(1))).unwrap();
    let spans = crate::wal::segment_layout(&bytes);
    let parts: Vec<(usize, &crate::wal::SegmentPart)> =
        spans.iter().map(|s| (s.start_bytes, &s.part)).collect();
    use crate::wal::SegmentPart::{Entry as At, Header, Padding};
    assert_eq!(
        parts,
        vec![
            (0, &Header),
            (20, &Padding),
            (4096, &At { index: 1 }),
            (4096 + frame_bytes(4095), &Padding),
            (12288, &At { index: 2 }),
            (12288 + frame_bytes(6), &Padding),
        ]
    );
    assert_eq!(bytes.len(), 16384);
}
