//! Colours: of task names in the timeline, and of nodes in `visualize`
//! (Dask's `color=`): by task name, by the worker that ran each task, or by
//! its duration, from a profile.

use std::collections::HashMap;
use std::path::Path;

use super::human;
use super::profile::Profile;
use crate::inspect::{dot, visualize};
use crate::{Delayed, Error};

/// Tableau 10: distinct, colour-blind-friendly, readable under black text.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// The colour of the `i`-th distinct task name (or worker).
pub(crate) fn name_colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A colour from pale yellow (0) through orange to dark red (1).
fn heat(f: f64) -> String {
    const STOPS: [(f64, [f64; 3]); 3] = [
        (0.0, [255.0, 255.0, 178.0]),
        (0.5, [253.0, 141.0, 60.0]),
        (1.0, [189.0, 0.0, 38.0]),
    ];
    let f = f.clamp(0.0, 1.0);
    let (lo, hi) = if f <= 0.5 {
        (STOPS[0], STOPS[1])
    } else {
        (STOPS[1], STOPS[2])
    };
    let t = (f - lo.0) / (hi.0 - lo.0);
    let c: Vec<u8> = (0..3)
        .map(|i| (lo.1[i] + (hi.1[i] - lo.1[i]) * t).round() as u8)
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// What [`Delayed::visualize_with`] colours the task circles by (Dask's
/// `visualize(color=...)`).
///
/// ```
/// assert_eq!(delayed::Color::default(), delayed::Color::None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Color {
    /// No fill: the picture of [`Delayed::to_dot`].
    #[default]
    None,
    /// One colour per task name (as in the SVG timeline); needs no profile.
    Name,
    /// One colour per worker that ran the task; needs a profile.
    Worker,
    /// Pale yellow for the shortest task to dark red for the longest; needs
    /// a profile.
    Duration,
}

/// How [`Delayed::visualize_with`] draws: the [`Color`], and the
/// [`Profile`] of a compute of this graph that it reads workers and
/// durations from.
///
/// ```
/// use delayed::{Color, VisualizeOptions};
/// let plain = VisualizeOptions::default();
/// assert_eq!((plain.color, plain.profile.is_none()), (Color::None, true));
/// let by_name = VisualizeOptions { color: Color::Name, ..Default::default() };
/// assert_eq!(by_name.color, Color::Name);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct VisualizeOptions<'p> {
    /// What the task circles are coloured by.
    pub color: Color,
    /// The profile of a compute of this graph (for [`Color::Worker`] and
    /// [`Color::Duration`]); tasks it does not hold are left unfilled.
    pub profile: Option<&'p Profile>,
}

impl<T> Delayed<T> {
    /// [`to_dot`](Delayed::to_dot) with the task circles filled as `options`
    /// say, each with a tooltip (worker and duration, with a profile).
    ///
    /// ```
    /// use delayed::{Color, ComputeOptions, Executor, Graph, VisualizeOptions};
    ///
    /// let ex = Executor::builder().workers(2).build()?;
    /// let g = Graph::new();
    /// let xs: Vec<_> = (0..4).map(|i| g.delayed("inc", move || i + 1)).collect();
    /// let total = g.task("sum", &xs, |v| v.into_iter().sum::<i32>());
    /// let out = total.compute_with(&ComputeOptions::new().executor(&ex).profile(true))?;
    /// let options = VisualizeOptions { color: Color::Worker, profile: out.profile.as_ref() };
    /// let dot = total.to_dot_with(&options)?;
    /// assert_eq!(dot.matches("style=filled").count(), 5);
    /// assert!(dot.contains("tooltip=\"sum #4: worker "));
    /// // Worker and duration colours need a profile.
    /// let no_profile = VisualizeOptions { color: Color::Duration, profile: None };
    /// assert!(total.to_dot_with(&no_profile).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Color::Worker`] or [`Color::Duration`] without a profile.
    pub fn to_dot_with(&self, options: &VisualizeOptions<'_>) -> Result<String, Error> {
        let store = self.graph().store();
        let targets = [self.id()];
        let needs_profile = matches!(options.color, Color::Worker | Color::Duration);
        let profile = match (options.profile, needs_profile) {
            (None, true) => {
                return Err(Error::visualize(
                    format!(
                        "cannot colour by {:?} without a profile: compute with \
                         `ComputeOptions::new().profile(true)` and pass `profile: out.profile.as_ref()`",
                        options.color
                    ),
                    None,
                ))
            }
            (profile, _) => profile,
        };
        let by_key: HashMap<usize, usize> = profile
            .map(|p| p.tasks().enumerate().map(|(i, t)| (t.key, i)).collect())
            .unwrap_or_default();
        let longest = profile
            .and_then(|p| p.tasks().map(|t| t.duration()).max())
            .unwrap_or_default();
        let mut names: HashMap<String, usize> = HashMap::new();
        let style = |id: u32, name: &str| -> Option<String> {
            let task = profile
                .zip(by_key.get(&(id as usize)))
                .map(|(p, &i)| p.task(i));
            let fill = match options.color {
                Color::None => return None,
                Color::Name => {
                    let next = names.len();
                    name_colour(*names.entry(name.to_string()).or_insert(next)).to_string()
                }
                Color::Worker => name_colour(task?.worker).to_string(),
                Color::Duration => {
                    let f = if longest.is_zero() {
                        0.0
                    } else {
                        task?.duration().as_secs_f64() / longest.as_secs_f64()
                    };
                    heat(f)
                }
            };
            let tooltip = match task {
                Some(t) => format!("{name} #{id}: worker {}, {}", t.worker, human(t.duration())),
                None => format!("{name} #{id}"),
            };
            Some(format!(
                "style=filled, fillcolor=\"{fill}\", tooltip=\"{}\"",
                dot::escape(&tooltip)
            ))
        };
        Ok(dot::to_dot_styled(store, &targets, style))
    }

    /// Writes the picture of [`to_dot_with`](Delayed::to_dot_with) to
    /// `path`, as [`visualize`](Delayed::visualize) does (`.dot`, or
    /// `.png`/`.svg`/`.pdf` through Graphviz).
    ///
    /// ```
    /// use delayed::{Color, ComputeOptions, Graph, VisualizeOptions};
    ///
    /// let g = Graph::new();
    /// let x = g.delayed("load", || 1);
    /// let y = g.task("double", &x, |v| v * 2);
    /// let out = y.compute_with(&ComputeOptions::new().profile(true))?;
    /// let path = std::env::temp_dir().join(format!("delayed-doc-colour-{}.dot", std::process::id()));
    /// let options = VisualizeOptions { color: Color::Duration, profile: out.profile.as_ref() };
    /// y.visualize_with(&path, &options)?;
    /// assert!(std::fs::read_to_string(&path)?.contains("fillcolor="));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`to_dot_with`](Delayed::to_dot_with) and [`visualize`](Delayed::visualize).
    pub fn visualize_with(
        &self,
        path: impl AsRef<Path>,
        options: &VisualizeOptions<'_>,
    ) -> Result<(), Error> {
        visualize::write(&self.to_dot_with(options)?, path.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_runs_from_pale_yellow_to_dark_red() {
        assert_eq!(heat(0.0), "#ffffb2");
        assert_eq!(heat(0.5), "#fd8d3c");
        assert_eq!(heat(1.0), "#bd0026");
        assert_eq!(heat(7.0), "#bd0026");
        assert_eq!(name_colour(10), name_colour(0));
    }
}
