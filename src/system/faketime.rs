//! libfaketime's leftovers. Every process preloaded with libfaketime (nodes
//! under clock faults) creates a shared-memory segment and a semaphore named
//! after its pid, and only its exit handler removes them: a SIGKILLed node
//! leaves both behind in `/dev/shm`, one pair per kill, for good. The node
//! process wrapper removes its own pair after reaping; `faultline cleanup`
//! (and each run's start) sweeps pairs whose process is gone.

use std::path::Path;

/// Where Debian's `faketime` package puts the preload library (clock faults for C programs).
pub const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The `LD_PRELOAD` value for clock faults: libfaketime *then* libc. A jemalloc-linked program
/// (Debian's redis-server) hangs under libfaketime alone, because jemalloc's initialisation calls
/// `clock_gettime` before libfaketime has resolved the real one (a recursion it cannot break);
/// preloading libc right after libfaketime makes that lookup succeed. The order matters.
pub const FAKETIME_PRELOAD: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 libc.so.6";

/// Where libfaketime keeps the segment and semaphore each preloaded process
/// creates (`faketime_shm_PID`, `sem.faketime_sem_PID`). Only its own exit
/// handler removes them, so every node killed under clock faults leaves two.
pub const SHM_DIR: &str = "/dev/shm";

/// The pid a libfaketime shared-memory file belongs to, if `name` is one.
fn faketime_pid(name: &str) -> Option<u32> {
    name.strip_prefix("faketime_shm_")
        .or_else(|| name.strip_prefix("sem.faketime_sem_"))
        .and_then(|p| p.parse().ok())
}

/// Removes the libfaketime files in `dir` belonging to `pid` (a process just
/// reaped). Returns the names removed.
pub fn remove_files_of(dir: &Path, pid: u32) -> Vec<String> {
    [format!("faketime_shm_{pid}"), format!("sem.faketime_sem_{pid}")]
        .into_iter()
        .filter(|n| std::fs::remove_file(dir.join(n)).is_ok())
        .collect()
}

/// Removes the libfaketime files in `dir` whose process is gone (whoever
/// started it: the files are garbage once their creator is dead, and a live
/// process's files are never touched). Returns the names removed.
pub fn remove_stale(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| faketime_pid(n).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()))
        .filter(|n| std::fs::remove_file(dir.join(n)).is_ok())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid that is certainly not running: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    #[test]
    fn names_are_recognised() {
        assert_eq!(faketime_pid("faketime_shm_123"), Some(123));
        assert_eq!(faketime_pid("sem.faketime_sem_9"), Some(9));
        assert_eq!(faketime_pid("faketime_shm_x"), None);
        assert_eq!(faketime_pid("other_123"), None);
    }

    #[test]
    fn only_dead_processes_files_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let (dead, live) = (dead_pid(), std::process::id());
        for n in [
            format!("faketime_shm_{dead}"),
            format!("sem.faketime_sem_{dead}"),
            format!("faketime_shm_{live}"),
            format!("sem.faketime_sem_{live}"),
            "unrelated_1".to_string(),
        ] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let removed = remove_stale(dir.path());
        assert_eq!(
            removed,
            vec![format!("faketime_shm_{dead}"), format!("sem.faketime_sem_{dead}")]
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![
                format!("faketime_shm_{live}"),
                format!("sem.faketime_sem_{live}"),
                "unrelated_1".into()
            ]
        );
        // A reaped process's own pair goes, whatever else is there.
        assert_eq!(remove_files_of(dir.path(), live).len(), 2);
        assert_eq!(remove_files_of(dir.path(), live).len(), 0, "idempotent");
    }
}
