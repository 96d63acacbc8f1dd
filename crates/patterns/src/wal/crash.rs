//! Crash testing: cut the power at every operation of a workload and check what recovery finds.
//!
//! A workload runs on a fresh [`SimulatedFileSystem`] whose power fails at operation k (every
//! write, sync, truncate, create, rename and removal is an operation). The workload stops at the
//! first error and reports what was acknowledged; the disk restarts (unsynced bytes lost, and in
//! a second run the last write torn); the log or store is reopened and checked. This is done for
//! every k, plus once with the power failing just after the workload ends. The claims checked,
//! as turmoil's durability tests state them: synced data survives, unsynced data may not, and
//! nothing else appears.

use super::{
    Command, DurableKvStore, Entry, FileSystem, Log, LogConfig, SimulatedFileSystem, Tear,
    WalError, entry::EntryKind,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Where the power failed: during the `operation`-th mutating operation, with the last write
/// torn or not.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CrashPoint {
    /// The failing operation, counted from 1.
    pub operation: u64,
    /// What became of the last unsynced write.
    pub tear: Tear,
}

/// A crash point whose recovery broke a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashFailure {
    /// Where the power failed.
    pub point: CrashPoint,
    /// The claim that broke.
    pub reason: String,
}

impl fmt::Display for CrashFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "after a crash at operation {} ({:?}): {} (reproduce with fail_power_at({}) and \
             restart(Tear::{:?}))",
            self.point.operation,
            self.point.tear,
            self.reason,
            self.point.operation,
            self.point.tear
        )
    }
}

/// How many crash points were explored.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Exploration {
    /// Mutating operations of the workload run without a crash.
    pub operations: u64,
    /// Recoveries checked (every operation and the end, each with and without a tear).
    pub recoveries_checked: u64,
}

/// Runs `workload` once to count its operations, then once per crash point, checking each
/// recovery with `check`; the last write is lost whole or torn ([`Tear::None`],
/// [`Tear::LastWrite`]).
pub fn explore_crash_points<T>(
    workload: impl Fn(&Arc<SimulatedFileSystem>) -> T,
    check: impl Fn(&Arc<SimulatedFileSystem>, &T) -> Result<(), String>,
) -> Result<Exploration, CrashFailure> {
    explore_crash_points_with(&[Tear::None, Tear::LastWrite], workload, check)
}

/// [`explore_crash_points`] with each crash tried once per kind of tear in `tears`.
pub fn explore_crash_points_with<T>(
    tears: &[Tear],
    workload: impl Fn(&Arc<SimulatedFileSystem>) -> T,
    check: impl Fn(&Arc<SimulatedFileSystem>, &T) -> Result<(), String>,
) -> Result<Exploration, CrashFailure> {
    let counting = Arc::new(SimulatedFileSystem::new());
    workload(&counting);
    let operations = counting.operations();
    let mut recoveries_checked = 0;
    for operation in 1..=operations + 1 {
        for &tear in tears {
            let disk = Arc::new(SimulatedFileSystem::new());
            disk.fail_power_at(operation);
            let outcome = workload(&disk);
            disk.power_off();
            disk.restart(tear);
            check(&disk, &outcome).map_err(|reason| CrashFailure {
                point: CrashPoint { operation, tear },
                reason,
            })?;
            recoveries_checked += 1;
        }
    }
    Ok(Exploration {
        operations,
        recoveries_checked,
    })
}

/// A log workload: appends of varied sizes with periodic syncs, segment rolls, a truncation and
/// a cleaning, on small segments so that every kind of operation happens.
#[derive(Clone, Debug)]
pub struct LogWorkload {
    /// Entries appended in all.
    pub appends: usize,
    /// A sync (and so an acknowledgement) after this many appends.
    pub sync_every: usize,
    /// See [`LogConfig::segment_bytes_max`]: small, so segments roll.
    pub segment_bytes_max: u64,
    /// See [`LogConfig::write_buffer_bytes`].
    pub write_buffer_bytes: usize,
    /// See [`LogConfig::preallocate_bytes`].
    pub preallocate_bytes: u64,
    /// See [`LogConfig::block_bytes`].
    pub block_bytes: Option<u64>,
    /// Break the write-ahead rule: count an entry as acknowledged as soon as it is written to
    /// the file, before the sync. The explorer must then find a crash point that loses one.
    pub acknowledge_before_sync: bool,
}

impl Default for LogWorkload {
    fn default() -> LogWorkload {
        LogWorkload {
            appends: 24,
            sync_every: 3,
            segment_bytes_max: 300,
            write_buffer_bytes: 100,
            preallocate_bytes: 0,
            block_bytes: None,
            acknowledge_before_sync: false,
        }
    }
}

/// What a log workload did before the power failed.
#[derive(Clone, Debug, Default)]
pub struct LogOutcome {
    /// Entries the workload was told are durable: index → payload.
    pub acknowledged: BTreeMap<u64, Vec<u8>>,
    /// Every payload ever appended at each index and not durably truncated away.
    pub possible: BTreeMap<u64, BTreeSet<Vec<u8>>>,
    /// The highest index a cleaning was asked to drop entries below.
    pub cleaned_below: u64,
}

const LOG_DIR: &str = "/wal";

impl LogWorkload {
    /// The log configuration on `disk`.
    pub fn config(&self, disk: &Arc<SimulatedFileSystem>) -> LogConfig {
        LogConfig {
            segment_bytes_max: self.segment_bytes_max,
            write_buffer_bytes: self.write_buffer_bytes,
            preallocate_bytes: self.preallocate_bytes,
            block_bytes: self.block_bytes,
            ..LogConfig::on(disk.clone())
        }
    }

    /// Runs until the end or the first error.
    pub fn run(&self, disk: &Arc<SimulatedFileSystem>) -> LogOutcome {
        let mut outcome = LogOutcome::default();
        let _ = self.run_steps(disk, &mut outcome);
        outcome
    }

    fn run_steps(
        &self,
        disk: &Arc<SimulatedFileSystem>,
        outcome: &mut LogOutcome,
    ) -> Result<(), WalError> {
        let mut log = Log::open(LOG_DIR, self.config(disk))?;
        let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let truncate_at = self.appends / 2;
        for step in 0..self.appends {
            let payload = format!("write {step} {}", "x".repeat(step * 7 % 60)).into_bytes();
            // Possible from the moment the append starts: a write that fails as the power goes
            // may still leave the whole frame on the platter.
            outcome
                .possible
                .entry(log.next_index())
                .or_default()
                .insert(payload.clone());
            let index = log.append(&payload)?;
            pending.insert(index, payload);
            if self.acknowledge_before_sync {
                log.flush()?;
                outcome.acknowledged.append(&mut pending);
            }
            if (step + 1) % self.sync_every == 0 {
                log.sync()?;
                outcome.acknowledged.append(&mut pending);
            }
            if step == truncate_at {
                log.sync()?;
                outcome.acknowledged.append(&mut pending);
                let from = log.last_index() - 2;
                // From the moment it starts, a truncation may have removed any entry from
                // `from` on (it removes the newest first); once it returns, all of them.
                outcome.acknowledged.retain(|i, _| *i < from);
                log.truncate(from)?;
                outcome.possible.retain(|i, _| *i < from);
            }
            if step == truncate_at + 3 {
                outcome.cleaned_below = 5;
                log.clean_before(5)?;
            }
        }
        log.sync()?;
        outcome.acknowledged.append(&mut pending);
        Ok(())
    }

    /// Reopens the log after a crash and checks: every acknowledged entry is there, in order,
    /// and every entry there was really appended at its index.
    pub fn check(
        &self,
        disk: &Arc<SimulatedFileSystem>,
        outcome: &LogOutcome,
    ) -> Result<(), String> {
        let mut log =
            Log::open(LOG_DIR, self.config(disk)).map_err(|e| format!("reopen failed: {e}"))?;
        let entries = log.read_all().map_err(|e| format!("read failed: {e}"))?;
        let first = log.first_index();
        if first > outcome.cleaned_below.max(1) {
            return Err(format!(
                "the log starts at {first} but cleaning only dropped entries below {}",
                outcome.cleaned_below
            ));
        }
        let recovered: BTreeMap<u64, &Entry> = entries.iter().map(|e| (e.index, e)).collect();
        for (index, payload) in outcome.acknowledged.range(first..) {
            match recovered.get(index) {
                None => return Err(format!("acknowledged entry {index} was lost")),
                Some(e) if &e.payload != payload => {
                    return Err(format!("acknowledged entry {index} came back different"));
                }
                Some(_) => {}
            }
        }
        for entry in &entries {
            let known = outcome
                .possible
                .get(&entry.index)
                .is_some_and(|p| p.contains(&entry.payload));
            if !known || entry.kind != EntryKind::Data {
                return Err(format!(
                    "entry {} holds {:?}, which was never appended there",
                    entry.index,
                    String::from_utf8_lossy(&entry.payload)
                ));
            }
        }
        let index = log
            .append(b"after recovery")
            .and_then(|i| log.sync().map(|_| i))
            .map_err(|e| format!("the recovered log refuses appends: {e}"))?;
        if index != log.last_index() || log.read_at(index).is_err() {
            return Err("an append after recovery did not read back".into());
        }
        Ok(())
    }
}

/// A key-value workload: sets, deletes and transactions, with a snapshot in the middle.
#[derive(Clone, Debug)]
pub struct KvWorkload {
    /// Commands executed in all (a snapshot is taken halfway).
    pub commands: usize,
    /// See [`LogConfig::segment_bytes_max`]: small, so segments roll and get cleaned.
    pub segment_bytes_max: u64,
}

impl Default for KvWorkload {
    fn default() -> KvWorkload {
        KvWorkload {
            commands: 14,
            segment_bytes_max: 260,
        }
    }
}

/// What a key-value workload did before the power failed.
#[derive(Clone, Debug, Default)]
pub struct KvOutcome {
    /// Commands acknowledged, in order.
    pub acknowledged: Vec<Command>,
    /// The command in flight when the power failed, if any.
    pub in_flight: Option<Command>,
}

const KV_DIR: &str = "/kv";

impl KvWorkload {
    fn config(&self, disk: &Arc<SimulatedFileSystem>) -> LogConfig {
        LogConfig {
            segment_bytes_max: self.segment_bytes_max,
            ..LogConfig::on(disk.clone())
        }
    }

    /// The `step`-th command.
    pub fn command(step: usize) -> Command {
        let key = |n: usize| format!("k{}", n % 4);
        match step % 5 {
            3 => Command::Delete { key: key(step + 1) },
            4 => Command::Transaction {
                sets: vec![
                    (key(step), format!("t{step}a")),
                    (key(step + 2), format!("t{step}b")),
                ],
            },
            _ => Command::Set {
                key: key(step),
                value: format!("v{step}"),
            },
        }
    }

    /// Runs until the end or the first error.
    pub fn run(&self, disk: &Arc<SimulatedFileSystem>) -> KvOutcome {
        let mut outcome = KvOutcome::default();
        let Ok(mut store) = DurableKvStore::open(KV_DIR, self.config(disk)) else {
            return outcome;
        };
        for step in 0..self.commands {
            let command = KvWorkload::command(step);
            outcome.in_flight = Some(command.clone());
            if store.execute(command.clone()).is_err() {
                return outcome;
            }
            outcome.in_flight = None;
            outcome.acknowledged.push(command);
            if step == self.commands / 2 && store.snapshot().is_err() {
                return outcome;
            }
        }
        outcome
    }

    /// Reopens the store and checks its state is that after the acknowledged commands, or after
    /// those and the one in flight.
    pub fn check(
        &self,
        disk: &Arc<SimulatedFileSystem>,
        outcome: &KvOutcome,
    ) -> Result<(), String> {
        let store = DurableKvStore::open(KV_DIR, self.config(disk))
            .map_err(|e| format!("reopen failed: {e}"))?;
        let mut expected = BTreeMap::new();
        for command in &outcome.acknowledged {
            command.apply(&mut expected);
        }
        if store.values() == &expected {
            return Ok(());
        }
        if let Some(command) = &outcome.in_flight {
            command.apply(&mut expected);
            if store.values() == &expected {
                return Ok(());
            }
        }
        Err(format!(
            "recovered state {:?} is neither the state after the {} acknowledged commands nor \
             that plus the one in flight",
            store.values(),
            outcome.acknowledged.len()
        ))
    }
}

/// The durable bytes of the newest segment of the log in `dir` on `disk`, for figures.
pub fn newest_segment_bytes(disk: &SimulatedFileSystem, dir: &Path) -> Option<Vec<u8>> {
    let newest = disk
        .list(dir)
        .ok()?
        .into_iter()
        .filter_map(|n| super::parse_segment_file_name(&n)?.ok())
        .max()?;
    disk.durable_bytes(&dir.join(super::segment_file_name(newest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_every_synced_entry_at_every_crash_point() {
        // Claim: at every crash point, torn or not, recovery yields every acknowledged entry, in
        // order, and nothing that was not appended (style anchor 13).
        let workload = LogWorkload::default();
        let torn_tails_cut = std::cell::Cell::new(0);
        let explored = explore_crash_points(
            |d| workload.run(d),
            |d, o| {
                let log = Log::open(LOG_DIR, workload.config(d)).map_err(|e| e.to_string())?;
                if log.recovery().tail_cut.is_some() {
                    torn_tails_cut.set(torn_tails_cut.get() + 1);
                }
                drop(log);
                workload.check(d, o)
            },
        )
        .unwrap_or_else(|f| panic!("{f}"));
        assert!(
            explored.operations > 50,
            "the workload exercises the log: {explored:?}"
        );
        assert!(
            torn_tails_cut.get() > 10,
            "torn tails were met and cut: {} of {}",
            torn_tails_cut.get(),
            explored.recoveries_checked
        );
    }

    #[test]
    fn the_log_with_unbuffered_writes_and_preallocation_survives_every_crash_point() {
        // Claim: the same holds when every append is its own write and segments grow by
        // preallocated zeros (zeros must read as the end of the log, not as entries).
        let workload = LogWorkload {
            write_buffer_bytes: 0,
            preallocate_bytes: 128,
            ..LogWorkload::default()
        };
        explore_crash_points(|d| workload.run(d), |d, o| workload.check(d, o))
            .unwrap_or_else(|f| panic!("{f}"));
    }

    #[test]
    fn a_padded_log_loses_nothing_to_whole_sector_tears_at_every_crash_point() {
        // Claim: with block padding no write shares a sector with an earlier one (the segment
        // header included), so even a tear that garbles the whole sector it stops in loses no
        // acknowledged entry and leaves a log that opens (issue 10, item 11).
        let workload = LogWorkload {
            appends: 36,
            block_bytes: Some(512),
            segment_bytes_max: 2048,
            write_buffer_bytes: 200,
            ..LogWorkload::default()
        };
        let explored = explore_crash_points_with(
            &[Tear::None, Tear::LastWrite, Tear::Sector],
            |d| workload.run(d),
            |d, o| workload.check(d, o),
        )
        .unwrap_or_else(|f| panic!("{f}"));
        assert!(explored.operations > 50, "{explored:?}");
    }

    #[test]
    fn an_unpadded_log_loses_acknowledged_entries_to_whole_sector_tears() {
        // Claim: the sector tear is not vacuous: without padding a write shares its first
        // sector with synced entries, and garbling that sector loses them.
        let workload = LogWorkload::default();
        let failure = explore_crash_points_with(
            &[Tear::Sector],
            |d| workload.run(d),
            |d, o| workload.check(d, o),
        )
        .unwrap_err();
        assert_eq!(failure.point.tear, Tear::Sector);
    }

    #[test]
    fn the_kv_store_keeps_every_acknowledged_command_at_every_crash_point() {
        // Claim: after any crash the store holds exactly the acknowledged commands' effect,
        // plus possibly the command in flight, and a transaction is never half applied.
        let workload = KvWorkload::default();
        let explored = explore_crash_points(|d| workload.run(d), |d, o| workload.check(d, o))
            .unwrap_or_else(|f| panic!("{f}"));
        assert!(explored.recoveries_checked > 40, "{explored:?}");
    }

    #[test]
    fn a_log_that_acknowledges_before_syncing_is_caught() {
        // Claim: the explorer is not vacuous: acknowledging entries before their sync (the
        // broken write-ahead rule) loses an acknowledged entry at some crash point.
        let workload = LogWorkload {
            acknowledge_before_sync: true,
            ..LogWorkload::default()
        };
        let failure =
            explore_crash_points(|d| workload.run(d), |d, o| workload.check(d, o)).unwrap_err();
        assert!(failure.reason.contains("was lost"), "{failure}");
    }
}
