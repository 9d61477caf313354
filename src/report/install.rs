//! Installing a report's files into its output directory as a whole.
//!
//! A run renders every file first, then (under a lock, so two runs into one directory cannot
//! mix):
//!
//! 1. recovers a directory a killed run left renamed away, and removes what killed runs left
//!    behind (staging directories, old copies, `.capplan-*.tmp` files older than a minute);
//! 2. builds a **staging directory** next to the destination (`.<dir>.capplan-stage-<pid>` in
//!    its parent) holding hard links of every file already in the destination plus the new
//!    files (so `index.html`, rebuilt from the reports present, is built there too);
//! 3. swaps it in with two renames: the destination to `.<dir>.capplan-old-<pid>`, the
//!    staging directory to the destination; then removes the old copy. A run killed before
//!    step 3 leaves the destination untouched; one killed between the two renames is rolled
//!    forward by the next run (the staging directory is complete before the first rename).
//!
//! When the destination cannot be swapped — it is the working directory or one of its
//! ancestors, it holds subdirectories, it has no parent or its parent is not writable — the
//! staging directory is created inside it (`.capplan-stage-<pid>`) and the new files are
//! renamed into place one by one, data files first and `index.html` last: no file is ever
//! half written, and old and new files can only meet for the milliseconds of the renames.
//!
//! The lock is `.capplan.lock` in the destination, created exclusively (`create_new`, i.e.
//! `O_EXCL`) with the run's process id in it and removed when the run ends (in a swap it
//! leaves with the old copy). A lock whose process no longer runs (a run killed by `kill -9`)
//! is stale and taken over; a live one makes the second run fail with [`ReportError::Busy`].

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::ReportError;

/// The lock file's name inside the destination.
const LOCK: &str = ".capplan.lock";
/// Temporary files of `export::write_atomic` older than this are left-overs of killed runs.
const STALE_TMP: Duration = Duration::from_secs(60);

fn werr(path: &Path, e: impl std::fmt::Display) -> ReportError {
    ReportError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The destination directory of a report, locked for one run.
pub(crate) struct Destination {
    /// The directory as the caller named it (for the paths returned).
    shown: PathBuf,
    /// Its canonical path.
    dir: PathBuf,
    /// The lock file, locked (`None` once released).
    lock: Option<File>,
}

impl Destination {
    /// Creates `dir` if needed (after recovering a swap a killed run left half done), takes
    /// its lock and removes what killed runs left behind.
    ///
    /// # Errors
    ///
    /// [`ReportError::Busy`] when another run holds the lock; [`ReportError::Write`] for I/O
    /// errors.
    pub(crate) fn lock(dir: &Path) -> Result<Destination, ReportError> {
        recover_swap(dir)?;
        fs::create_dir_all(dir).map_err(|e| werr(dir, e))?;
        let canon = fs::canonicalize(dir).map_err(|e| werr(dir, e))?;
        let lock_path = canon.join(LOCK);
        let stamp = format!("pid {}\n", std::process::id());
        for _ in 0..10 {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock_path)
            {
                Ok(mut f) => {
                    f.write_all(stamp.as_bytes())
                        .and_then(|()| f.sync_all())
                        .map_err(|e| werr(&lock_path, e))?;
                    let d = Destination {
                        shown: dir.to_path_buf(),
                        dir: canon,
                        lock: Some(f),
                    };
                    d.clean_stale()?;
                    return Ok(d);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&lock_path).unwrap_or_default();
                    match holder_pid(&holder) {
                        Some(pid) if pid != std::process::id() && !process_alive(pid) => {
                            // The run that wrote it died (kill -9, power loss): break it, one
                            // breaker at a time, and only if it is still the same lock.
                            break_stale_lock(&canon, &lock_path, &holder);
                        }
                        // Being written right now (no pid yet): look again.
                        None if holder.is_empty() => {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        _ => {
                            return Err(ReportError::Busy {
                                dir: dir.display().to_string(),
                                holder: format!(
                                    "{}; if no capplan run is active, remove {}",
                                    holder.trim(),
                                    lock_path.display()
                                ),
                            });
                        }
                    }
                }
                Err(e) => return Err(werr(&lock_path, e)),
            }
        }
        Err(werr(&lock_path, "the lock kept changing hands; try again"))
    }

    fn name(&self) -> Option<String> {
        self.dir
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
    }

    /// Sibling paths `.<name>.capplan-<what>-<pid>` in the parent, if there is a parent.
    fn sibling(&self, what: &str) -> Option<PathBuf> {
        let parent = self.dir.parent()?;
        Some(parent.join(format!(
            ".{}.capplan-{what}-{}",
            self.name()?,
            std::process::id()
        )))
    }

    /// Removes staging directories and old copies of killed runs (they are ours: we hold the
    /// lock) and `write_atomic` temporary files older than a minute.
    fn clean_stale(&self) -> Result<(), ReportError> {
        if let (Some(parent), Some(name)) = (self.dir.parent(), self.name()) {
            let prefixes = [
                format!(".{name}.capplan-stage-"),
                format!(".{name}.capplan-old-"),
            ];
            for e in fs::read_dir(parent).into_iter().flatten().flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if prefixes.iter().any(|p| n.starts_with(p.as_str())) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let now = SystemTime::now();
        for e in fs::read_dir(&self.dir)
            .map_err(|e| werr(&self.dir, e))?
            .flatten()
        {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(".capplan-stage-") {
                let _ = fs::remove_dir_all(e.path());
            } else if n.starts_with(".capplan-") && n.ends_with(".tmp") {
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age >= STALE_TMP);
                if old {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }

    /// Whether the directory can be replaced as a whole: not the working directory or one of
    /// its ancestors, no subdirectory inside, a parent to stage in.
    fn swappable(&self) -> bool {
        if self.sibling("stage").is_none() {
            return false;
        }
        if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize)
            && cwd.starts_with(&self.dir)
        {
            return false;
        }
        fs::read_dir(&self.dir).is_ok_and(|rd| {
            rd.flatten()
                .all(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        })
    }

    /// Installs `files` (name, bytes; `index.html` is rendered by `index` over the staged
    /// directory and installed last) and returns their paths under the directory as named.
    pub(crate) fn install(
        mut self,
        files: &[(String, Vec<u8>)],
        index: impl Fn(&Path) -> Result<String, ReportError>,
    ) -> Result<Vec<PathBuf>, ReportError> {
        let staged = if self.swappable() {
            self.stage_beside(files, &index)
        } else {
            Err(werr(&self.dir, "not swappable"))
        };
        // A directory that cannot be renamed after all (a mount point, say) gets the
        // fallback too: the swap leaves it as it was when it fails.
        if staged.and_then(|stage| self.swap(&stage)).is_err() {
            self.install_in_place(files, &index)?;
        }
        self.release();
        let mut out: Vec<PathBuf> = files.iter().map(|(n, _)| self.shown.join(n)).collect();
        out.push(self.shown.join("index.html"));
        Ok(out)
    }

    /// The staging directory beside the destination: links of the files present, the new
    /// files, the index. Removed again on failure.
    fn stage_beside(
        &self,
        files: &[(String, Vec<u8>)],
        index: &impl Fn(&Path) -> Result<String, ReportError>,
    ) -> Result<PathBuf, ReportError> {
        let stage = self.sibling("stage").expect("swappable");
        let r = (|| {
            fs::create_dir(&stage).map_err(|e| werr(&stage, e))?;
            for e in fs::read_dir(&self.dir).map_err(|e| werr(&self.dir, e))? {
                let e = e.map_err(|e| werr(&self.dir, e))?;
                let n = e.file_name();
                let skip = n
                    .to_str()
                    .is_some_and(|s| s.starts_with(LOCK) || files.iter().any(|(f, _)| f == s));
                if skip {
                    continue;
                }
                link_or_copy(&e.path(), &stage.join(&n))?;
            }
            self.write_all(&stage, files, index)?;
            if let Ok(m) = fs::metadata(&self.dir) {
                let _ = fs::set_permissions(&stage, m.permissions());
            }
            sync_dir(&stage);
            Ok(stage.clone())
        })();
        if r.is_err() {
            let _ = fs::remove_dir_all(&stage);
        }
        r
    }

    /// Writes the new files and the index into `stage`.
    fn write_all(
        &self,
        stage: &Path,
        files: &[(String, Vec<u8>)],
        index: &impl Fn(&Path) -> Result<String, ReportError>,
    ) -> Result<(), ReportError> {
        for (name, bytes) in files {
            super::write(&stage.join(name), bytes)?;
        }
        let html = index(stage)?;
        super::write(&stage.join("index.html"), html.as_bytes())
    }

    /// Destination → old copy, staging → destination, then the old copy removed (files other
    /// runs wrote into the destination meanwhile are moved over first).
    fn swap(&self, stage: &Path) -> Result<(), ReportError> {
        let old = self.sibling("old").expect("swappable");
        if let Err(e) = fs::rename(&self.dir, &old) {
            let _ = fs::remove_dir_all(stage);
            return Err(werr(&self.dir, e));
        }
        if let Err(e) = fs::rename(stage, &self.dir) {
            let _ = fs::rename(&old, &self.dir);
            let _ = fs::remove_dir_all(stage);
            return Err(werr(&self.dir, e));
        }
        if let Some(p) = self.dir.parent() {
            sync_dir(p);
        }
        for e in fs::read_dir(&old).into_iter().flatten().flatten() {
            let n = e.file_name();
            if n != LOCK && fs::symlink_metadata(self.dir.join(&n)).is_err() {
                let _ = fs::rename(e.path(), self.dir.join(&n));
            }
        }
        // The lock file went with the old copy: from here another run may take the new
        // directory's lock; it finds nothing of ours but this copy, which it may remove too.
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }

    /// The fallback: stage inside the destination and rename the files into place one by
    /// one, `index.html` last.
    fn install_in_place(
        &self,
        files: &[(String, Vec<u8>)],
        index: &impl Fn(&Path) -> Result<String, ReportError>,
    ) -> Result<(), ReportError> {
        let stage = self
            .dir
            .join(format!(".capplan-stage-{}", std::process::id()));
        let r = (|| {
            fs::create_dir(&stage).map_err(|e| werr(&stage, e))?;
            for (name, bytes) in files {
                super::write(&stage.join(name), bytes)?;
            }
            // The index lists the reports present once the new files are in: the existing
            // ones and the new ones, linked into the staging directory to render it there.
            for e in fs::read_dir(&self.dir)
                .map_err(|e| werr(&self.dir, e))?
                .flatten()
            {
                let n = e.file_name();
                let s = n.to_string_lossy();
                if s.ends_with(".html")
                    && !s.starts_with('.')
                    && fs::symlink_metadata(stage.join(&n)).is_err()
                {
                    link_or_copy(&e.path(), &stage.join(&n))?;
                }
            }
            let html = index(&stage)?;
            super::write(&stage.join("index.html"), html.as_bytes())?;
            for name in files.iter().map(|(n, _)| n.as_str()).chain(["index.html"]) {
                let to = self.dir.join(name);
                fs::rename(stage.join(name), &to).map_err(|e| werr(&to, e))?;
            }
            sync_dir(&self.dir);
            Ok(())
        })();
        let _ = fs::remove_dir_all(&stage);
        r
    }

    /// Removes the lock file (if still in the destination) and unlocks.
    fn release(&mut self) {
        if let Some(f) = self.lock.take() {
            let p = self.dir.join(LOCK);
            if same_file(&f, &p) {
                let _ = fs::remove_file(&p);
            }
            drop(f);
        }
    }
}

impl Drop for Destination {
    fn drop(&mut self) {
        self.release();
    }
}

/// The process id a lock file names (`pid N`).
fn holder_pid(text: &str) -> Option<u32> {
    text.trim().strip_prefix("pid ")?.trim().parse().ok()
}

/// Whether process `pid` is running: `/proc/<pid>` where there is a `/proc`, else `kill -0`;
/// assumed running where neither can tell (the lock is then removed by hand, as the error
/// says).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return proc.join(pid.to_string()).exists();
    }
    #[cfg(unix)]
    {
        std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .map_or(true, |s| s.success())
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Removes the stale lock at `lock_path` whose text was `seen`, guarded by an exclusive
/// `.capplan.lock.break` file so that two runs breaking it at once cannot remove the lock
/// the winner just took. A guard left by a run killed while breaking is removed after a
/// minute.
fn break_stale_lock(dir: &Path, lock_path: &Path, seen: &str) {
    let guard = dir.join(format!("{LOCK}.break"));
    match OpenOptions::new().write(true).create_new(true).open(&guard) {
        Ok(_) => {
            if fs::read_to_string(lock_path).is_ok_and(|now| now == seen) {
                let _ = fs::remove_file(lock_path);
            }
            let _ = fs::remove_file(&guard);
        }
        Err(_) => {
            let old = fs::metadata(&guard)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age >= STALE_TMP);
            if old {
                let _ = fs::remove_file(&guard);
            } else {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// A killed run may have renamed the destination away without renaming its staging directory
/// in: roll forward (the staging directory was complete) or, without one, back.
fn recover_swap(dir: &Path) -> Result<(), ReportError> {
    if fs::symlink_metadata(dir).is_ok() {
        return Ok(());
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
    else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let old_prefix = format!(".{name}.capplan-old-");
    let Ok(rd) = fs::read_dir(parent) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = n.strip_prefix(&old_prefix) {
            let stage = parent.join(format!(".{name}.capplan-stage-{pid}"));
            let from = if stage.is_dir() { stage } else { e.path() };
            fs::rename(&from, dir).map_err(|e| werr(dir, e))?;
            return Ok(());
        }
    }
    Ok(())
}

fn link_or_copy(from: &Path, to: &Path) -> Result<(), ReportError> {
    let meta = fs::symlink_metadata(from).map_err(|e| werr(from, e))?;
    #[cfg(unix)]
    if meta.file_type().is_symlink() {
        let target = fs::read_link(from).map_err(|e| werr(from, e))?;
        return std::os::unix::fs::symlink(target, to).map_err(|e| werr(to, e));
    }
    let _ = meta;
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).map_err(|e| werr(to, e))?;
    }
    Ok(())
}

/// Whether the open file `f` is the file at `path` (always true where it cannot be told).
fn same_file(f: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (f.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (f, path);
        true
    }
}

/// Flushes a directory's entries to disk (best effort; a no-op where unsupported).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
