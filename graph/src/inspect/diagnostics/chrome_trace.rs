//! Chrome trace JSON (the Trace Event Format): opens in Perfetto
//! (<https://ui.perfetto.dev>) or `chrome://tracing`, one row per worker,
//! one complete (`"ph": "X"`) event per task.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::profile::Profile;
use super::timeline_svg;

/// Writes `s` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Nanoseconds as the trace's microseconds, to the nanosecond.
fn micros(out: &mut String, ns: u64) {
    let _ = write!(out, "{}.{:03}", ns / 1000, ns % 1000);
}

impl Profile {
    /// The profile as Chrome trace JSON: a thread per worker, a complete
    /// event per task (name, start, duration; its key, ready time and input
    /// keys in `args`).
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph};
    /// let g = Graph::new();
    /// let x = g.delayed("load", || 1);
    /// let y = g.task("clean", &x, |v| v + 1);
    /// let profile = y.compute_with(&ComputeOptions::new().profile(true))?.profile.unwrap();
    /// let json = profile.to_chrome_trace();
    /// assert!(json.starts_with("{\"displayTimeUnit\""));
    /// assert_eq!(json.matches("\"ph\":\"X\"").count(), 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn to_chrome_trace(&self) -> String {
        let mut out = String::with_capacity(200 + self.len() * 140);
        let _ = write!(
            out,
            "{{\"displayTimeUnit\":\"ms\",\"otherData\":{{\"workers\":{},\"wall_us\":",
            self.workers
        );
        micros(&mut out, self.wall.as_nanos() as u64);
        out.push_str("},\"traceEvents\":[\n");
        // One process per rank (one on one node), one thread per worker.
        for rank in 0..self.ranks() {
            let name = if self.rank_starts.is_empty() {
                String::from("delayed")
            } else {
                format!("rank {rank}")
            };
            let _ = write!(
                out,
                "{}{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{},\"tid\":0,\"args\":{{\"name\":\"{name}\"}}}}",
                if rank == 0 { "" } else { ",\n" },
                rank + 1
            );
        }
        for worker in 0..self.workers {
            let (pid, tid) = self.trace_thread(worker as u32);
            let _ = write!(
                out,
                ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":\"worker {tid}\"}}}}"
            );
        }
        for (i, row) in self.rows.iter().enumerate() {
            out.push_str(",\n{\"name\":");
            json_string(&mut out, self.name(row));
            let (pid, tid) = self.trace_thread(row.worker());
            let _ = write!(
                out,
                ",\"cat\":\"task\",\"ph\":\"X\",\"pid\":{pid},\"tid\":{tid},\"ts\":"
            );
            micros(&mut out, row.start);
            out.push_str(",\"dur\":");
            micros(&mut out, row.duration());
            let _ = write!(out, ",\"args\":{{\"key\":{},\"ready_us\":", self.key(i));
            micros(&mut out, row.ready);
            out.push_str(",\"inputs\":[");
            for (n, &j) in self.inputs(i).iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", self.key(j as usize));
            }
            out.push_str("]}}");
        }
        out.push_str("\n]}\n");
        out
    }

    /// The trace's process (its rank + 1) and thread (its worker within the
    /// rank) of global worker `worker`.
    fn trace_thread(&self, worker: u32) -> (usize, u32) {
        let rank = self.rank_of_worker(worker);
        let first = self.rank_starts.get(rank).copied().unwrap_or(0);
        (rank + 1, worker - first)
    }

    /// Writes [`to_chrome_trace`](Profile::to_chrome_trace) to `path`.
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph};
    /// let g = Graph::new();
    /// let x = g.delayed("x", || 1);
    /// let profile = x.compute_with(&ComputeOptions::new().profile(true))?.profile.unwrap();
    /// let path = std::env::temp_dir().join(format!("delayed-doc-trace-{}.json", std::process::id()));
    /// profile.write_chrome_trace(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.contains("\"traceEvents\""));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn write_chrome_trace(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, self.to_chrome_trace())
    }

    /// Writes the Chrome trace (`.json`) or the SVG timeline (`.svg`),
    /// whichever `path`'s extension names.
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph};
    /// let g = Graph::new();
    /// let x = g.delayed("x", || 1);
    /// let profile = x.compute_with(&ComputeOptions::new().profile(true))?.profile.unwrap();
    /// let dir = std::env::temp_dir();
    /// let svg = dir.join(format!("delayed-doc-trace-{}.svg", std::process::id()));
    /// profile.write_trace(&svg)?;
    /// assert!(std::fs::read_to_string(&svg)?.starts_with("<svg"));
    /// assert!(profile.write_trace(dir.join("trace.txt")).is_err());
    /// # std::fs::remove_file(&svg)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// An extension other than `.json` or `.svg` (`InvalidInput`), or a file
    /// that cannot be written.
    pub fn write_trace(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("json") => self.write_chrome_trace(path),
            Some("svg") => std::fs::write(path, timeline_svg::render(self)),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot write a trace to '{}': use .json (Chrome trace, for Perfetto \
                     or chrome://tracing) or .svg (timeline)",
                    path.display()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_times_are_escaped_and_exact() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\u{1}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001""#);
        out.clear();
        micros(&mut out, 1_234_567);
        assert_eq!(out, "1234.567");
        out.clear();
        micros(&mut out, 5);
        assert_eq!(out, "0.005");
    }
}
