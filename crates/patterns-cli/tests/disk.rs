//! `patterns disk` refuses bad input with exit status 2 and a message saying what was expected.

use std::process::Command;

fn patterns_disk(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_patterns"))
        .arg("disk")
        .args(args)
        .output()
        .expect("the patterns binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_disk_lab_arguments_exit_2_with_what_was_expected() {
    // Claim: each kind of bad input is refused before any write, with status 2 and a message
    // naming the parameter and the accepted range.
    let cases: [(&[&str], &str); 5] = [
        (&["--block-size", "4g"], "like 4k"),
        (&["--block-size", "1000"], "multiple of 512"),
        (&["--seconds", "0"], "0 is not in 1..=3600"),
        (&["--writers", "0"], "0 is not in 1..=256"),
        (&["--path", "/definitely/not/here"], "an existing directory"),
    ];
    for (args, expected) in cases {
        let (status, stderr) = patterns_disk(args);
        assert_eq!(status, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn a_directory_without_a_block_device_is_refused_with_what_to_do() {
    // Claim: on a filesystem with no device in /proc/diskstats (here /dev/shm, a tmpfs, when the
    // machine has one) the lab exits 2 and says to pass --path on a disk-backed filesystem.
    let exists = |path: &str| std::path::Path::new(path).exists();
    if !exists("/dev/shm") || !exists("/proc/diskstats") {
        return;
    }
    let (status, stderr) = patterns_disk(&["--path", "/dev/shm", "--seconds", "1"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--path"), "{stderr}");
}
