//! The module layering of ARCHITECTURE.md, checked rather than claimed: this test reads every
//! file under `src/`, collects the `crate::`/`super::`/`self::` paths each module uses (in `use`
//! trees and inline), and fails on
//! - an import circle between sibling modules, at any depth (`report::anomalies` <->
//!   `report::html` is as much a circle as `runner` <-> `system`);
//! - an upward import between top-level modules: a module may only use modules on a lower
//!   layer of [`LAYERS`].
//!
//! Unit tests (`#[cfg(test)]` items and files) are left out: a test may reach up for a
//! reference system. A path is resolved to the deepest module it names, so a re-export seen
//! through a parent counts as an import of the parent (parents are never part of a circle
//! with their own children).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules, lowest layer first. A module may import only from modules on lower
/// lines; modules on one line must not import each other. Keep in step with ARCHITECTURE.md.
const LAYERS: &[&[&str]] = &[
    &["util"],
    &["history", "net", "rundir"],
    &["model", "store", "client"],
    &["checker"],
    &["workload", "testkit"],
    &["report", "system"],
    &["nemesis"],
    &["runner"],
    &["fuzz", "sim", "modelcheck"],
    &["cli"],
];

/// `src/` with comments, string and char literals blanked (newlines kept), so braces and
/// paths inside them are not seen.
fn mask(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank =
        |out: &mut Vec<u8>, s: &[u8]| out.extend(s.iter().map(|&c| if c == b'\n' { c } else { b' ' }));
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let ident_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if rest.starts_with(b"//") {
            let j = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..j]);
            i += j;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (1, 2);
            while j < rest.len() && depth > 0 {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j]);
            i += j;
        } else if !ident_before && (rest.starts_with(b"r\"") || rest.starts_with(b"r#")) {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            if rest.get(1 + hashes) != Some(&b'"') {
                out.push(b[i]);
                i += 1;
                continue;
            }
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let body = 2 + hashes;
            let j = rest[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(rest.len(), |p| body + p + close.len());
            blank(&mut out, &rest[..j]);
            i += j;
        } else if rest[0] == b'"' || (rest.starts_with(b"b\"") && !ident_before) {
            let mut j = if rest[0] == b'b' { 2 } else { 1 };
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let j = (j + 1).min(rest.len());
            blank(&mut out, &rest[..j]);
            i += j;
        } else if rest[0] == b'\'' {
            // A char literal ('x', '\n', '\u{..}'), else a lifetime.
            let len = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|&c| c == b'\'').map(|p| p + 3)
            } else {
                let ch = std::str::from_utf8(&rest[1..rest.len().min(6)])
                    .ok()
                    .or_else(|| std::str::from_utf8(&rest[1..rest.len().min(5)]).ok())
                    .and_then(|s| s.chars().next());
                ch.and_then(|c| (rest.get(1 + c.len_utf8()) == Some(&b'\'')).then_some(2 + c.len_utf8()))
            };
            match len {
                Some(n) => {
                    blank(&mut out, &rest[..n]);
                    i += n;
                }
                None => {
                    out.push(b'\'');
                    i += 1;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The end (exclusive) of the item starting at `from`: its matching `}` or its `;`.
fn item_end(t: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    for (k, &c) in t.iter().enumerate().skip(from) {
        match c {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && c == b'}' {
                    return k + 1;
                }
            }
            b';' if depth == 0 => return k + 1,
            _ => {}
        }
    }
    t.len()
}

/// Blanks every `#[cfg(test)]` item; returns the names of test-only `mod x;` files.
fn drop_test_items(text: &mut String) -> Vec<String> {
    let mut test_mods = Vec::new();
    while let Some(at) = text.find("#[cfg(test)]") {
        let bytes = text.as_bytes();
        let after = at + "#[cfg(test)]".len();
        let end = item_end(bytes, after);
        let item = &text[after..end];
        let words: Vec<&str> = item.split_whitespace().collect();
        if let Some(p) = words.iter().position(|w| *w == "mod") {
            if let Some(name) = words.get(p + 1) {
                if item.trim_end().ends_with(';') {
                    test_mods.push(name.trim_end_matches(';').to_string());
                }
            }
        }
        let blanked: String = text[at..end]
            .chars()
            .map(|c| if c == '\n' { c } else { ' ' })
            .collect();
        text.replace_range(at..end, &blanked);
    }
    test_mods
}

/// Every path a file uses that starts with `crate`, `super` or `self`, as segment lists
/// (`use` trees expanded).
fn paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let t = text.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < t.len() {
        let starts_word = i == 0 || !(is_ident(t[i - 1]) || t[i - 1] == b':');
        if starts_word && text[i..].starts_with("use ") {
            let end = item_end(t, i);
            expand_use(&text[i + 4..end - 1], &mut Vec::new(), &mut out);
            i = end;
            continue;
        }
        if starts_word
            && ["crate::", "super::", "self::"]
                .iter()
                .any(|p| text[i..].starts_with(p))
        {
            let mut j = i;
            while j < t.len() && (is_ident(t[j]) || t[j] == b':') {
                j += 1;
            }
            out.push(
                text[i..j]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            );
            i = j;
            continue;
        }
        i += 1;
    }
    out.retain(|p| matches!(p.first().map(String::as_str), Some("crate" | "super" | "self")));
    out
}

/// Expands a `use` tree (`a::{b, c::d}`) under `prefix` into full paths.
fn expand_use(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let tree = tree.strip_prefix("::").unwrap_or(tree);
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let close = tree.rfind('}').unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let n = prefix.len();
        prefix.extend(head);
        let (mut depth, mut start) = (0, 0);
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use(&inner[start..k], prefix, out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        expand_use(&inner[start..], prefix, out);
        prefix.truncate(n);
    } else if !tree.is_empty() {
        let path = tree.split(" as ").next().unwrap_or(tree);
        let mut p = prefix.clone();
        p.extend(
            path.split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
        out.push(p);
    }
}

/// One source file's module path (`src/report/html.rs` -> `report::html`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Module -> modules it imports (deepest module each path names), tests left out.
fn module_graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| f.file_name().is_some_and(|n| n != "main.rs"));
    let mut texts = BTreeMap::new();
    let mut test_only = BTreeSet::new();
    for f in &files {
        let module = module_of(src, f);
        let mut text = mask(&std::fs::read_to_string(f).expect("read source"));
        for m in drop_test_items(&mut text) {
            let mut child = module.clone();
            child.push(m);
            test_only.insert(child);
        }
        texts.insert(module, text);
    }
    // A test-only file's own children are test-only too.
    texts.retain(|m, _| !test_only.iter().any(|t| m.starts_with(t)));
    let modules: BTreeSet<Vec<String>> = texts.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, text) in &texts {
        let mut deps = BTreeSet::new();
        for p in paths(text) {
            let mut at: Vec<String> = match p[0].as_str() {
                "crate" => Vec::new(),
                "super" => module[..module.len().saturating_sub(1)].to_vec(),
                _ => module.clone(),
            };
            let mut rest = &p[1..];
            while rest.first().map(String::as_str) == Some("super") {
                at.pop();
                rest = &rest[1..];
            }
            for seg in rest {
                let mut next = at.clone();
                next.push(seg.clone());
                if !modules.contains(&next) {
                    break;
                }
                at = next;
            }
            if &at != module {
                deps.insert(at);
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// Edges between siblings: `a::x::y -> a::z` becomes `a::x -> a::z`; edges to an ancestor
/// or a descendant are dropped.
fn sibling_edges(
    graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
) -> BTreeSet<(Vec<String>, Vec<String>)> {
    let mut out = BTreeSet::new();
    for (from, tos) in graph {
        for to in tos {
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue;
            }
            out.insert((from[..=common].to_vec(), to[..=common].to_vec()));
        }
    }
    out
}

/// The import circles among siblings: each a list of modules that reach each other.
fn circles(edges: &BTreeSet<(Vec<String>, Vec<String>)>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&Vec<String>> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for (a, b) in edges {
                if *a == n && seen.insert(b.clone()) {
                    todo.push(b.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&Vec<String>, BTreeSet<Vec<String>>> = nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for n in &nodes {
        if !reach[n].contains(*n) || out.iter().any(|c| c.contains(&n.join("::"))) {
            continue;
        }
        let mut circle: Vec<String> = nodes
            .iter()
            .filter(|m| reach[n].contains(**m) && reach[*m].contains(*n))
            .map(|m| m.join("::"))
            .collect();
        circle.sort();
        out.push(circle);
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Upward (or same-layer) imports between top-level modules, and top-level modules the
/// layering does not list.
fn layering_violations(
    edges: &BTreeSet<(Vec<String>, Vec<String>)>,
    graph_modules: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for m in graph_modules {
        if layer_of(m).is_none() {
            out.push(format!(
                "top-level module `{m}` is not in LAYERS (src/layering.rs)"
            ));
        }
    }
    for (a, b) in edges.iter().filter(|(a, _)| a.len() == 1) {
        if let (Some(la), Some(lb)) = (layer_of(&a[0]), layer_of(&b[0])) {
            if lb >= la {
                out.push(format!("`{}` (layer {la}) imports `{}` (layer {lb})", a[0], b[0]));
            }
        }
    }
    out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_circles_between_sibling_modules() {
    let edges = sibling_edges(&module_graph(&src_dir()));
    let found = circles(&edges);
    assert!(found.is_empty(), "import circles in src/: {found:#?}");
}

#[test]
fn top_level_modules_import_only_lower_layers() {
    let graph = module_graph(&src_dir());
    let top: Vec<String> = graph
        .keys()
        .filter(|m| m.len() == 1)
        .map(|m| m[0].clone())
        .collect();
    let v = layering_violations(&sibling_edges(&graph), &top);
    assert!(
        v.is_empty(),
        "layering violations (see ARCHITECTURE.md):\n{}",
        v.join("\n")
    );
}

#[test]
fn the_checker_sees_uses_circles_and_tests() {
    // The parser itself: use trees, inline paths, masked comments and strings, test items.
    let mut text = mask(
        "use crate::{a::b, c::{d, e::f as g}};\nuse super::h;\n// use crate::nope;\n\
         fn x() { let s = \"crate::nope2\"; crate::i::j(); }\n#[cfg(test)]\nmod tests { use crate::k; }\n\
         #[cfg(test)]\nmod more;\n",
    );
    let test_mods = drop_test_items(&mut text);
    let found: BTreeSet<String> = paths(&text).iter().map(|p| p.join("::")).collect();
    let want: BTreeSet<String> = [
        "crate::a::b",
        "crate::c::d",
        "crate::c::e::f",
        "super::h",
        "crate::i::j",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(found, want);
    assert_eq!(test_mods, vec!["more".to_string()]);
    let v = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = [
        (v("r::a::x"), [v("r::b")].into()),
        (v("r::b"), [v("r::a"), v("r")].into()),
        (v("r::c"), [v("r::b")].into()),
    ]
    .into();
    let edges = sibling_edges(&graph);
    assert_eq!(
        circles(&edges),
        vec![vec!["r::a".to_string(), "r::b".to_string()]]
    );
    let top = [(v("cli"), v("util")), (v("util"), v("cli"))].into();
    assert_eq!(layering_violations(&top, &["cli".into(), "util".into()]).len(), 1);
}
