//! `visualize`: `.dot` written by us; `.png`/`.svg`/`.pdf` through Graphviz;
//! clear errors for a missing Graphviz, an unknown extension, an unwritable path.

use std::path::PathBuf;
use std::process::Command;

use delayed::Graph;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("delayed-test-{}-{name}", std::process::id()))
}

fn lesson_loop() -> delayed::Delayed<i64> {
    let g = Graph::new();
    let xs: Vec<_> = (1..=8i64)
        .map(|i| g.delayed("inc", move || i + 1))
        .collect();
    g.task("sum", &xs, |v| v.into_iter().sum::<i64>())
}

fn graphviz_installed() -> bool {
    Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn dot_files_are_written_as_to_dot_says() {
    let total = lesson_loop();
    for name in ["mydask.dot", "mydask.gv", "UPPER.DOT"] {
        let path = temp(name);
        total.visualize(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), total.to_dot());
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn images_are_drawn_by_graphviz_or_the_error_says_how_to_install_it() {
    let total = lesson_loop();
    for (name, magic) in [
        ("mydask.png", &b"\x89PNG"[..]),
        ("mydask.svg", &b"<"[..]),
        ("mydask.pdf", &b"%PDF"[..]),
    ] {
        let path = temp(name);
        let result = total.visualize(&path);
        if graphviz_installed() {
            result.unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.starts_with(magic) || name.ends_with(".svg"), "{name}");
            if name.ends_with(".svg") {
                assert!(String::from_utf8_lossy(&bytes).contains("<svg"));
            }
            std::fs::remove_file(&path).unwrap();
        } else {
            let message = result.unwrap_err().to_string();
            assert!(message.contains("Install Graphviz"), "{message}");
            assert!(!path.exists());
        }
    }
}

#[test]
fn an_unknown_extension_is_an_error_that_lists_the_known_ones() {
    let total = lesson_loop();
    for name in ["mydask.jpg", "mydask"] {
        let path = temp(name);
        let message = total.visualize(&path).unwrap_err().to_string();
        assert!(message.contains("unknown file extension"), "{message}");
        assert!(
            message.contains(".dot") && message.contains(".png"),
            "{message}"
        );
        assert!(!path.exists());
    }
}

#[test]
fn an_unwritable_path_is_an_error_that_names_it() {
    let total = lesson_loop();
    let path = temp("no-such-dir").join("mydask.dot");
    let err = total.visualize(&path).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("cannot write"), "{message}");
    assert!(message.contains("no-such-dir"), "{message}");
    assert!(std::error::Error::source(&err).is_some());
}
