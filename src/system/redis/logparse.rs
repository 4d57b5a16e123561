//! Reading Redis and Sentinel log lines: the line prefix, its wall-clock time, and the few
//! messages that say who is primary (server logs) and how a failover went (Sentinel logs).
//!
//! Line shape (Redis 5 to 7): `PID:R DD Mon YYYY HH:MM:SS.mmm L message`, where `R` is the role
//! (`M` primary, `S` replica, `C` child, `X` Sentinel) and `L` the level (`#`, `*`, `-`, `.`).
//! Times are local wall-clock milliseconds; [`TimeBase`] maps them onto the history's time base
//! (CLOCK_MONOTONIC ns minus the run's origin) through the REALTIME−MONOTONIC offset captured
//! when the run started. Invariant: a wall-clock time before the origin maps to 0, never wraps.

use std::collections::BTreeMap;

/// One parsed log line.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine<'a> {
    pub role: char,
    /// Milliseconds since the Unix epoch (the line's local time, converted).
    pub wall_ms: i64,
    pub msg: &'a str,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses `PID:R DD Mon YYYY HH:MM:SS.mmm L message`; `None` for any other line.
pub fn parse_line(line: &str) -> Option<LogLine<'_>> {
    let (pid, rest) = line.split_once(':')?;
    if pid.is_empty() || !pid.trim().bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut it = rest.splitn(7, ' ');
    let role = it.next()?.chars().next()?;
    let day: i32 = it.next()?.parse().ok()?;
    let mon_name = it.next()?;
    let mon = MONTHS.iter().position(|m| *m == mon_name)? as i32;
    let year: i32 = it.next()?.parse().ok()?;
    let clock = it.next()?;
    let _level = it.next()?;
    let msg = it.next().unwrap_or("");
    let (hms, frac) = clock.split_once('.')?;
    let mut p = hms.split(':').map(|x| x.parse::<i32>().ok());
    let (h, m, s) = (p.next()??, p.next()??, p.next()??);
    let ms: i64 = frac.get(..3)?.parse().ok()?;
    let secs = local_to_epoch(year, mon, day, h, m, s)?;
    Some(LogLine {
        role,
        wall_ms: secs * 1000 + ms,
        msg,
    })
}

/// Local calendar time → seconds since the epoch, by `mktime` (so `TZ` is honoured exactly
/// as Redis's own `localtime` used it).
fn local_to_epoch(year: i32, mon: i32, day: i32, h: i32, m: i32, s: i32) -> Option<i64> {
    // SAFETY: an all-zero `tm` is a valid value; mktime only reads/normalises the struct we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = year - 1900;
    tm.tm_mon = mon;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s;
    tm.tm_isdst = -1;
    // SAFETY: see above.
    let t = unsafe { libc::mktime(&mut tm) };
    (t != -1).then_some(t as i64)
}

/// Maps wall-clock times onto the history's time base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeBase {
    /// CLOCK_REALTIME − CLOCK_MONOTONIC, ns, captured once at the start of the run.
    pub realtime_minus_mono_ns: i128,
    /// The run's time origin (CLOCK_MONOTONIC ns).
    pub origin_ns: u64,
}

impl TimeBase {
    /// Captures the clock offset now, for a run whose history starts at `origin_ns`.
    pub fn capture(origin_ns: u64) -> TimeBase {
        let read = |clock| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: clock_gettime writes into the timespec we own.
            unsafe { libc::clock_gettime(clock, &mut ts) };
            ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
        };
        let mono = read(libc::CLOCK_MONOTONIC);
        let real = read(libc::CLOCK_REALTIME);
        TimeBase {
            realtime_minus_mono_ns: real - mono,
            origin_ns,
        }
    }

    /// A wall-clock time (ms since the epoch) in the history's base; 0 if before the origin.
    pub fn history_ns(&self, wall_ms: i64) -> u64 {
        let mono = wall_ms as i128 * 1_000_000 - self.realtime_minus_mono_ns;
        (mono - self.origin_ns as i128).clamp(0, u64::MAX as i128) as u64
    }
}

/// What a Sentinel log says about a failover. Addresses are `ip:port` of data servers.
#[derive(Clone, Debug, PartialEq)]
pub enum SentinelObs {
    /// `+try-failover` or `+elected-leader`: this Sentinel is failing `old` over in `epoch`.
    Start { epoch: u64, old: String },
    /// `+selected-slave` / `+promoted-slave`: `new` is (being) promoted.
    Promoted { epoch: u64, new: String, done: bool },
    /// `+failover-end`: the failover this Sentinel led is complete.
    End { epoch: u64, old: String },
    /// `+switch-master`: this Sentinel now takes `new` as primary instead of `old`.
    Switch { epoch: u64, old: String, new: String },
    /// `-failover-abort-*`: the failover of `epoch` gave up (`reason` is the suffix).
    Abort { epoch: u64, reason: String },
}

/// What a data server's own log says about its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerObs {
    /// The process (re)starts: whatever it was, it no longer is.
    Starting,
    /// Started as a primary (no `replicaof`).
    ReadyAsPrimary,
    /// `MASTER MODE enabled`: promoted (by Sentinel's `REPLICAOF NO ONE`).
    Promoted,
    /// `Connecting to MASTER` / `REPLICAOF ... enabled`: it follows a primary.
    Replica,
}

/// `ip port` at `words[i..i+2]` as `ip:port`.
fn addr_at(words: &[&str], i: usize) -> Option<String> {
    let ip = words.get(i)?;
    let port: u16 = words.get(i + 1)?.parse().ok()?;
    Some(format!("{ip}:{port}"))
}

/// Parses a whole Sentinel log: `(wall_ms, observation)` in file order. The epoch of each is
/// the latest `+new-epoch` this Sentinel logged before it (0 before any).
pub fn sentinel_obs(text: &str) -> Vec<(i64, SentinelObs)> {
    let mut epoch = 0u64;
    let mut out = Vec::new();
    for l in text.lines().filter_map(parse_line) {
        let w: Vec<&str> = l.msg.split_whitespace().collect();
        let Some(&head) = w.first() else { continue };
        let obs = match head {
            "+new-epoch" => {
                if let Some(e) = w.get(1).and_then(|e| e.parse().ok()) {
                    epoch = epoch.max(e);
                }
                continue;
            }
            // +try-failover master NAME IP PORT
            "+try-failover" | "+elected-leader" => {
                addr_at(&w, 3).map(|old| SentinelObs::Start { epoch, old })
            }
            // +promoted-slave slave IP:PORT IP PORT @ NAME OLDIP OLDPORT
            "+selected-slave" | "+promoted-slave" => addr_at(&w, 3).map(|new| SentinelObs::Promoted {
                epoch,
                new,
                done: head == "+promoted-slave",
            }),
            "+failover-end" => addr_at(&w, 3).map(|old| SentinelObs::End { epoch, old }),
            // +switch-master NAME OLDIP OLDPORT NEWIP NEWPORT
            "+switch-master" => match (addr_at(&w, 2), addr_at(&w, 4)) {
                (Some(old), Some(new)) => Some(SentinelObs::Switch { epoch, old, new }),
                _ => None,
            },
            h if h.starts_with("-failover-abort-") => Some(SentinelObs::Abort {
                epoch,
                reason: h["-failover-abort-".len()..].to_string(),
            }),
            _ => None,
        };
        out.extend(obs.map(|o| (l.wall_ms, o)));
    }
    out
}

/// Parses a whole server log: `(wall_ms, observation)` in file order.
pub fn server_obs(text: &str) -> Vec<(i64, ServerObs)> {
    let mut out = Vec::new();
    for l in text.lines().filter_map(parse_line) {
        let m = l.msg;
        let obs = if m.contains("Redis is starting") {
            ServerObs::Starting
        } else if m.starts_with("Ready to accept connections") && l.role == 'M' {
            ServerObs::ReadyAsPrimary
        } else if m.starts_with("MASTER MODE enabled") {
            ServerObs::Promoted
        } else if m.starts_with("Connecting to MASTER")
            || (m.starts_with("REPLICAOF") && m.contains("enabled"))
        {
            ServerObs::Replica
        } else {
            continue;
        };
        out.push((l.wall_ms, obs));
    }
    out
}

/// Address (`ip:port`) → node name, for naming nodes in events.
pub type AddrNames = BTreeMap<String, String>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Real lines from a 3-node run (redis 7.0, Sentinel of n3 led the failover of epoch 1).
    pub(crate) const LEADER_SENTINEL: &str = "\
9096:X 28 Nov 2026 19:56:28.780 # +monitor master fl 127.0.0.1 17001 quorum 2
9096:X 28 Nov 2026 19:57:02.125 # +sdown master fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:02.181 # +odown master fl 127.0.0.1 17001 #quorum 2/2
9096:X 28 Nov 2026 19:57:02.181 # +new-epoch 1
9096:X 28 Nov 2026 19:57:02.181 # +try-failover master fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:02.193 * Sentinel new configuration saved on disk
9096:X 28 Nov 2026 19:57:02.193 # +vote-for-leader 42ee7c1a34ab2382497b0d3e115c72ee329f8d7b 1
9096:X 28 Nov 2026 19:57:02.273 # +elected-leader master fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:02.273 # +failover-state-select-slave master fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:02.353 # +selected-slave slave 127.0.0.1:17003 127.0.0.1 17003 @ fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:02.417 * +failover-state-wait-promotion slave 127.0.0.1:17003 127.0.0.1 17003 @ fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:03.285 # +promoted-slave slave 127.0.0.1:17003 127.0.0.1 17003 @ fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:04.387 # -odown master fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:04.387 # +failover-end master fl 127.0.0.1 17001
9096:X 28 Nov 2026 19:57:04.387 # +switch-master fl 127.0.0.1 17001 127.0.0.1 17003
9096:X 28 Nov 2026 19:57:05.455 # +sdown slave 127.0.0.1:17001 127.0.0.1 17001 @ fl 127.0.0.1 17003
";
    pub(crate) const FOLLOWER_SENTINEL: &str = "\
9085:X 28 Nov 2026 19:57:02.180 # +sdown master fl 127.0.0.1 17001
9085:X 28 Nov 2026 19:57:02.217 # +new-epoch 1
9085:X 28 Nov 2026 19:57:02.237 # +vote-for-leader 42ee7c1a34ab2382497b0d3e115c72ee329f8d7b 1
9085:X 28 Nov 2026 19:57:02.257 # Next failover delay: I will not start a failover before Sat Nov 28 19:57:08 2026
9085:X 28 Nov 2026 19:57:03.369 # +config-update-from sentinel 42ee7c1a 127.0.0.1 17103 @ fl 127.0.0.1 17001
9085:X 28 Nov 2026 19:57:03.369 # +switch-master fl 127.0.0.1 17001 127.0.0.1 17003
9085:X 28 Nov 2026 19:57:19.517 * +convert-to-slave slave 127.0.0.1:17001 127.0.0.1 17001 @ fl 127.0.0.1 17003
";
    pub(crate) const OLD_PRIMARY: &str = "\
9084:C 28 Nov 2026 19:56:28.667 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
9084:M 28 Nov 2026 19:56:28.689 * Running mode=standalone, port=17001.
9084:M 28 Nov 2026 19:56:28.689 * Ready to accept connections
9084:M 28 Nov 2026 19:57:09.485 # Connection with replica client id #10 lost.
9084:S 28 Nov 2026 19:57:19.517 * Connecting to MASTER 127.0.0.1:17003
9084:S 28 Nov 2026 19:57:19.517 * MASTER <-> REPLICA sync started
9084:S 28 Nov 2026 19:57:19.517 * REPLICAOF 127.0.0.1:17003 enabled (user request from 'id=14 addr=127.0.0.1:35432')
some unrelated stderr line
";
    pub(crate) const PROMOTED: &str = "\
9095:C 28 Nov 2026 19:56:28.800 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
9095:S 28 Nov 2026 19:56:28.822 * Ready to accept connections
9095:S 28 Nov 2026 19:56:28.822 * Connecting to MASTER 127.0.0.1:17001
9095:M 28 Nov 2026 19:57:02.469 # Connection with master lost.
9095:M 28 Nov 2026 19:57:02.469 * MASTER MODE enabled (user request from 'id=8 addr=127.0.0.1:55508')
";

    #[test]
    fn parses_prefix_role_and_time() {
        let l = parse_line("9096:X 28 Nov 2026 19:57:02.181 # +new-epoch 1").unwrap();
        assert_eq!((l.role, l.msg), ('X', "+new-epoch 1"));
        let l2 = parse_line("9096:X 28 Nov 2026 19:57:03.000 # x").unwrap();
        assert_eq!(l2.wall_ms - l.wall_ms, 819);
        let next_day = parse_line("1:M 29 Nov 2026 19:57:02.181 * y").unwrap();
        assert_eq!(next_day.wall_ms - l.wall_ms, 86_400_000);
        for bad in [
            "",
            "hello",
            "12:X yesterday",
            "x:X 28 Nov 2026 19:57:02.181 # m",
            "1:X 28 Foo 2026 1:2:3.456 # m",
        ] {
            assert_eq!(parse_line(bad), None, "{bad}");
        }
    }

    #[test]
    fn time_base_maps_wall_clock_onto_history_time() {
        let tb = TimeBase {
            realtime_minus_mono_ns: 1_000_000_000_000,
            origin_ns: 5_000_000_000,
        };
        // wall 1006 s = mono 6 s = 1 s after the origin.
        assert_eq!(tb.history_ns(1_006_000), 1_000_000_000);
        assert_eq!(tb.history_ns(1_000_000), 0, "before the origin clamps to 0");
        let now = TimeBase::capture(crate::util::clock::monotonic_ns());
        let wall_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!(now.history_ns(wall_now + 10_000) > 9_000_000_000);
    }

    #[test]
    fn sentinel_logs_give_starts_promotions_and_ends_with_epochs() {
        let o: Vec<SentinelObs> = sentinel_obs(LEADER_SENTINEL).into_iter().map(|x| x.1).collect();
        let old = "127.0.0.1:17001".to_string();
        let new = "127.0.0.1:17003".to_string();
        assert_eq!(
            o,
            vec![
                SentinelObs::Start {
                    epoch: 1,
                    old: old.clone()
                },
                SentinelObs::Start {
                    epoch: 1,
                    old: old.clone()
                },
                SentinelObs::Promoted {
                    epoch: 1,
                    new: new.clone(),
                    done: false
                },
                SentinelObs::Promoted {
                    epoch: 1,
                    new: new.clone(),
                    done: true
                },
                SentinelObs::End {
                    epoch: 1,
                    old: old.clone()
                },
                SentinelObs::Switch {
                    epoch: 1,
                    old: old.clone(),
                    new: new.clone()
                },
            ]
        );
        let f = sentinel_obs(FOLLOWER_SENTINEL);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].1, SentinelObs::Switch { epoch: 1, old, new });
        let a = sentinel_obs("1:X 28 Nov 2026 19:57:02.181 # +new-epoch 4\n1:X 28 Nov 2026 19:57:12.181 # -failover-abort-not-elected master fl 127.0.0.1 17001\n");
        assert_eq!(
            a[0].1,
            SentinelObs::Abort {
                epoch: 4,
                reason: "not-elected".into()
            }
        );
    }

    #[test]
    fn server_logs_give_role_changes() {
        let o: Vec<ServerObs> = server_obs(OLD_PRIMARY).into_iter().map(|x| x.1).collect();
        use ServerObs::*;
        assert_eq!(o, vec![Starting, ReadyAsPrimary, Replica, Replica]);
        let p: Vec<ServerObs> = server_obs(PROMOTED).into_iter().map(|x| x.1).collect();
        assert_eq!(p, vec![Starting, Replica, Promoted]);
    }
}
