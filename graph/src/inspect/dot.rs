//! `to_dot`: the picture Dask's `visualize()` draws, as Graphviz DOT text.
//!
//! Each task is a circle labelled with its name, each result an empty box;
//! edges go task → its result → each consumer task, drawn bottom to top
//! (`rankdir=BT`), as in `shared/reference/dask-loop.dot`.

use std::fmt::Write as _;

use crate::run::Plan;
use crate::store::Store;
use crate::Delayed;

impl<T> Delayed<T> {
    /// The DOT text of the picture Dask's `visualize()` draws for this
    /// result: each task it depends on a circle labelled with its name, each
    /// result a box, edges task → result → consumer, bottom to top.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("inc", || 2);
    /// let dot = g.task("double", &x, |v| v * 2).to_dot();
    /// assert!(dot.starts_with("digraph {"));
    /// assert!(dot.contains("rankdir=BT"));
    /// assert!(dot.contains("label=\"double\", shape=circle"));
    /// ```
    pub fn to_dot(&self) -> String {
        to_dot(self.graph().store(), &[self.id()])
    }
}

/// DOT text for the targets (node ids, not empty) and their ancestors.
pub(crate) fn to_dot(store: &Store, targets: &[u32]) -> String {
    to_dot_styled(store, targets, |_, _| None)
}

/// [`to_dot`] with `style(id, name)`'s extra attributes (if any) on each
/// task's circle: the colours of `Delayed::visualize_with`.
pub(crate) fn to_dot_styled(
    store: &Store,
    targets: &[u32],
    mut style: impl FnMut(u32, &str) -> Option<String>,
) -> String {
    let plan = Plan::new(store, targets);
    let mut dot = String::from("digraph {\n\tgraph [rankdir=BT];\n\tnode [fontname=helvetica];\n");
    for k in 0..plan.len() as u32 {
        let id = plan.node_id(k);
        let name = store.name(id);
        // Writing to a String cannot fail.
        let extra = style(id, name).map_or(String::new(), |attributes| format!(", {attributes}"));
        let _ = writeln!(
            dot,
            "\ttask{id} [label=\"{}\", shape=circle{extra}];",
            escape(name)
        );
        let _ = writeln!(dot, "\tresult{id} [label=\"\", shape=box];");
        let _ = writeln!(dot, "\ttask{id} -> result{id};");
        let inputs = plan.inputs(store, k);
        for (i, &input) in inputs.iter().enumerate() {
            // A result given twice to one task is drawn once, as Dask does.
            if !inputs[..i].contains(&input) {
                let _ = writeln!(dot, "\tresult{} -> task{id};", plan.node_id(input));
            }
        }
    }
    dot.push_str("}\n");
    dot
}

/// Escapes a label for a DOT double-quoted string.
pub(crate) fn escape(label: &str) -> String {
    let mut escaped = String::with_capacity(label.len());
    for c in label.chars() {
        match c {
            '"' | '\\' => {
                escaped.push('\\');
                escaped.push(c);
            }
            '\n' => escaped.push_str("\\n"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use crate::Graph;

    #[test]
    fn draws_the_lesson_loop_like_dask() {
        let g = Graph::new();
        let xs: Vec<_> = (1..=8i64)
            .map(|i| g.delayed("inc", move || i + 1))
            .collect();
        let total = g.task("sum", &xs, |vals| vals.into_iter().sum::<i64>());
        let dot = total.to_dot();
        assert!(dot.starts_with("digraph {\n\tgraph [rankdir=BT];\n"));
        assert_eq!(dot.matches("shape=circle").count(), 9);
        assert_eq!(dot.matches("label=\"inc\", shape=circle").count(), 8);
        assert_eq!(dot.matches("label=\"sum\", shape=circle").count(), 1);
        assert_eq!(dot.matches("shape=box").count(), 9);
        // task -> result for each task, result -> sum for each inc.
        assert_eq!(dot.matches(" -> ").count(), 9 + 8);
        assert!(dot.contains("\ttask8 -> result8;\n"));
        assert!(dot.contains("\tresult0 -> task8;\n"));
        assert!(dot.ends_with("}\n"));
    }

    #[test]
    fn draws_only_ancestors_and_escapes_labels() {
        let g = Graph::new();
        let a = g.delayed("say \"hi\"\\", || 1);
        let _unrelated = g.delayed("unrelated", || 2);
        let b = g.task("twice", (&a, &a), |(x, y)| x + y);
        let dot = b.to_dot();
        assert!(!dot.contains("unrelated"));
        assert!(dot.contains("label=\"say \\\"hi\\\"\\\\\""));
        assert_eq!(dot.matches("result0 -> task2;").count(), 1);
    }
}
