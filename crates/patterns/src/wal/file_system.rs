//! The file layer under the log: the real disk, or a simulated one that loses power on cue.
//!
//! The log touches files only through [`FileSystem`] and [`FileHandle`], so the same code runs on
//! the real disk ([`OsFileSystem`]) and on [`SimulatedFileSystem`], which keeps, like the
//! reference's `SimulatedFileIO` (spec §1.11), a volatile image (the page cache) and a durable
//! image (the platter) of every file, and adds what the reference listed as a TODO:
//!
//! * power fails at a chosen operation (any write, sync, truncate, create, rename or remove):
//!   that operation and every later one fail;
//! * on restart every file is its durable image: bytes not synced are gone, and so are file and
//!   directory creations, renames and removals not followed by a sync of their parent directory
//!   (POSIX promises no more), with everything inside a directory that did not survive;
//! * optionally the last unsynced write is torn: its first half reached the platter and the rest
//!   of the sector it stopped in holds garbage ([`Tear::LastWrite`]), or that whole sector does,
//!   bytes synced into it earlier included ([`Tear::Sector`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The directory operations the log needs. Paths are absolute or relative to the process.
pub trait FileSystem: Send + Sync + Debug {
    /// Whether `path` names an existing regular file.
    fn is_file(&self, path: &Path) -> bool;
    /// Whether `path` names an existing directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// Creates `dir` and its parents (each durable after a sync of its parent).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Names of the entries in `dir`.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Opens a file for reading and writing, creating it if `create`.
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn FileHandle>>;
    /// Removes a file (durable after [`FileSystem::sync_dir`]).
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Replaces `to` with `from` atomically.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes creations (of files and directories), renames and removals in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file: positioned reads and writes, as `pread`/`pwrite`.
pub trait FileHandle: Send + Sync + Debug {
    /// The file's length as the page cache sees it.
    fn len_bytes(&self) -> io::Result<u64>;
    /// Reads exactly `len` bytes at `offset`.
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>>;
    /// Writes all of `bytes` at `offset` (into the page cache: durable after a sync).
    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// Truncates or extends (with zeros) the file.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes every write and size change durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
}

/// The real file system.
#[derive(Copy, Clone, Debug, Default)]
pub struct OsFileSystem;

#[derive(Debug)]
struct OsFile(File);

impl FileSystem for OsFileSystem {
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn FileHandle>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        Ok(Box::new(OsFile(file)))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // The parent of a relative name such as `wal` is the empty path: the current directory.
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)?.sync_all()
    }
}

impl FileHandle for OsFile {
    fn len_bytes(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.0.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all_at(bytes, offset)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}

/// How the last unsynced write fares when the power fails.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Tear {
    /// Lost whole, like every other unsynced byte.
    None,
    /// Its first half reached the platter and the rest of that sector holds garbage.
    LastWrite,
    /// Its first half reached the platter and then the whole sector it stopped in was garbled,
    /// the bytes synced into that sector before the write included: a drive that rewrites a
    /// whole sector for a partial write and loses power during it. Only a write that starts on
    /// a sector of its own (block padding) cannot damage older data this way.
    Sector,
}

/// Bytes of a sector of the simulated disk: the unit a torn write garbles.
pub const SECTOR_BYTES: usize = 512;

#[derive(Clone, Debug, Default)]
struct Inode {
    volatile: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Clone, Debug)]
struct LastWrite {
    inode: usize,
    offset: usize,
    bytes: Vec<u8>,
}

#[derive(Debug, Default)]
struct Disk {
    inodes: Vec<Inode>,
    names: BTreeMap<PathBuf, usize>,
    durable_names: BTreeMap<PathBuf, usize>,
    dirs: BTreeSet<PathBuf>,
    durable_dirs: BTreeSet<PathBuf>,
    operations: u64,
    power_fails_at: Option<u64>,
    powered_off: bool,
    last_unsynced_write: Option<LastWrite>,
    denied: Vec<PathBuf>,
    syncs: u64,
    boot: u64,
}

impl Disk {
    /// Counts a mutating operation; fails it if the power is (or now goes) off.
    fn operate(&mut self) -> io::Result<()> {
        if self.powered_off {
            return Err(power_loss());
        }
        self.operations += 1;
        if self.power_fails_at == Some(self.operations) {
            self.powered_off = true;
            return Err(power_loss());
        }
        Ok(())
    }

    fn check_allowed(&self, path: &Path) -> io::Result<()> {
        if self.denied.iter().any(|d| path.starts_with(d)) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "permission denied (simulated)",
            ));
        }
        Ok(())
    }
}

/// A directory with no parent (`/`, or the empty path relative names start from) always exists.
fn is_root(dir: &Path) -> bool {
    dir.parent().is_none()
}

/// What a power failure during `w` leaves in the durable image, as `tear` says.
fn tear_write(durable: &mut Vec<u8>, w: &LastWrite, tear: Tear) {
    let kept = w.bytes.len() / 2;
    let sector = (w.offset + kept) / SECTOR_BYTES;
    let sector_end = (sector + 1) * SECTOR_BYTES;
    let garbage_end = sector_end.min(w.offset + w.bytes.len());
    if durable.len() < garbage_end {
        durable.resize(garbage_end, 0);
    }
    durable[w.offset..w.offset + kept].copy_from_slice(&w.bytes[..kept]);
    let garbage_start = match tear {
        Tear::Sector => sector * SECTOR_BYTES,
        _ => w.offset + kept,
    };
    for (i, byte) in durable[garbage_start..garbage_end].iter_mut().enumerate() {
        *byte = 0xA5 ^ (i as u8).wrapping_mul(31);
    }
}

fn power_loss() -> io::Error {
    io::Error::other("the simulated disk lost power")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} does not exist (simulated)", path.display()),
    )
}

/// An in-memory disk with volatile and durable images that can lose power at any operation.
///
/// ```
/// use patterns::wal::{FileSystem, SimulatedFileSystem, Tear};
/// use std::path::Path;
/// let disk = SimulatedFileSystem::new();
/// disk.create_dir_all(Path::new("/d")).unwrap();
/// disk.sync_dir(Path::new("/")).unwrap(); // the directory's entry is durable
/// let file = disk.open(Path::new("/d/f"), true).unwrap();
/// disk.sync_dir(Path::new("/d")).unwrap(); // and the file's
/// file.write_at(0, b"synced").unwrap();
/// file.sync_data().unwrap();
/// file.write_at(6, b" and not").unwrap();
/// disk.restart(Tear::None);
/// let file = disk.open(Path::new("/d/f"), false).unwrap();
/// assert_eq!(file.read_at(0, file.len_bytes().unwrap() as usize).unwrap(), b"synced");
/// ```
#[derive(Clone, Debug, Default)]
pub struct SimulatedFileSystem {
    disk: Arc<Mutex<Disk>>,
}

#[derive(Debug)]
struct SimulatedFile {
    disk: Arc<Mutex<Disk>>,
    boot: u64,
    inode: usize,
    path: PathBuf,
}

impl SimulatedFileSystem {
    /// An empty disk with the power on.
    pub fn new() -> SimulatedFileSystem {
        SimulatedFileSystem::default()
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Mutating operations so far (writes, syncs, truncates, creates, renames, removals): the
    /// crash points a workload offers.
    pub fn operations(&self) -> u64 {
        self.disk().operations
    }

    /// `fdatasync`s of files so far.
    pub fn syncs(&self) -> u64 {
        self.disk().syncs
    }

    /// The power fails during the `n`-th mutating operation from now (1 = the next one).
    pub fn fail_power_at(&self, n: u64) {
        let mut disk = self.disk();
        disk.power_fails_at = Some(disk.operations + n);
    }

    /// The power fails now: every later operation fails until [`SimulatedFileSystem::restart`].
    pub fn power_off(&self) {
        self.disk().powered_off = true;
    }

    /// Whether the power has failed.
    pub fn is_powered_off(&self) -> bool {
        self.disk().powered_off
    }

    /// Operations on `path` and below fail with "permission denied" (the tests run as root,
    /// whom the real file system never refuses).
    pub fn deny(&self, path: impl Into<PathBuf>) {
        self.disk().denied.push(path.into());
    }

    /// Power comes back: every file is what was synced, and the last unsynced write is torn or
    /// lost as `tear` says. Open handles from before are dead.
    pub fn restart(&self, tear: Tear) {
        let mut disk = self.disk();
        if let Some(w) = disk.last_unsynced_write.take() {
            if tear != Tear::None {
                tear_write(&mut disk.inodes[w.inode].durable, &w, tear);
            }
        }
        for inode in &mut disk.inodes {
            inode.volatile = inode.durable.clone();
        }
        // A directory survives if its entry, and its parent's, and so on up, were synced; a
        // name survives if it was synced into a directory that survives.
        let durable_dirs = disk.durable_dirs.clone();
        disk.durable_dirs.retain(|d| {
            d.ancestors()
                .skip(1)
                .all(|a| is_root(a) || durable_dirs.contains(a))
        });
        let surviving = disk.durable_dirs.clone();
        disk.durable_names.retain(|p, _| {
            p.parent()
                .is_some_and(|d| is_root(d) || surviving.contains(d))
        });
        disk.dirs = disk.durable_dirs.clone();
        disk.names = disk.durable_names.clone();
        disk.powered_off = false;
        disk.power_fails_at = None;
        // Handles opened before the restart belong to the old boot and must not reach the new
        // images.
        disk.boot += 1;
    }

    /// The durable bytes of `path`: what a crash now would leave (for figures and tests).
    pub fn durable_bytes(&self, path: &Path) -> Option<Vec<u8>> {
        let disk = self.disk();
        let inode = *disk.durable_names.get(path)?;
        Some(disk.inodes[inode].durable.clone())
    }

    /// Overwrites the durable and volatile bytes of `path` at `offset`, as a stray write or bit
    /// rot would.
    pub fn corrupt(&self, path: &Path, offset: usize, bytes: &[u8]) {
        let mut disk = self.disk();
        if let Some(&inode) = disk.names.get(path) {
            let node = &mut disk.inodes[inode];
            for image in [&mut node.volatile, &mut node.durable] {
                if image.len() < offset + bytes.len() {
                    image.resize(offset + bytes.len(), 0);
                }
                image[offset..offset + bytes.len()].copy_from_slice(bytes);
            }
        }
    }
}

impl FileSystem for SimulatedFileSystem {
    fn is_file(&self, path: &Path) -> bool {
        self.disk().names.contains_key(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        is_root(path) || self.disk().dirs.contains(path)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.check_allowed(dir)?;
        if dir.ancestors().any(|a| disk.names.contains_key(a)) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file exists there (simulated)",
            ));
        }
        let ancestors: Vec<&Path> = dir.ancestors().collect();
        for ancestor in ancestors.into_iter().rev() {
            if is_root(ancestor) || disk.dirs.contains(ancestor) {
                continue;
            }
            disk.operate()?;
            disk.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let disk = self.disk();
        disk.check_allowed(dir)?;
        if !is_root(dir) && !disk.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        Ok(disk
            .names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }

    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn FileHandle>> {
        let mut disk = self.disk();
        disk.check_allowed(path)?;
        let inode = match disk.names.get(path) {
            Some(&inode) => inode,
            None if create => {
                let parent = path.parent().unwrap_or(Path::new(""));
                if !is_root(parent) && !disk.dirs.contains(parent) {
                    return Err(not_found(parent));
                }
                disk.operate()?;
                disk.inodes.push(Inode::default());
                let inode = disk.inodes.len() - 1;
                disk.names.insert(path.to_path_buf(), inode);
                inode
            }
            None => return Err(not_found(path)),
        };
        if disk.powered_off {
            return Err(power_loss());
        }
        Ok(Box::new(SimulatedFile {
            disk: self.disk.clone(),
            boot: disk.boot,
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.check_allowed(path)?;
        if !disk.names.contains_key(path) {
            return Err(not_found(path));
        }
        disk.operate()?;
        disk.names.remove(path);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.check_allowed(from)?;
        disk.check_allowed(to)?;
        let inode = *disk.names.get(from).ok_or_else(|| not_found(from))?;
        disk.operate()?;
        disk.names.remove(from);
        disk.names.insert(to.to_path_buf(), inode);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.check_allowed(dir)?;
        disk.operate()?;
        let in_dir = |p: &Path| p.parent() == Some(dir);
        disk.durable_names.retain(|p, _| !in_dir(p));
        let entries: Vec<(PathBuf, usize)> = disk
            .names
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        disk.durable_names.extend(entries);
        disk.durable_dirs.retain(|d| !in_dir(d));
        let subdirs: Vec<PathBuf> = disk.dirs.iter().filter(|d| in_dir(d)).cloned().collect();
        disk.durable_dirs.extend(subdirs);
        Ok(())
    }
}

impl SimulatedFile {
    /// The disk, if this handle was opened since the last restart.
    fn disk(&self) -> io::Result<MutexGuard<'_, Disk>> {
        let disk = self.disk.lock().unwrap_or_else(|p| p.into_inner());
        if disk.boot != self.boot {
            return Err(io::Error::other(
                "file handle opened before the simulated disk restarted",
            ));
        }
        Ok(disk)
    }
}

impl FileHandle for SimulatedFile {
    fn len_bytes(&self) -> io::Result<u64> {
        let disk = self.disk()?;
        Ok(disk.inodes.get(self.inode).map_or(0, |i| i.volatile.len()) as u64)
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let disk = self.disk()?;
        if disk.powered_off {
            return Err(power_loss());
        }
        let image = &disk.inodes[self.inode].volatile;
        let start = offset as usize;
        if start + len > image.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("read past the end of {}", self.path.display()),
            ));
        }
        Ok(image[start..start + len].to_vec())
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut disk = self.disk()?;
        disk.check_allowed(&self.path)?;
        let result = disk.operate();
        // The write was issued even if the power failed during it: it is the one a tear hits.
        if result.is_ok() || disk.power_fails_at == Some(disk.operations) {
            disk.last_unsynced_write = Some(LastWrite {
                inode: self.inode,
                offset: offset as usize,
                bytes: bytes.to_vec(),
            });
        }
        result?;
        let image = &mut disk.inodes[self.inode].volatile;
        let start = offset as usize;
        if image.len() < start + bytes.len() {
            image.resize(start + bytes.len(), 0);
        }
        image[start..start + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut disk = self.disk()?;
        disk.check_allowed(&self.path)?;
        disk.operate()?;
        disk.inodes[self.inode].volatile.resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut disk = self.disk()?;
        disk.check_allowed(&self.path)?;
        disk.operate()?;
        disk.syncs += 1;
        let inode = &mut disk.inodes[self.inode];
        inode.durable = inode.volatile.clone();
        if disk
            .last_unsynced_write
            .as_ref()
            .is_some_and(|w| w.inode == self.inode)
        {
            disk.last_unsynced_write = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk_with_dir() -> (SimulatedFileSystem, PathBuf) {
        let fs = SimulatedFileSystem::new();
        let dir = PathBuf::from("/log");
        fs.create_dir_all(&dir).unwrap();
        fs.sync_dir(Path::new("/")).unwrap();
        (fs, dir)
    }

    fn contents(fs: &SimulatedFileSystem, path: &Path) -> Vec<u8> {
        let f = fs.open(path, false).unwrap();
        f.read_at(0, f.len_bytes().unwrap() as usize).unwrap()
    }

    #[test]
    fn positioned_writes_overwrite_and_extend_with_zeros() {
        // Claim: writes land at their offset; writing past the end fills the gap with zeros
        // (spec §3.11, SimulatedFileIO tests).
        let (fs, dir) = disk_with_dir();
        let f = fs.open(&dir.join("f"), true).unwrap();
        f.write_at(0, b"abcdef").unwrap();
        f.write_at(2, b"XY").unwrap();
        f.write_at(8, b"Z").unwrap();
        assert_eq!(contents(&fs, &dir.join("f")), b"abXYef\0\0Z");
        assert!(f.read_at(5, 10).is_err(), "a read past the end is an error");
    }

    #[test]
    fn unsynced_writes_and_truncates_are_undone_by_a_crash() {
        // Claim: only synced bytes survive; an unsynced truncate comes back (spec §3.11).
        let (fs, dir) = disk_with_dir();
        let path = dir.join("f");
        let f = fs.open(&path, true).unwrap();
        fs.sync_dir(&dir).unwrap();
        f.write_at(0, b"abcdef").unwrap();
        f.sync_data().unwrap();
        f.set_len(2).unwrap();
        f.write_at(2, b"zz").unwrap();
        fs.restart(Tear::None);
        assert_eq!(contents(&fs, &path), b"abcdef");
    }

    #[test]
    fn a_file_created_without_a_directory_sync_is_gone_after_a_crash() {
        // Claim: a new name is durable only after its directory is synced, even if its data was.
        let (fs, dir) = disk_with_dir();
        let f = fs.open(&dir.join("new"), true).unwrap();
        f.write_at(0, b"data").unwrap();
        f.sync_data().unwrap();
        fs.restart(Tear::None);
        assert!(fs.list(&dir).unwrap().is_empty());
    }

    #[test]
    fn a_directory_is_gone_after_a_crash_until_its_parent_is_synced() {
        // Claim: a directory entry is like a file's name: durable only once its parent directory
        // is synced, and with it go the files inside it, synced or not (issue 10, item 10).
        let fs = SimulatedFileSystem::new();
        let (parent, dir) = (Path::new("/data"), Path::new("/data/wal"));
        fs.create_dir_all(dir).unwrap();
        let f = fs.open(&dir.join("f"), true).unwrap();
        f.write_at(0, b"data").unwrap();
        f.sync_data().unwrap();
        fs.sync_dir(dir).unwrap();
        fs.restart(Tear::None);
        assert!(
            !fs.is_dir(parent),
            "/data itself was never made durable in /"
        );
        assert!(fs.list(dir).is_err());
        fs.create_dir_all(dir).unwrap();
        fs.sync_dir(Path::new("/")).unwrap();
        fs.sync_dir(parent).unwrap();
        fs.restart(Tear::None);
        assert!(fs.is_dir(dir));
        assert!(
            fs.list(dir).unwrap().is_empty(),
            "the old file went with the old directory"
        );
    }

    #[test]
    fn a_sector_tear_garbles_the_whole_sector_the_write_stopped_in() {
        // Claim: Tear::Sector keeps the first half of the last write and then garbles the whole
        // sector that half ended in, bytes synced earlier in that sector included: the failure
        // block padding protects against.
        let (fs, dir) = disk_with_dir();
        let path = dir.join("f");
        let f = fs.open(&path, true).unwrap();
        fs.sync_dir(&dir).unwrap();
        f.write_at(0, &[1u8; 100]).unwrap();
        f.sync_data().unwrap();
        f.write_at(100, &[2u8; 200]).unwrap();
        fs.restart(Tear::Sector);
        let bytes = contents(&fs, &path);
        assert_eq!(bytes.len(), 300, "up to the end of the write");
        assert!(
            bytes[..100].iter().any(|b| *b != 1),
            "synced bytes in the sector garbled"
        );
        assert!(bytes[100..200].iter().any(|b| *b != 2), "the kept half too");
    }

    #[test]
    fn a_rename_is_atomic_across_a_crash() {
        // Claim: after a crash the target holds either the old or the new file, whole.
        let (fs, dir) = disk_with_dir();
        let (tmp, target) = (dir.join("tmp"), dir.join("target"));
        let old = fs.open(&target, true).unwrap();
        old.write_at(0, b"old").unwrap();
        old.sync_data().unwrap();
        fs.sync_dir(&dir).unwrap();
        let new = fs.open(&tmp, true).unwrap();
        new.write_at(0, b"new").unwrap();
        new.sync_data().unwrap();
        fs.sync_dir(&dir).unwrap();
        fs.rename(&tmp, &target).unwrap();
        fs.restart(Tear::None);
        assert_eq!(contents(&fs, &target), b"old", "rename not yet durable");
        fs.rename(&tmp, &target).unwrap();
        fs.sync_dir(&dir).unwrap();
        fs.restart(Tear::None);
        assert_eq!(contents(&fs, &target), b"new");
    }

    #[test]
    fn a_torn_write_keeps_half_its_bytes_and_garbles_the_rest_of_that_sector() {
        // Claim: Tear::LastWrite leaves a prefix of the write and garbage to the sector's end.
        let (fs, dir) = disk_with_dir();
        let path = dir.join("f");
        let f = fs.open(&path, true).unwrap();
        fs.sync_dir(&dir).unwrap();
        f.write_at(0, &[7u8; 1000]).unwrap();
        fs.restart(Tear::LastWrite);
        let bytes = contents(&fs, &path);
        assert_eq!(
            bytes.len(),
            SECTOR_BYTES,
            "up to the end of the sector holding byte 500"
        );
        assert!(bytes[..500].iter().all(|b| *b == 7));
        assert!(bytes[500..].iter().any(|b| *b != 7));
    }

    #[test]
    fn after_the_power_fails_every_operation_fails() {
        // Claim: the failing operation and all later ones return an error, and nothing lands.
        let (fs, dir) = disk_with_dir();
        let f = fs.open(&dir.join("f"), true).unwrap();
        fs.fail_power_at(2);
        f.write_at(0, b"a").unwrap();
        assert!(f.sync_data().is_err());
        assert!(f.write_at(1, b"b").is_err());
        assert!(fs.is_powered_off());
    }

    #[test]
    fn a_denied_path_refuses_every_operation_with_permission_denied() {
        // Claim: the simulated permission error reaches the caller as PermissionDenied.
        let (fs, dir) = disk_with_dir();
        fs.deny(&dir);
        let err = fs.open(&dir.join("f"), true).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    }
}
