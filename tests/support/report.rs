//! Helpers shared by the tests that render report.html.

use faultline::report::chromium;

/// The page's script finished, recorded no error, and these sections exist.
pub fn assert_rendered(l: &chromium::Loaded, sections: &[&str]) {
    let attr = |n| chromium::body_attr(&l.dom, n);
    assert_eq!(
        attr("data-rendered").as_deref(),
        Some("1"),
        "page script did not finish; console: {:?}",
        l.console
    );
    assert_eq!(
        attr("data-errors").as_deref(),
        Some("0"),
        "JS errors; console: {:?}",
        l.console
    );
    assert!(l.console.is_empty(), "console messages: {:?}", l.console);
    for s in sections {
        assert!(
            l.dom.contains(&format!("id=\"{s}\"")),
            "section #{s} missing from the rendered page"
        );
    }
}
