//! The figure of `results/taskbench/`: METG per pattern (x groups), one bar
//! per system and configuration, log scale. SVG through plotters.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

use crate::plot::{group_label, COLOURS};

/// One bar: a pattern's METG on one system and configuration.
#[derive(Clone, Debug)]
pub struct Bar {
    /// The pattern (x group).
    pub pattern: String,
    /// The system and configuration (bar colour).
    pub system: String,
    /// METG(50 %) in µs.
    pub micros: f64,
}

/// Draws the bars to `path`: groups in the order of `patterns`, bars in the
/// order of `systems`.
///
/// # Errors
/// If the file cannot be written.
pub fn metg_svg(
    path: &Path,
    bars: &[Bar],
    patterns: &[String],
    systems: &[String],
    caption: &str,
) -> Result<(), Box<dyn Error>> {
    let positive = bars.iter().map(|b| b.micros).filter(|&v| v > 0.0);
    let top = positive.clone().fold(1e-3, f64::max) * 3.0;
    let bottom = positive.fold(top, f64::min) / 3.0;
    let root = SVGBackend::new(path, (1100, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(
            -0.5f64..patterns.len() as f64 - 0.5,
            (bottom..top).log_scale(),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(patterns.len())
        .x_label_formatter(&|&x| group_label(patterns, x))
        .y_desc("METG(50%), µs (log)")
        .draw()?;
    let slot = 0.85 / systems.len().max(1) as f64;
    for (k, system) in systems.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let rects = bars.iter().filter(|b| &b.system == system).filter_map(|b| {
            let p = patterns.iter().position(|x| x == &b.pattern)? as f64;
            let x0 = p - 0.425 + k as f64 * slot;
            Some(Rectangle::new(
                [(x0, bottom), (x0 + slot * 0.9, b.micros)],
                colour.filled(),
            ))
        });
        chart
            .draw_series(rects)?
            .label(system.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
