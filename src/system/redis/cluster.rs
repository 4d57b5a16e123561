//! A Redis replication group of real processes: on every node a `redis-server` (node 1 starts
//! as primary, the others with `--replicaof`) and a `redis-sentinel` watching it, with low
//! `down-after-milliseconds` / `failover-timeout` so failovers happen within a test.
//!
//! Clock faults: every process of a node runs with libfaketime (then libc, see
//! [`FAKETIME_PRELOAD`]) preloaded, reading its offset
//! from `<dir>/<node>.faketime` (realtime clock only; the monotonic clock is left alone, as a
//! skewed wall clock would be), so [`RedisCluster::set_clock_offset`] is a file write.
//!
//! Invariant: a failed [`Cluster::start_all`] leaves nothing running; drop kills the rest.

use super::conn::{text, Conn};
use super::events::{EventJournal, Skews, Sources, EVENTS_FILE};
use super::logparse::TimeBase;
use super::{RedisClient, RedisClientConfig, RedisWorkload};
use crate::system::external::{
    spec_fields, wait_until, Cluster, ExternalError, NodeSpec, NodeVars, Retry, System, TargetDef,
};
use crate::system::faketime::{FAKETIME_LIB, FAKETIME_PRELOAD};
use crate::system::process::NodeProcess;
use crate::system::remote::Launch;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One node: its data server and its Sentinel.
#[derive(Clone, Debug)]
pub struct RedisNodeSpec {
    pub id: String,
    pub redis_listen: SocketAddr,
    /// Where clients and the harness reach the data server (also what replicas are told).
    pub redis_dial: SocketAddr,
    pub sentinel_listen: SocketAddr,
    pub sentinel_dial: SocketAddr,
    pub exec_prefix: Vec<String>,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

impl NodeSpec for RedisNodeSpec {
    fn local(id: String, r: SocketAddr, s: SocketAddr, data_dir: PathBuf, log: PathBuf) -> Self {
        RedisNodeSpec {
            id,
            redis_listen: r,
            redis_dial: r,
            sentinel_listen: s,
            sentinel_dial: s,
            exec_prefix: vec![],
            data_dir,
            log,
        }
    }
    spec_fields!();
    fn listens(&self) -> Vec<(SocketAddr, String)> {
        vec![
            (self.redis_listen, format!("redis {}", self.id)),
            (self.sentinel_listen, format!("sentinel {}", self.id)),
        ]
    }
    fn log_files(&self) -> Vec<(String, PathBuf)> {
        vec![
            (self.id.clone(), self.log.clone()),
            (format!("{}-sentinel", self.id), self.sentinel_log()),
        ]
    }
}

impl RedisNodeSpec {
    pub(super) fn clock_file(&self) -> PathBuf {
        self.dir().join(format!("{}.faketime", self.id))
    }
    pub(super) fn sentinel_log(&self) -> PathBuf {
        self.dir().join(format!("{}-sentinel.log", self.id))
    }
}

/// What Redis adds to the generic cluster: the Sentinel master name, and (when the run gave a
/// time origin) the journal turning logs into failover events.
pub struct Redis {
    master: String,
    journal: std::sync::Mutex<Option<EventJournal>>,
    /// Clock offsets set so far, undone in the events' log timestamps.
    skews: std::sync::Arc<std::sync::Mutex<Skews>>,
}

/// Data servers and their Sentinels, by node (the server is each node's main process).
pub type RedisCluster = Cluster<Redis>;

impl System for Redis {
    type Spec = RedisNodeSpec;
    const NODE: &'static str = "Redis node";
    const PROCESS: &'static str = "redis-server";

    fn new(def: &TargetDef, _specs: &[RedisNodeSpec]) -> Redis {
        Redis {
            master: def.adapter_str("master", "fl"),
            journal: std::sync::Mutex::new(None),
            skews: Default::default(),
        }
    }

    fn preflight(c: &RedisCluster) -> Result<(), ExternalError> {
        if c.def.clock_faults {
            c.probe_faketime()?;
        }
        Ok(())
    }

    /// The node's [`RedisCluster::launches`], run here: files written, server then Sentinel.
    fn spawn(c: &RedisCluster, s: &RedisNodeSpec) -> Result<Vec<NodeProcess>, ExternalError> {
        let launches = c.launches(s)?;
        for (path, content) in launches.iter().flat_map(|l| &l.files) {
            std::fs::write(path, content).map_err(|e| ExternalError::io(format!("write {path}"), e))?;
        }
        let logs = [s.log.clone(), s.sentinel_log()];
        launches
            .into_iter()
            .zip(logs)
            .map(|(l, log)| {
                Ok(NodeProcess::spawn(
                    &l.name,
                    s.exec_prefix.clone(),
                    l.argv,
                    l.env,
                    log,
                )?)
            })
            .collect()
    }

    /// Server answers PING; a replica's link is up; its Sentinel sees every replica and Sentinel.
    fn healthy(c: &RedisCluster, node: &str, timeout: Duration) -> Result<(), String> {
        let s = c.spec(node).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + timeout;
        let info = Conn::once(s.redis_dial, &["INFO", "replication"], timeout).map_err(|e| e.to_string())?;
        let info = text(&info).unwrap_or_default();
        if info.contains("role:slave") && !info.contains("master_link_status:up") {
            return Err(format!("replica {node} not linked to its primary yet"));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let m = Conn::once(s.sentinel_dial, &["SENTINEL", "master", &c.sys.master], left)
            .map_err(|e| format!("sentinel: {e}"))?;
        let fields = match m {
            redis::Value::Array(a) => a.iter().filter_map(text).collect::<Vec<_>>(),
            other => return Err(format!("sentinel of {node}: {other:?}")),
        };
        let get = |k: &str| {
            fields
                .chunks(2)
                .find(|p| p[0] == k)
                .and_then(|p| p.get(1))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0)
        };
        let n = c.specs.len();
        let (slaves, others) = (get("num-slaves"), get("num-other-sentinels"));
        if slaves + 1 < n || others + 1 < n {
            return Err(format!(
                "sentinel of {node} sees {slaves} replicas and {others} other sentinels, want {} and {}",
                n - 1,
                n - 1
            ));
        }
        Ok(())
    }

    fn describe(s: &RedisNodeSpec) -> String {
        format!(
            "Redis node {} (server {}, sentinel {})",
            s.id, s.redis_dial, s.sentinel_dial
        )
    }
}

impl Cluster<Redis> {
    /// Where the failover events go: `sentinel-events.log` beside the node logs.
    pub fn events_path(&self) -> Option<PathBuf> {
        self.specs.first().map(|s| s.dir().join(EVENTS_FILE))
    }

    /// Starts turning the server and Sentinel logs into node events in the history's time
    /// base ([`super::events`]); flushed every couple of seconds and at [`Self::finish_events`].
    pub fn start_events(&self, time: TimeBase) {
        let Some(out) = self.events_path() else { return };
        let sources = Sources {
            servers: self.specs.iter().map(|s| (s.id.clone(), s.log.clone())).collect(),
            sentinels: self
                .specs
                .iter()
                .map(|s| (s.id.clone(), s.sentinel_log()))
                .collect(),
            names: self
                .specs
                .iter()
                .map(|s| (s.redis_dial.to_string(), s.id.clone()))
                .collect(),
            time,
            skews: self.sys.skews.clone(),
            out,
        };
        let mut j = self.sys.journal.lock().unwrap_or_else(|p| p.into_inner());
        *j = Some(EventJournal::start(sources));
    }

    /// Whether a journal derives events in this run.
    pub fn sys_has_events(&self) -> bool {
        self.sys.journal.lock().map(|j| j.is_some()).unwrap_or(false)
    }

    /// Writes the events file a last time (idempotent); `Ok(None)` when no journal runs.
    pub fn finish_events(&self) -> std::io::Result<Option<usize>> {
        let j = self.sys.journal.lock().unwrap_or_else(|p| p.into_inner());
        j.as_ref().map(|j| j.finish()).transpose()
    }

    /// Node `s`'s processes wherever they run: its server, then its Sentinel; the clock
    /// offset file (`+0`) and the Sentinel's config are written before either starts.
    pub fn launches(&self, s: &RedisNodeSpec) -> Result<Vec<Launch>, ExternalError> {
        let vars = self.vars(s);
        let conf_tmpl = self.def.adapter_str("sentinel_conf", "");
        let conf = crate::system::external::render(&conf_tmpl, &vars, &self.def_path)?;
        let files = vec![
            (s.clock_file().display().to_string(), "+0\n".to_string()),
            (vars.vars["sentinel_conf"].clone(), conf),
        ];
        Ok(vec![
            Launch {
                name: s.id.clone(),
                argv: vars.argv(&self.def.start, &self.def_path)?,
                env: self.env(s),
                files,
            },
            Launch {
                name: format!("{}-sentinel", s.id),
                argv: vars.argv(&self.def.adapter_argv("sentinel_start"), &self.def_path)?,
                env: self.env(s),
                files: Vec::new(),
            },
        ])
    }

    fn vars(&self, s: &RedisNodeSpec) -> NodeVars {
        let primary = &self.specs[0];
        let replicaof = if s.id == primary.id {
            String::new()
        } else {
            format!(
                "--replicaof {} {}",
                primary.redis_dial.ip(),
                primary.redis_dial.port()
            )
        };
        NodeVars::new(&s.id, &s.redis_listen.ip().to_string(), s.dir(), &s.data_dir)
            .set("port.redis", s.redis_listen.port().to_string())
            .set("port.sentinel", s.sentinel_listen.port().to_string())
            .set("sentinel_addr", s.sentinel_listen.ip().to_string())
            .set("announce_ip", s.redis_dial.ip().to_string())
            .set("replicaof", replicaof)
            .set("master", self.sys.master.clone())
            .set("primary_ip", primary.redis_dial.ip().to_string())
            .set("primary_port", primary.redis_dial.port().to_string())
            .set("quorum", (self.specs.len() / 2 + 1).to_string())
            .set(
                "sentinel_conf",
                s.dir()
                    .join(format!("{}-sentinel.conf", s.id))
                    .display()
                    .to_string(),
            )
    }

    fn env(&self, s: &RedisNodeSpec) -> Vec<(String, String)> {
        if !self.def.clock_faults {
            return vec![];
        }
        vec![
            ("LD_PRELOAD".into(), FAKETIME_PRELOAD.into()),
            (
                "FAKETIME_TIMESTAMP_FILE".into(),
                s.clock_file().display().to_string(),
            ),
            ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
            ("FAKETIME_CACHE_DURATION".into(), "1".into()),
        ]
    }

    /// Clock faults need libfaketime to work inside `redis-server`. A jemalloc-linked build
    /// (Debian's) hangs at start under libfaketime alone (libfaketime issue #130); with libc
    /// preloaded after it ([`FAKETIME_PRELOAD`]) it runs. Probe `redis-server --version` under
    /// that preload, bounded, so a system where it still hangs gets a plain refusal.
    fn probe_faketime(&self) -> Result<(), ExternalError> {
        if !Path::new(FAKETIME_LIB).is_file() {
            return Err(ExternalError::NotInstalled {
                binary: FAKETIME_LIB.into(),
                hint: "apt-get install faketime (or set clock_faults = false)".into(),
            });
        }
        let bin = self
            .def
            .start
            .first()
            .cloned()
            .unwrap_or_else(|| "redis-server".into());
        // Its own process group, so a hanging probe is killed with whatever it started.
        let mut child = std::process::Command::new(&bin)
            .arg("--version")
            .process_group(0)
            .env("LD_PRELOAD", FAKETIME_PRELOAD)
            .env("FAKETIME", "+0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| ExternalError::io(format!("probe {bin} under libfaketime"), e))?;
        let ok = wait_until(
            Duration::from_secs(3),
            Duration::from_millis(50),
            || match child.try_wait() {
                Ok(Some(st)) => Ok(st.success()),
                _ => Err(Retry::again("running")),
            },
        );
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = child.kill();
        let _ = child.wait();
        crate::system::faketime::remove_files_of(Path::new(crate::system::faketime::SHM_DIR), child.id());
        match ok {
            Ok(true) => Ok(()),
            _ => Err(ExternalError::Node {
                node: "all".into(),
                detail: format!(
                    "clock faults unavailable: `{bin} --version` hangs or fails under libfaketime \
                     (LD_PRELOAD=\"{FAKETIME_PRELOAD}\"; jemalloc-linked Redis can clash with \
                     libfaketime, libfaketime issue #130); set clock_faults = false in {} or use \
                     a Redis built with MALLOC=libc",
                    self.def_path.display()
                ),
            }),
        }
    }

    /// The node's replication role as it says itself (`master`, `slave`), by `ROLE`.
    pub fn role(&self, node: &str, timeout: Duration) -> Result<String, String> {
        let s = self.spec(node).map_err(|e| e.to_string())?;
        match Conn::once(s.redis_dial, &["ROLE"], timeout).map_err(|e| e.to_string())? {
            redis::Value::Array(a) => a.first().and_then(text).ok_or_else(|| "empty ROLE".into()),
            other => Err(format!("ROLE answered {other:?}")),
        }
    }

    /// The node's clock as its server reports it (`TIME`), microseconds since the epoch.
    pub fn server_time_us(&self, node: &str, timeout: Duration) -> Result<i64, String> {
        let s = self.spec(node).map_err(|e| e.to_string())?;
        match Conn::once(s.redis_dial, &["TIME"], timeout).map_err(|e| e.to_string())? {
            redis::Value::Array(a) if a.len() == 2 => {
                let n = |r: &redis::Value| text(r).and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
                Ok(n(&a[0]) * 1_000_000 + n(&a[1]))
            }
            other => Err(format!("TIME answered {other:?}")),
        }
    }

    /// The primary according to the first Sentinel that answers.
    pub fn leader(&self, timeout: Duration) -> Option<String> {
        let c = self.client(RedisWorkload::Register, None);
        let addr = c.primary_addr(Instant::now() + timeout).ok()?;
        self.specs
            .iter()
            .find(|s| s.redis_dial == addr)
            .map(|s| s.id.clone())
    }

    /// A client that follows the primary through every node's Sentinel.
    pub fn client(&self, workload: RedisWorkload, wait: Option<(u32, u64)>) -> RedisClient {
        RedisClient::new(RedisClientConfig {
            workload,
            sentinels: self.specs.iter().map(|s| s.sentinel_dial).collect(),
            master: self.sys.master.clone(),
            wait,
            prefix: self.def.adapter_str("prefix", "fl/"),
            names: self.specs.iter().map(|s| (s.redis_dial, s.id.clone())).collect(),
        })
    }

    /// Skews the node's realtime clock (server and Sentinel) by `offset_ms`; 0 resets.
    /// libfaketime re-reads the file at most once a second.
    pub fn set_clock_offset(&self, node: &str, offset_ms: i64) -> Result<(), ExternalError> {
        let (path, text) = self.clock_offset_file(node, offset_ms)?;
        std::fs::write(path, text).map_err(|e| ExternalError::io("write clock offset file", e))
    }

    /// The libfaketime file (path, content) skewing `node` by `offset_ms`, wherever the
    /// node runs; the skew is recorded (undone in the failover events' timestamps).
    pub fn clock_offset_file(&self, node: &str, offset_ms: i64) -> Result<(String, String), ExternalError> {
        if !self.def.clock_faults {
            return Err(ExternalError::Node {
                node: node.into(),
                detail: "clock faults are off in the target definition (clock_faults = false)".into(),
            });
        }
        let s = self.spec(node)?;
        let text = format!(
            "{}{:.3}\n",
            if offset_ms < 0 { "-" } else { "+" },
            offset_ms.unsigned_abs() as f64 / 1000.0
        );
        self.sys
            .skews
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(node, offset_ms);
        Ok((s.clock_file().display().to_string(), text))
    }

    /// Writes the failover events once, from the server and Sentinel logs `logs` (by
    /// process name: `n1`, `n1-sentinel`) as they are here, into `out`, in the time base of
    /// a history whose origin is `origin_ns`. For nodes whose logs were brought back from
    /// hosts at teardown.
    pub fn events_from(
        &self,
        logs: &[(String, PathBuf)],
        out: PathBuf,
        origin_ns: u64,
    ) -> std::io::Result<usize> {
        let find = |name: String| logs.iter().find(|(n, _)| *n == name).map(|(_, p)| p.clone());
        let sources = Sources {
            servers: self
                .specs
                .iter()
                .filter_map(|s| Some((s.id.clone(), find(s.id.clone())?)))
                .collect(),
            sentinels: self
                .specs
                .iter()
                .filter_map(|s| Some((s.id.clone(), find(format!("{}-sentinel", s.id))?)))
                .collect(),
            names: self
                .specs
                .iter()
                .map(|s| (s.redis_dial.to_string(), s.id.clone()))
                .collect(),
            time: TimeBase::capture(origin_ns),
            skews: self.sys.skews.clone(),
            out,
        };
        sources.flush()
    }
}
