//! The two figures of `results/`: ns per task by shape and system (one panel
//! per worker count, log scale), and speedup against workers with the ideal
//! line. SVG through plotters.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

/// One bar of the overhead figure.
#[derive(Clone, Debug)]
pub struct Bar {
    /// The DAG shape (x category).
    pub shape: String,
    /// The system (bar colour).
    pub system: String,
    /// The worker count (panel).
    pub workers: usize,
    /// The height.
    pub ns_per_task: f64,
}

/// One point of the scaling figure.
#[derive(Clone, Debug)]
pub struct Point {
    /// The system (line).
    pub system: String,
    /// x.
    pub workers: usize,
    /// y: sequential time over this time.
    pub speedup: f64,
}

/// The bar colours of every plot in this crate, one per system, in order.
pub(crate) const COLOURS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
];

/// The label under a group of bars at `x` (group `i` stands at `x = i`),
/// and none between groups: the x axis of a grouped bar chart.
pub(crate) fn group_label(groups: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 {
        groups.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

fn distinct<T: PartialEq + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Draws the overhead figure to `path` (SVG).
pub fn overhead_svg(path: &Path, bars: &[Bar], caption: &str) -> Result<(), Box<dyn Error>> {
    let shapes = distinct(bars.iter().map(|b| b.shape.clone()));
    let systems = distinct(bars.iter().map(|b| b.system.clone()));
    let workers = distinct(bars.iter().map(|b| b.workers));
    let top = bars.iter().map(|b| b.ns_per_task).fold(1.0, f64::max) * 2.0;
    let bottom = bars
        .iter()
        .map(|b| b.ns_per_task)
        .filter(|&v| v > 0.0)
        .fold(top, f64::min)
        / 2.0;

    let root = SVGBackend::new(path, (1000, 360 * workers.len() as u32 + 40)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(caption, ("sans-serif", 18))?;
    let slot = 0.8 / systems.len() as f64;
    for (panel, &w) in root.split_evenly((workers.len(), 1)).iter().zip(&workers) {
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{w} worker{}", if w == 1 { "" } else { "s" }),
                ("sans-serif", 15),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(
                -0.5f64..shapes.len() as f64 - 0.5,
                (bottom..top).log_scale(),
            )?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(shapes.len())
            .x_label_formatter(&|&x| group_label(&shapes, x))
            .y_desc("ns per task (log)")
            .draw()?;
        for (k, system) in systems.iter().enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            let rects = bars
                .iter()
                .filter(|b| &b.system == system && b.workers == w)
                .map(|b| {
                    let s = shapes.iter().position(|x| x == &b.shape).unwrap_or(0) as f64;
                    let x0 = s - 0.4 + k as f64 * slot;
                    Rectangle::new(
                        [(x0, bottom), (x0 + slot * 0.9, b.ns_per_task)],
                        colour.filled(),
                    )
                });
            chart
                .draw_series(rects)?
                .label(system.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Draws the scaling figure to `path` (SVG): speedup per system against
/// workers, and the ideal `speedup = workers`.
pub fn scaling_svg(path: &Path, points: &[Point], caption: &str) -> Result<(), Box<dyn Error>> {
    let systems = distinct(points.iter().map(|p| p.system.clone()));
    let max_workers = points.iter().map(|p| p.workers).max().unwrap_or(1).max(2) as f64;
    let root = SVGBackend::new(path, (800, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 16))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..max_workers + 0.5, 0.0..max_workers + 0.5)?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("speedup over the sequential loop")
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (max_workers, max_workers)],
            BLACK.mix(0.5),
        ))?
        .label("ideal")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.5)));
    for (k, system) in systems.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let mut line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| &p.system == system)
            .map(|p| (p.workers as f64, p.speedup))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(
            line.iter()
                .map(|&(x, y)| Circle::new((x, y), 4, colour.filled())),
        )?;
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
            .label(system.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_figures() {
        let dir = std::env::temp_dir().join(format!("delayed-bench-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bars: Vec<Bar> = ["chain", "wavefront"]
            .iter()
            .flat_map(|s| {
                ["a", "b"].iter().flat_map(move |sys| {
                    [1, 2].map(|w| Bar {
                        shape: s.to_string(),
                        system: sys.to_string(),
                        workers: w,
                        ns_per_task: 10.0 * w as f64,
                    })
                })
            })
            .collect();
        overhead_svg(&dir.join("o.svg"), &bars, "test").unwrap();
        let points = [1, 2].map(|w| Point {
            system: "a".into(),
            workers: w,
            speedup: w as f64 * 0.9,
        });
        scaling_svg(&dir.join("s.svg"), &points, "test").unwrap();
        let svg = std::fs::read_to_string(dir.join("o.svg")).unwrap();
        assert!(svg.contains("wavefront") && svg.contains("<rect"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
