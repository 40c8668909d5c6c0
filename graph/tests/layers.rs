//! The layers of `src/` (`src/README.md`): no module imports from a layer
//! above its own.
//!
//! Every `.rs` file under `src/` gets the layer of the folder it lies in
//! (`LAYERS`); `lib.rs` is wiring (`mod` lines and re-exports) and may name
//! every layer. In each file's code (comments and literals left out), every
//! path that starts with `crate::` or `super::` is found, `use` groups
//! expanded (`use crate::{a, b::c}` is two paths), and resolved to the file
//! of the module it names, through `lib.rs`'s re-exports for names at the
//! crate root (`crate::Error` is `run/error.rs`'s, `crate::Executor` is
//! another crate's). The test fails naming file, line and path for each one
//! that names a higher layer, or something no layer holds (an item of
//! `lib.rs`, a file outside every layer's folder).
//!
//! Test code is exempt: files named `*_tests.rs` and the bodies of
//! `#[cfg(test)] mod … { }`, which build graphs through the public API from
//! any layer. The checker checks itself on planted imports
//! (`a_planted_*`), so a parser that stops finding paths fails too.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The layers, bottom up: each folder of `src/` and what it holds.
const LAYERS: &[(&str, &str)] = &[
    ("store/", "storage"),
    ("run/", "running"),
    ("api/", "public API"),
    ("inspect/", "pictures and diagnostics"),
    ("mpi/", "multi-node"),
];

/// The crate root: wiring only, above every layer.
const ROOT: &str = "lib.rs";

/// Source files by path relative to `src/`.
type Files = BTreeMap<String, String>;

/// The layer of a file (an index into `LAYERS`), `None` outside them all.
fn layer_of(file: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(folder, _)| file.starts_with(folder))
}

fn is_test_file(file: &str) -> bool {
    file.ends_with("_tests.rs")
}

/// `src/`'s files, read from disk.
fn read_src() -> Files {
    fn walk(dir: &Path, root: &Path, files: &mut Files) {
        for entry in fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, root, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(root).unwrap().to_string_lossy();
                let text = fs::read_to_string(&path).expect("a source file is UTF-8");
                files.insert(name.replace('\\', "/"), text);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Files::new();
    walk(&root, &root, &mut files);
    files
}

/// `src` with comments, string and character literals blanked out
/// (newlines kept, so offsets keep their lines).
fn code_of(src: &str) -> Vec<u8> {
    let s = src.as_bytes();
    let mut out = s.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    let mut i = 0;
    while i < s.len() {
        let prev_ident = i > 0 && is_ident(s[i - 1]);
        if s[i..].starts_with(b"//") {
            let end = s[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(s.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if s[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (1, i + 2);
            while j < s.len() && depth > 0 {
                if s[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if s[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if let Some((body, hashes)) = raw_string_at(s, i).filter(|_| !prev_ident) {
            // A raw string: r"…", r#"…"#, br"…".
            let mut close = vec![b'"'];
            close.resize(1 + hashes, b'#');
            let end = s[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(s.len(), |n| body + n + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if s[i] == b'"' {
            let mut j = i + 1;
            while j < s.len() && s[j] != b'"' {
                j += if s[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(s.len());
            blank(&mut out, i, end);
            i = end;
        } else if s[i] == b'\'' {
            // A character literal ('x', '\n', '\u{..}'), else a lifetime.
            let end = if s.get(i + 1) == Some(&b'\\') {
                // The escaped character is never the closing quote.
                s.get(i + 3..)
                    .and_then(|rest| rest.iter().position(|&b| b == b'\''))
                    .map(|n| i + 3 + n + 1)
            } else {
                let c = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (s.get(i + 1 + c) == Some(&b'\'')).then_some(i + 1 + c + 1)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Where the body of a raw string starting at `i` begins, and its number of
/// `#`s; `None` if none starts there.
fn raw_string_at(s: &[u8], i: usize) -> Option<(usize, usize)> {
    let k = if s[i..].starts_with(b"br") {
        i + 2
    } else if s[i] == b'r' {
        i + 1
    } else {
        return None;
    };
    let hashes = s[k..].iter().take_while(|&&b| b == b'#').count();
    (s.get(k + hashes) == Some(&b'"')).then_some((k + hashes + 1, hashes))
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn skip_ws(code: &[u8], mut i: usize) -> usize {
    while i < code.len() && code[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn ident_at(code: &[u8], i: usize) -> Option<(String, usize)> {
    let end = i + code[i..].iter().take_while(|&&b| is_ident(b)).count();
    (end > i).then(|| (String::from_utf8_lossy(&code[i..end]).into_owned(), end))
}

/// Whether `word` starts at `i` as a whole word.
fn word_at(code: &[u8], i: usize, word: &str) -> bool {
    code[i..].starts_with(word.as_bytes())
        && (i == 0 || !is_ident(code[i - 1]))
        && !code.get(i + word.len()).is_some_and(|&b| is_ident(b))
}

/// A path's leaves from `i` on, after `prefix`: `a::b`, `a::{b, c::d}`,
/// `*`, `self`; `a as b` gives `(path, Some(b))`. Returns where it ended.
fn parse_tree(
    code: &[u8],
    i: usize,
    prefix: Vec<String>,
    leaves: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let i = skip_ws(code, i);
    if code.get(i) == Some(&b'{') {
        let mut j = i + 1;
        loop {
            j = skip_ws(code, j);
            match code.get(j) {
                Some(b'}') | None => return j + 1,
                Some(b',') => j += 1,
                _ => {
                    let end = parse_tree(code, j, prefix.clone(), leaves);
                    j = if end == j { j + 1 } else { end };
                }
            }
        }
    }
    if code.get(i) == Some(&b'*') {
        leaves.push((prefix, None));
        return i + 1;
    }
    let Some((name, end)) = ident_at(code, i) else {
        leaves.push((prefix, None));
        return i;
    };
    let mut path = prefix;
    if name != "self" {
        path.push(name);
    }
    let j = skip_ws(code, end);
    if code[j..].starts_with(b"::") && code.get(skip_ws(code, j + 2)) != Some(&b'<') {
        return parse_tree(code, j + 2, path, leaves);
    }
    if word_at(code, j, "as") {
        if let Some((alias, end)) = ident_at(code, skip_ws(code, j + 2)) {
            leaves.push((path, Some(alias)));
            return end;
        }
    }
    leaves.push((path, None));
    end
}

/// An inline module, `mod name { … }`.
struct Inline {
    name: String,
    /// Where its braces are.
    open: usize,
    close: usize,
    /// Whether it is `#[cfg(test)]`.
    test: bool,
}

impl Inline {
    fn holds(&self, offset: usize) -> bool {
        self.open < offset && offset < self.close
    }
}

/// The inline modules of a file's code.
fn modules_in(code: &[u8]) -> Vec<Inline> {
    let mut inline = Vec::new();
    for i in 0..code.len() {
        if !word_at(code, i, "mod") {
            continue;
        }
        let Some((name, end)) = ident_at(code, skip_ws(code, i + 3)) else {
            continue;
        };
        let open = skip_ws(code, end);
        if code.get(open) != Some(&b'{') {
            continue;
        }
        let mut depth = 0;
        let mut close = open;
        for (k, &b) in code.iter().enumerate().skip(open) {
            depth += i32::from(b == b'{') - i32::from(b == b'}');
            if depth == 0 {
                close = k;
                break;
            }
        }
        let before: String = String::from_utf8_lossy(&code[..i])
            .split_whitespace()
            .collect();
        let test = before.ends_with("#[cfg(test)]") || before.ends_with("#[cfg(test)]pub(crate)");
        inline.push(Inline {
            name,
            open,
            close,
            test,
        });
    }
    inline
}

/// The module path of a file: `run/plan.rs` is `[run, plan]`.
fn module_of(file: &str) -> Vec<String> {
    let file = file.strip_suffix(".rs").unwrap_or(file);
    let mut path: Vec<String> = file.split('/').map(str::to_owned).collect();
    if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
        path.pop();
    }
    path
}

/// Where a path leads.
#[derive(Debug, PartialEq)]
enum Target {
    /// The file of the module it names (an item of that module, or the
    /// module itself).
    File(String),
    /// Another crate.
    External,
    /// Nothing a layer holds: a name at the crate root that `lib.rs`
    /// neither declares as a module nor re-exports.
    Unknown,
}

/// `lib.rs`'s `use` items: the name each makes at the crate root, and the
/// path it stands for (`crate::` dropped; external crates kept as they are).
fn root_names(files: &Files) -> BTreeMap<String, Vec<String>> {
    let code = code_of(&files[ROOT]);
    let mut names = BTreeMap::new();
    for i in 0..code.len() {
        if !word_at(&code, i, "use") {
            continue;
        }
        let mut leaves = Vec::new();
        parse_tree(&code, i + 3, Vec::new(), &mut leaves);
        for (mut path, alias) in leaves {
            if path.first().map(String::as_str) == Some("crate") {
                path.remove(0);
            }
            if let Some(name) = alias.or_else(|| path.last().cloned()) {
                names.insert(name, path);
            }
        }
    }
    names
}

/// Resolves an absolute module path (without `crate`) to the file of the
/// module it names.
fn resolve(files: &Files, roots: &BTreeMap<String, Vec<String>>, path: &[String]) -> Target {
    let (mut dir, mut file) = (String::new(), ROOT.to_owned());
    for (k, segment) in path.iter().enumerate() {
        let as_file = format!("{dir}{segment}.rs");
        let as_dir = format!("{dir}{segment}/mod.rs");
        if files.contains_key(&as_file) {
            file = as_file;
        } else if files.contains_key(&as_dir) {
            file = as_dir;
        } else if file == ROOT {
            return match roots.get(segment) {
                Some(to) => {
                    let first = to.first().map(String::as_str);
                    let internal = first.is_some_and(|m| {
                        files.contains_key(&format!("{m}.rs"))
                            || files.contains_key(&format!("{m}/mod.rs"))
                    });
                    if internal {
                        let mut full = to.clone();
                        full.extend_from_slice(&path[k + 1..]);
                        resolve(files, roots, &full)
                    } else {
                        Target::External
                    }
                }
                None => Target::Unknown,
            };
        } else {
            break;
        }
        dir = format!("{dir}{segment}/");
    }
    if file == ROOT {
        Target::Unknown
    } else {
        Target::File(file)
    }
}

/// Every violation in `files`, as `file:line: message`, and the number of
/// `crate::`/`super::` paths resolved.
fn check(files: &Files) -> (Vec<String>, usize) {
    let roots = root_names(files);
    let (mut violations, mut seen) = (Vec::new(), 0);
    for (file, src) in files {
        if file == ROOT || is_test_file(file) {
            continue;
        }
        let Some(layer) = layer_of(file) else {
            violations.push(format!(
                "{file}: in no layer; put it in one of the folders of LAYERS \
                 (tests/layers.rs, src/README.md)"
            ));
            continue;
        };
        let code = code_of(src);
        let inline = modules_in(&code);
        for i in 0..code.len() {
            let start = if word_at(&code, i, "crate") {
                "crate"
            } else if word_at(&code, i, "super") {
                "super"
            } else {
                continue;
            };
            // A path's first segment only (not `super` in `super::super`,
            // not a path inside a `use` group already read).
            let before = skip_back(&code, i);
            if before >= 2 && &code[before - 2..before] == b"::" {
                continue;
            }
            let after = skip_ws(&code, i + start.len());
            if !code[after..].starts_with(b"::") {
                continue;
            }
            if inline.iter().any(|m| m.test && m.holds(i)) {
                continue;
            }
            let mut leaves = Vec::new();
            parse_tree(&code, i, Vec::new(), &mut leaves);
            let line = 1 + code[..i].iter().filter(|&&b| b == b'\n').count();
            for (path, _) in leaves {
                seen += 1;
                let absolute = absolute(file, &inline, i, &path);
                let shown = path.join("::");
                match resolve(files, &roots, &absolute) {
                    Target::External => {}
                    Target::Unknown => violations.push(format!(
                        "{file}:{line}: `{shown}` names nothing a layer holds \
                         (an item of lib.rs, or no such module)"
                    )),
                    Target::File(target) => match layer_of(&target) {
                        Some(to) if to <= layer => {}
                        Some(to) => violations.push(format!(
                            "{file}:{line}: `{shown}` imports from {target}, layer {} ({}), \
                             above this file's layer {} ({})",
                            to, LAYERS[to].1, layer, LAYERS[layer].1
                        )),
                        None => violations.push(format!(
                            "{file}:{line}: `{shown}` leads to {target}, in no layer"
                        )),
                    },
                }
            }
        }
    }
    (violations, seen)
}

fn skip_back(code: &[u8], mut i: usize) -> usize {
    while i > 0 && code[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    i
}

/// `path` (starting with `crate` or `super`), found at `offset` in `file`,
/// as a path from the crate root.
fn absolute(file: &str, inline: &[Inline], offset: usize, path: &[String]) -> Vec<String> {
    if path.first().map(String::as_str) == Some("crate") {
        return path[1..].to_vec();
    }
    let mut module = module_of(file);
    let mut enclosing: Vec<&Inline> = inline.iter().filter(|m| m.holds(offset)).collect();
    enclosing.sort_by_key(|m| m.open);
    module.extend(enclosing.into_iter().map(|m| m.name.clone()));
    let supers = path.iter().take_while(|s| *s == "super").count();
    module.truncate(module.len().saturating_sub(supers));
    module.extend_from_slice(&path[supers..]);
    module
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let files = read_src();
    let (violations, seen) = check(&files);
    assert!(
        seen > 100,
        "only {seen} crate::/super:: paths found in src/: the checker has stopped reading them"
    );
    assert!(
        violations.is_empty(),
        "imports against the layers (src/README.md):\n{}",
        violations.join("\n")
    );
}

#[test]
fn every_layer_has_its_folder() {
    let files = read_src();
    for (folder, layer) in LAYERS {
        assert!(
            files.keys().any(|f| f.starts_with(folder)),
            "layer {layer}: no file in src/{folder}"
        );
    }
}

/// The real files with `line` added at the top of `file`.
fn planted(file: &str, line: &str) -> Files {
    let mut files = read_src();
    let text = files.get_mut(file).expect("the file exists");
    *text = format!("{line}\n{text}");
    files
}

fn violations_with(file: &str, line: &str) -> Vec<String> {
    check(&planted(file, line)).0
}

#[test]
fn a_planted_upward_import_is_caught() {
    let found = violations_with("store/value.rs", "use crate::api::Graph;");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("store/value.rs:1: `crate::api::Graph`"),
        "{found:?}"
    );
    assert!(found[0].contains("api/mod.rs"), "{found:?}");
}

#[test]
fn a_planted_import_through_a_root_re_export_is_caught() {
    // `crate::Graph` is `lib.rs`'s re-export of the API's `Graph`.
    let found = violations_with("run/plan.rs", "fn f(_: &crate::Graph) {}");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("run/plan.rs:1: `crate::Graph`"),
        "{found:?}"
    );
    // `crate::inputs` is a re-exported module.
    let found = violations_with("store/args.rs", "use crate::inputs::Shape;");
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn a_planted_import_in_a_use_group_is_caught() {
    let found = violations_with(
        "run/sync.rs",
        "use crate::{\n    store::Value,\n    inspect::{dot::to_dot, diagnostics::Profile},\n};",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("run/sync.rs:1: `crate::inspect::dot::to_dot`"),
        "{found:?}"
    );
    assert!(
        found[1].contains("`crate::inspect::diagnostics::Profile`"),
        "{found:?}"
    );
}

#[test]
fn a_planted_super_import_is_caught() {
    // From a layer's `mod.rs`, `super` is the crate root.
    let found = violations_with("store/mod.rs", "use super::api::Delayed;");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`super::api::Delayed`"), "{found:?}");
    // Within a layer it is fine.
    assert!(violations_with("inspect/diagnostics/clock.rs", "use super::super::dot;").is_empty());
}

#[test]
fn paths_in_comments_strings_and_tests_are_not_imports() {
    let planted = "// use crate::api::Graph;\n\
                   const S: &str = \"crate::api::Graph\";\n\
                   const R: &str = r#\"crate::inspect::dot\"#;\n\
                   #[cfg(test)]\nmod tests {\n    use crate::api::Graph;\n}";
    assert!(violations_with("store/value.rs", planted).is_empty());
    // A non-test module's body is checked.
    let found = violations_with(
        "store/value.rs",
        "mod sealed {\n    use crate::api::Graph;\n}",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("store/value.rs:2:"), "{found:?}");
}

#[test]
fn a_file_outside_the_layers_and_a_root_item_are_caught() {
    let mut files = read_src();
    files.insert("helpers.rs".into(), "pub(crate) fn help() {}".into());
    let found = check(&files).0;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("helpers.rs: in no layer"), "{found:?}");
    let found = violations_with("run/sync.rs", "use crate::help;");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("names nothing a layer holds"),
        "{found:?}"
    );
}

#[test]
fn root_paths_resolve_to_their_layer() {
    let files = read_src();
    let roots = root_names(&files);
    let path = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    let to = |p: &str| resolve(&files, &roots, &path(p));
    assert_eq!(to("Error"), Target::File("run/mod.rs".into()));
    assert_eq!(to("Graph"), Target::File("api/mod.rs".into()));
    assert_eq!(to("inputs::Shape"), Target::File("api/inputs.rs".into()));
    assert_eq!(to("Executor"), Target::External);
    assert_eq!(
        to("store::value::Slot"),
        Target::File("store/value.rs".into())
    );
    assert_eq!(to("run::Plan"), Target::File("run/mod.rs".into()));
}
