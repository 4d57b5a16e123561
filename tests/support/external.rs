//! Helpers shared by the tests of systems the harness starts from installed binaries.

use faultline::system::external::check_binary;

/// Whether `etcd` is installed. CI installs it (`.ci/setup`): missing there fails the test
/// rather than skipping it; elsewhere the test is skipped with a message.
pub fn etcd_present() -> bool {
    if check_binary("etcd", "").is_err() {
        let msg = "etcd is not installed: apt-get install etcd-server etcd-client";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg} (skipped outside CI)");
        return false;
    }
    true
}
