//! The `command` client adapter drives the built-in store through the example script
//! `examples/command-kv.py` (which runs `faultline kv` per op): a real one-node store started
//! from `targets/command-example.toml`, register ops through the user's executable.

use faultline::client::Client;
use faultline::history::{Op, OpType, Process};
use faultline::target::command::CommandClient;
use faultline::target::external::{
    check_binary, free_ports, wait_until, NodeProcess, NodeVars, Retry, TargetDef,
};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

#[test]
fn command_adapter_drives_the_builtin_store_through_a_script() {
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
