//! `visualize`: writes a graph's picture to a file, running Graphviz for images.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Delayed, Error};

impl<T> Delayed<T> {
    /// Writes the picture of [`to_dot`](Delayed::to_dot) to `path`: DOT text
    /// for `.dot` (or `.gv`); `.png`, `.svg` and `.pdf` through Graphviz's
    /// `dot` command.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("inc", || 2);
    /// let path = std::env::temp_dir().join(format!("delayed-doc-{}.dot", std::process::id()));
    /// x.visualize(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.contains("inc"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// An unknown extension, a path that cannot be written, Graphviz
    /// missing or failing: each error says what to do.
    pub fn visualize(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write(&self.to_dot(), path.as_ref())
    }
}

/// Graphviz's layout command.
const DOT_PROGRAM: &str = "dot";

/// Writes `dot` (DOT text) to `path`: as is for `.dot`/`.gv`, through
/// Graphviz for `.png`, `.svg` and `.pdf`.
pub(crate) fn write(dot: &str, path: &Path) -> Result<(), Error> {
    write_with(dot, path, DOT_PROGRAM)
}

fn write_with(dot: &str, path: &Path, program: &str) -> Result<(), Error> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match extension.as_deref() {
        Some("dot" | "gv") => None,
        Some(format @ ("png" | "svg" | "pdf")) => Some(format),
        _ => {
            return Err(Error::visualize(
                format!(
                    "cannot visualize to '{}': unknown file extension; \
                     use .dot (DOT text), or .png, .svg or .pdf (drawn by Graphviz)",
                    path.display()
                ),
                None,
            ))
        }
    };
    let cannot_write = |e: io::Error| {
        let message = format!(
            "cannot write '{}': {e}; choose a path in a directory you can write to",
            path.display()
        );
        Error::visualize(message, Some(e))
    };
    let mut file = File::create(path).map_err(cannot_write)?;
    match format {
        None => file.write_all(dot.as_bytes()).map_err(cannot_write),
        Some(format) => {
            let drawn = draw(dot, format, file, path, program);
            if drawn.is_err() {
                // Leave no empty or half-written picture behind.
                let _ = std::fs::remove_file(path);
            }
            drawn
        }
    }
}

/// Runs `program -T<format>` with `dot` on its standard input and `file` as
/// its standard output.
fn draw(dot: &str, format: &str, file: File, path: &Path, program: &str) -> Result<(), Error> {
    let spawned = Command::new(program)
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(file)
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let message = format!(
                "cannot draw '{}': Graphviz's `{program}` command was not found. \
                 Install Graphviz (`apt install graphviz`, `dnf install graphviz`, \
                 `brew install graphviz` or `conda install graphviz`), \
                 or visualize to a .dot file and draw it elsewhere",
                path.display()
            );
            return Err(Error::visualize(message, Some(e)));
        }
        Err(e) => {
            let message = format!("cannot run Graphviz's `{program}` command: {e}");
            return Err(Error::visualize(message, Some(e)));
        }
    };
    // Graphviz reads all of its input before it writes anything, so writing
    // first and reading its messages afterwards cannot deadlock.
    let fed = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(dot.as_bytes());
    let output = child.wait_with_output();
    let failed = |detail: String| {
        Error::visualize(
            format!(
                "Graphviz's `{program}` failed to draw '{}': {detail}",
                path.display()
            ),
            None,
        )
    };
    match output {
        Ok(output) if output.status.success() && fed.is_ok() => Ok(()),
        Ok(output) => Err(failed(format!(
            "{}; {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
        Err(e) => Err(failed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("delayed-visualize-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_missing_graphviz_says_how_to_install_it() {
        let path = temp("missing.png");
        let err = write_with("digraph {}", &path, "delayed-no-such-dot").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("was not found"), "{message}");
        assert!(message.contains("Install Graphviz"), "{message}");
        assert!(!path.exists(), "no empty picture is left behind");
    }

    #[test]
    fn a_failing_graphviz_reports_its_status() {
        let path = temp("false.svg");
        let err = write_with("digraph {}", &path, "false").unwrap_err();
        assert!(err.to_string().contains("failed to draw"), "{err}");
        assert!(!path.exists());
    }
}
