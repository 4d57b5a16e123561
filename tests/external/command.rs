//! The `command` client adapter drives the built-in store through the example script
//! `examples/command-kv.py` (which runs `faultline kv` per op): a real one-node store started
//! from `targets/command-example.toml`, register ops through the user's executable.

use faultline::client::Client;
use faultline::history::{Op, OpType, Process};
use faultline::system::command::CommandClient;
use faultline::system::external::{check_binary, free_ports, wait_until, NodeVars, Retry, TargetDef};
use faultline::system::process::NodeProcess;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

#[test]
fn command_adapter_drives_the_builtin_store_through_a_script() {
    let _serial = serial!();
    if check_binary("python3", "").is_err() {
        eprintln!("python3 is not installed; the example adapter needs it");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let def_path = root.join("targets/command-example.toml");
    let def = TargetDef::load(&def_path).unwrap();
    assert_eq!(def.client, "command");
    let dir = tempfile::tempdir().unwrap();
    let p = free_ports(3).unwrap();
    let (peer, client, admin) = (p[0], p[1], p[2]);
    let vars = NodeVars::new("n1", "127.0.0.1", dir.path(), &dir.path().join("n1.data"))
        .set("port.peer", peer.to_string())
        .set("port.client", client.to_string())
        .set("port.admin", admin.to_string())
        .set("peers", format!("n1=127.0.0.1:{peer}"));
    let mut argv = vars.argv(&def.start, &def_path).unwrap();
    argv[0] = env!("CARGO_BIN_EXE_faultline").to_string();
    let log = vars.path(&def.logs, &def_path).unwrap();
    let _node = NodeProcess::spawn("n1", vec![], argv, vec![], log.clone()).unwrap();

    let mut cmd: Vec<String> = def.command.clone();
    cmd[1] = root.join(&cmd[1]).display().to_string();
    let env = vec![
        (
            "FAULTLINE_BIN".to_string(),
            env!("CARGO_BIN_EXE_faultline").to_string(),
        ),
        (
            "FAULTLINE_KV_CLUSTER".to_string(),
            format!("n1=127.0.0.1:{client}"),
        ),
    ];
    let mut c = CommandClient::new(cmd, env, Some("n1".into()), Some(dir.path().join("cmd.err"))).unwrap();
    let op = |f: &str, v: Value| Op::new(OpType::Invoke, Process::Client(1), f, v).with_key(json!("k"));
    let t = Duration::from_secs(10);
    // The store elects itself leader shortly after start: retry the first write until it is ok.
    wait_until(Duration::from_secs(20), Duration::from_millis(200), || {
        let r = c.invoke(&op("write", json!(1)), t);
        if r.ty == OpType::Ok {
            Ok(())
        } else {
            Err(Retry::again(format!("{r:?}")))
        }
    })
    .unwrap_or_else(|e| panic!("{e:?}\nnode log:\n{}", NodeProcess::tail_of(&log, 20)));
    let r = c.invoke(&op("read", Value::Null), t);
    assert_eq!((r.ty, r.value.clone()), (OpType::Ok, json!(1)), "{r:?}");
    assert_eq!(c.invoke(&op("cas", json!([1, 2])), t).ty, OpType::Ok);
    let bad = c.invoke(&op("cas", json!([1, 3])), t);
    assert_eq!(bad.ty, OpType::Fail, "{bad:?}");
    assert_eq!(c.invoke(&op("read", Value::Null), t).value, json!(2));
}

/// `faultline test --target FILE.toml` with `args`; `(exit code, output)`.
fn faultline_test(def: &Path, args: &[&str]) -> (i32, String) {
    let store = tempfile::tempdir().unwrap();
    faultline_test_in(store.path(), def, args)
}

/// Flags of a short run with no faults over the proxy back end (for runs that must stop at
/// start-up anyway).
fn quick_run(secs: &str) -> [&str; 8] {
    [
        "--workload",
        "register",
        "--nemesis",
        "none",
        "--net",
        "proxy",
        "--time-limit",
        secs,
    ]
}

fn faultline_test_in(store: &Path, def: &Path, args: &[&str]) -> (i32, String) {
    let out = assert_cmd::Command::cargo_bin("faultline")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["test", "--target", def.to_str().unwrap()])
        .args(["--store-dir", store.to_str().unwrap()])
        .args(args)
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn root_with_netns() -> bool {
    let ok = nix::unistd::geteuid().is_root() && check_binary("ip", "").is_ok();
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root with iproute2");
        eprintln!("needs root and `ip` for network namespaces (skipped outside CI)");
    }
    ok
}

/// The whole loop from the CLI: three `faultline node`s started from the example definition, in
/// network namespaces, killed and restarted by the nemesis, driven through the Python script;
/// the register history is linearizable.
#[test]
fn faultline_test_runs_the_command_example_under_kills_and_it_is_valid() {
    let _serial = serial!();
    if check_binary("python3", "").is_err() || !root_with_netns() {
        eprintln!("python3, root and iproute2 needed (skipped)");
        return;
    }
    let def = Path::new("targets/command-example.toml");
    let store = tempfile::tempdir().unwrap();
    let (code, text) = faultline_test_in(
        store.path(),
        def,
        &[
            "--workload",
            "register",
            "--nemesis",
            "kill",
            "--net",
            "netns",
            "--seed",
            "1",
            "--time-limit",
            "8",
            "--nemesis-interval",
            "2",
            "--concurrency",
            "3",
            "--rate",
            "20",
            "--op-timeout-ms",
            "3000",
        ],
    );
    assert_eq!(code, 0, "{text}");
    // Not a vacuous pass: the script got answers, and some of them were reads.
    let latest = store.path().join("latest/history.jsonl");
    let history =
        std::fs::read_to_string(&latest).unwrap_or_else(|e| panic!("{}: {e}\n{text}", latest.display()));
    let ok = |f: &str| {
        history
            .lines()
            .filter(|l| l.contains("\"type\":\"ok\"") && l.contains(&format!("\"f\":\"{f}\"")))
            .count()
    };
    assert!(ok("write") > 0 && ok("read") > 0, "{text}");
}

/// A command that cannot run (a missing script) stops the run before the client phase with exit
/// code 3, a message naming the command and the file, and no node left running.
#[test]
fn a_broken_command_exits_3_naming_what_to_fix_and_leaves_nothing_running() {
    let _serial = serial!();
    if check_binary("python3", "").is_err() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("targets/command-example.toml")
        .unwrap()
        .replace("examples/command-kv.py", "examples/no-such-script.py")
        .replace("name = \"command-example\"", "name = \"broken-example\"");
    let def = dir.path().join("broken.toml");
    std::fs::write(&def, text).unwrap();
    let (code, out) = faultline_test(&def, &quick_run("2"));
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("no-such-script.py") && out.contains("broken.toml"),
        "{out}"
    );
    let ps = std::process::Command::new("pgrep")
        .args(["-f", "broken-example"])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

/// A cluster that never answers on its first port (here: `start` runs something that listens
/// nowhere) fails within the health limit with exit code 3, naming the port and the file.
#[test]
fn a_never_healthy_cluster_exits_3_naming_the_port_and_the_file() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("never.toml");
    std::fs::write(
        &def,
        "name = \"never-healthy\"\ninstall = \"nothing\"\nclient = \"command\"\ncommand = [\"cat\"]\n\
         nodes = 1\nports = [\"client\"]\nstart = [\"sleep\", \"60\"]\n",
    )
    .unwrap();
    let (code, out) = faultline_test(&def, &quick_run("1"));
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("port `client`") && out.contains("never.toml"),
        "{out}"
    );
}
