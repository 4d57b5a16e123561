//! The generic `command` client adapter: test any system without writing Rust.
//!
//! Protocol (documented in README, "Testing your own system"): faultline starts the user's
//! executable once per client process, writes one invocation per line on its stdin as JSON in
//! the history's op shape (`{"index":..,"time":..,"type":"invoke","process":3,"f":"write",
//! "key":"k1","value":5}`), and reads one completion per line on its stdout:
//! `{"type":"ok"|"fail"|"info", "value":..., "error":"...", "node":"n2"}` (`value` defaults to
//! the invocation's value; other fields are ignored). The environment carries `FAULTLINE_NODE`
//! (the node this client should prefer), `FAULTLINE_PROCESS` and any `env` the caller adds.
//!
//! Outcomes: an answer is taken as given. No answer within the timeout, a child that exits, or a
//! line that is not a completion → `info` (the op may have reached the system), and the child
//! is killed; the next op starts a fresh one. A child that cannot be started, or whose stdin is
//! already closed, never saw the op → `fail`.
//!
//! [`CommandTarget`] runs a whole system this way from a `targets/*.toml` with
//! `client = "command"` (`faultline test --target FILE.toml`).

mod hosts;
mod target;

pub use hosts::{command_on_hosts, CommandOnHosts};
pub use target::{CommandNodeSpec, CommandSystem, CommandTarget};

use crate::client::{Client, Completion};
use crate::history::{Op, OpType};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("command adapter: empty command")]
    Empty,
    #[error("command adapter: cannot start `{command}`: {source}")]
    Spawn { command: String, source: std::io::Error },
}

/// Starts the user's executable, one per client process.
pub struct CommandClient {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    stderr_log: Option<PathBuf>,
    node: Option<String>,
    running: Option<Running>,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl CommandClient {
    /// `argv` is the executable and its arguments; `node` goes to `FAULTLINE_NODE`; the child's
    /// stderr is appended to `stderr_log` (or discarded).
    pub fn new(
        argv: Vec<String>,
        env: Vec<(String, String)>,
        node: Option<String>,
        stderr_log: Option<PathBuf>,
    ) -> Result<CommandClient, CommandError> {
        if argv.is_empty() {
            return Err(CommandError::Empty);
        }
        Ok(CommandClient {
            argv,
            env,
            stderr_log,
            node,
            running: None,
        })
    }

    fn spawn(&mut self, process: &str) -> Result<&mut Running, CommandError> {
        if self.running.is_none() {
            let stderr = match &self.stderr_log {
                Some(p) => std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
                None => Stdio::null(),
            };
            let mut cmd = Command::new(&self.argv[0]);
            cmd.args(&self.argv[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(stderr)
                .env("FAULTLINE_PROCESS", process);
            if let Some(n) = &self.node {
                cmd.env("FAULTLINE_NODE", n);
            }
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            let mut child = cmd.spawn().map_err(|source| CommandError::Spawn {
                command: self.argv.join(" "),
                source,
            })?;
            let stdin = child.stdin.take().expect("piped");
            let stdout = child.stdout.take().expect("piped");
            let (tx, rx) = mpsc::channel();
            // Reader thread: ends (closing the channel) when the child closes stdout.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            self.running = Some(Running {
                child,
                stdin,
                lines: rx,
            });
        }
        Ok(self.running.as_mut().expect("set above"))
    }

    fn kill(&mut self) {
        if let Some(mut r) = self.running.take() {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }

    fn exchange(&mut self, op: &Op, timeout: Duration) -> Completion {
        let line = match serde_json::to_string(op) {
            Ok(l) => l,
            Err(e) => return Completion::fail(op.value.clone(), format!("cannot encode op: {e}")),
        };
        let r = match self.spawn(&op.process.to_string()) {
            Ok(r) => r,
            Err(e) => return Completion::fail(op.value.clone(), e.to_string()),
        };
        if let Err(e) = writeln!(r.stdin, "{line}").and_then(|_| r.stdin.flush()) {
            self.kill();
            return Completion::fail(op.value.clone(), format!("command's stdin is closed: {e}"));
        }
        match r.lines.recv_timeout(timeout) {
            Ok(answer) => match parse_completion(&answer, op) {
                Ok(c) => c,
                Err(e) => {
                    self.kill();
                    Completion::info(op.value.clone(), e)
                }
            },
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Completion::info(
                    op.value.clone(),
                    format!("command gave no answer within {timeout:?}"),
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.kill();
                Completion::info(op.value.clone(), "command exited without answering")
            }
        }
    }
}

impl Client for CommandClient {
    fn invoke(&mut self, op: &Op, timeout: Duration) -> Completion {
        let c = self.exchange(op, timeout);
        match (&c.node, &self.node) {
            (None, Some(n)) => {
                let n = n.clone();
                c.on(n)
            }
            _ => c,
        }
    }
}

impl Drop for CommandClient {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Parses one answer line; `Err` says what is wrong with it.
pub fn parse_completion(line: &str, op: &Op) -> Result<Completion, String> {
    let v: Value = serde_json::from_str(line.trim())
        .map_err(|e| format!("command answered a line that is not JSON ({e}): {line}"))?;
    let ty = v
        .get("type")
        .and_then(Value::as_str)
        .and_then(OpType::parse)
        .filter(|t| t.is_completion())
        .ok_or_else(|| format!("command answer needs \"type\": \"ok\", \"fail\" or \"info\": {line}"))?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(Completion {
        ty,
        value: v.get("value").cloned().unwrap_or_else(|| op.value.clone()),
        node: text("node"),
        error: text("error"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;
    use serde_json::json;

    fn op(f: &str, v: Value) -> Op {
        Op::new(OpType::Invoke, Process::Client(7), f, v)
    }

    fn sh(script: &str) -> CommandClient {
        CommandClient::new(
            vec!["sh".into(), "-c".into(), script.into()],
            vec![],
            Some("n2".into()),
            None,
        )
        .unwrap()
    }

    #[test]
    fn parses_answers_and_rejects_bad_ones() {
        let o = op("read", Value::Null);
        let c = parse_completion(r#"{"type":"ok","value":3,"node":"n1"}"#, &o).unwrap();
        assert_eq!(
            (c.ty, c.value, c.node.as_deref()),
            (OpType::Ok, json!(3), Some("n1"))
        );
        let c = parse_completion(r#"{"type":"fail","error":"no"}"#, &o).unwrap();
        assert_eq!((c.ty, c.error.as_deref()), (OpType::Fail, Some("no")));
        assert!(parse_completion(r#"{"type":"invoke"}"#, &o).is_err());
        assert!(parse_completion("nonsense", &o).is_err());
    }

    #[test]
    fn echo_child_answers_each_op_and_sees_its_environment() {
        // Answers ok with value = FAULTLINE_PROCESS, once per input line.
        let mut c = sh(r#"while read l; do echo "{\"type\":\"ok\",\"value\":$FAULTLINE_PROCESS}"; done"#);
        for _ in 0..3 {
            let r = c.invoke(&op("write", json!(1)), Duration::from_secs(5));
            assert_eq!(
                (r.ty, r.value.clone(), r.node.as_deref()),
                (OpType::Ok, json!(7), Some("n2")),
                "{r:?}"
            );
        }
    }

    #[test]
    fn slow_dead_or_garbled_children_give_info_and_missing_ones_fail() {
        let mut slow = sh("read l; sleep 5");
        let r = slow.invoke(&op("write", json!(1)), Duration::from_millis(200));
        assert_eq!(r.ty, OpType::Info);
        let mut dead = sh("read l; exit 0");
        assert_eq!(
            dead.invoke(&op("write", json!(1)), Duration::from_secs(5)).ty,
            OpType::Info
        );
        let mut garbled = sh("read l; echo hello");
        assert_eq!(
            garbled.invoke(&op("write", json!(1)), Duration::from_secs(5)).ty,
            OpType::Info
        );
        let mut missing = CommandClient::new(vec!["/no/such/exe".into()], vec![], None, None).unwrap();
        assert_eq!(
            missing.invoke(&op("write", json!(1)), Duration::from_secs(1)).ty,
            OpType::Fail
        );
        assert!(CommandClient::new(vec![], vec![], None, None).is_err());
    }
}
