//! The SVG timeline (Dask dashboard's task stream): one lane per worker, one
//! bar per task, coloured by task name, with a time axis and a legend. Each
//! bar has a tooltip (`<title>`) with the task's name, key and times.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::colour::name_colour;
use super::profile::Profile;

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const LANE: f64 = 28.0;
const BAR: f64 = 20.0;
const AXIS: f64 = 36.0;
const LEGEND_ROW: f64 = 20.0;
/// Legend entries per row, and at most this many rows of them.
const LEGEND_COLUMNS: usize = 6;
const LEGEND_ROWS: usize = 4;

/// Escapes text for XML content and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newlines are not XML.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// A tick step of 1, 2 or 5 times a power of ten giving at most ~10 ticks.
fn tick_step(span_s: f64) -> f64 {
    if span_s <= 0.0 {
        return 1.0;
    }
    let raw = span_s / 10.0;
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * power)
}

/// The timeline of `profile` as an SVG document.
pub(crate) fn render(profile: &Profile) -> String {
    let lanes = profile.workers.max(1);
    let names = profile.names.len();
    let legend_rows = names.div_ceil(LEGEND_COLUMNS).min(LEGEND_ROWS);
    let height = TOP + lanes as f64 * LANE + AXIS + legend_rows as f64 * LEGEND_ROW + 10.0;
    let plot = WIDTH - LEFT - RIGHT;
    // The end of the time axis: the run's wall time (all tasks lie within).
    let end_ns = profile
        .rows
        .iter()
        .map(|r| r.end)
        .max()
        .unwrap_or(0)
        .max(profile.wall.as_nanos() as u64)
        .max(1);
    let x = |ns: u64| LEFT + ns as f64 / end_ns as f64 * plot;
    let mut svg = String::with_capacity(2000 + profile.len() * 200);
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"helvetica, arial, sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        svg,
        "<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" fill=\"white\"/>"
    );
    let _ = writeln!(
        svg,
        "<text x=\"{LEFT}\" y=\"22\" font-size=\"14\">Task stream: {} tasks on {} worker(s), wall {:.6} s</text>",
        profile.len(),
        profile.workers,
        profile.wall.as_secs_f64()
    );
    // Lanes.
    for lane in 0..lanes {
        let y = TOP + lane as f64 * LANE;
        let fill = if lane % 2 == 0 { "#f4f4f4" } else { "#ffffff" };
        let _ = writeln!(
            svg,
            "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{plot}\" height=\"{LANE}\" fill=\"{fill}\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">worker {lane}</text>",
            LEFT - 8.0,
            y + LANE / 2.0 + 4.0
        );
    }
    // Time axis.
    let axis_y = TOP + lanes as f64 * LANE;
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"black\"/>",
        LEFT + plot
    );
    let span_s = end_ns as f64 / 1e9;
    let step = tick_step(span_s);
    let mut tick = 0.0;
    while tick <= span_s * (1.0 + 1e-9) {
        let tx = x((tick * 1e9) as u64);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx:.2}\" y1=\"{axis_y}\" x2=\"{tx:.2}\" y2=\"{}\" stroke=\"black\"/>\
             <text x=\"{tx:.2}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            axis_y + 5.0,
            axis_y + 18.0,
            format_tick(tick, step)
        );
        tick += step;
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time (s)</text>",
        LEFT + plot / 2.0,
        axis_y + 32.0
    );
    // Bars: one per task.
    svg.push_str("<g class=\"tasks\" stroke=\"white\" stroke-width=\"0.5\">\n");
    for (i, row) in profile.rows.iter().enumerate() {
        let x0 = x(row.start);
        let width = (x(row.end) - x0).max(0.5);
        let y = TOP + row.worker() as f64 * LANE + (LANE - BAR) / 2.0;
        let _ = writeln!(
            svg,
            "<rect class=\"task\" x=\"{x0:.3}\" y=\"{y}\" width=\"{width:.3}\" height=\"{BAR}\" fill=\"{}\">\
             <title>{} #{} on worker {}: {:.6} s to {:.6} s ({:.6} s), ready at {:.6} s</title></rect>",
            name_colour(row.name() as usize),
            xml_escape(profile.name(row)),
            profile.key(i),
            row.worker(),
            row.start as f64 / 1e9,
            row.end as f64 / 1e9,
            row.duration() as f64 / 1e9,
            row.ready as f64 / 1e9,
        );
    }
    svg.push_str("</g>\n");
    // Legend: the colour of each task name.
    let legend_y = axis_y + AXIS + 8.0;
    let column = plot / LEGEND_COLUMNS as f64;
    for (i, name) in profile
        .names
        .iter()
        .enumerate()
        .take(LEGEND_COLUMNS * LEGEND_ROWS)
    {
        let lx = LEFT + (i % LEGEND_COLUMNS) as f64 * column;
        let ly = legend_y + (i / LEGEND_COLUMNS) as f64 * LEGEND_ROW;
        let _ = writeln!(
            svg,
            "<rect x=\"{lx:.2}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.2}\" y=\"{ly}\">{}</text>",
            ly - 10.0,
            name_colour(i),
            lx + 16.0,
            xml_escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A tick label with as many decimals as the step needs.
fn format_tick(tick: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{tick:.decimals$}")
}

impl Profile {
    /// The timeline as SVG: a lane per worker, a bar per task coloured by
    /// task name (a `<rect class="task">` with a `<title>` tooltip).
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph};
    /// let g = Graph::new();
    /// let xs: Vec<_> = (0..3).map(|i| g.delayed("x", move || i)).collect();
    /// let profile = delayed::compute_with(&xs, &ComputeOptions::new().profile(true))?
    ///     .profile
    ///     .unwrap();
    /// let svg = profile.to_svg_timeline();
    /// assert_eq!(svg.matches("<rect class=\"task\"").count(), 3);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn to_svg_timeline(&self) -> String {
        render(self)
    }

    /// Writes [`to_svg_timeline`](Profile::to_svg_timeline) to `path`.
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph};
    /// let g = Graph::new();
    /// let x = g.delayed("x", || 1);
    /// let profile = x.compute_with(&ComputeOptions::new().profile(true))?.profile.unwrap();
    /// let path = std::env::temp_dir().join(format!("delayed-doc-timeline-{}.svg", std::process::id()));
    /// profile.write_svg_timeline(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.ends_with("</svg>\n"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn write_svg_timeline(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, render(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(tick_step(2.0), 0.2));
        assert!(close(tick_step(8.0), 1.0));
        assert!(close(tick_step(0.003), 0.0005));
        assert_eq!(format_tick(0.4, 0.2), "0.4");
        assert_eq!(format_tick(2.0, 1.0), "2");
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
