//! A results table, written as Markdown (for people) and CSV (for programs).

/// Rows of cells under named columns.
#[derive(Clone, Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column names.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    ///
    /// # Panics
    /// If the row has a different number of cells than there are columns.
    pub fn push<S: Into<String>>(&mut self, row: impl IntoIterator<Item = S>) {
        let row: Vec<String> = row.into_iter().map(Into::into).collect();
        assert_eq!(
            row.len(),
            self.headers.len(),
            "row {row:?} does not fit {:?}",
            self.headers
        );
        self.rows.push(row);
    }

    /// The rows so far.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// A GitHub-flavoured Markdown table; columns whose cells are all
    /// numbers (or `-`) are right-aligned, the others left-aligned.
    pub fn markdown(&self) -> String {
        let columns = 0..self.headers.len();
        let widths: Vec<usize> = columns
            .clone()
            .map(|c| {
                let cells = self.rows.iter().map(|r| r[c].chars().count());
                cells
                    .chain([self.headers[c].chars().count(), 3])
                    .max()
                    .unwrap_or(3)
            })
            .collect();
        let numeric: Vec<bool> = columns
            .map(|c| {
                !self.rows.is_empty()
                    && (self.rows.iter()).all(|r| r[c] == "-" || r[c].parse::<f64>().is_ok())
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths.iter().zip(&numeric))
                .map(|(cell, (&w, &right))| {
                    if right {
                        format!("{cell:>w$}")
                    } else {
                        format!("{cell:<w$}")
                    }
                })
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let rule: Vec<String> = widths
            .iter()
            .zip(&numeric)
            .map(|(&w, &right)| {
                if right {
                    format!("{}:", "-".repeat(w - 1))
                } else {
                    "-".repeat(w)
                }
            })
            .collect();
        let mut out = line(&self.headers);
        out.push_str(&line(&rule));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }

    /// RFC 4180 CSV: cells with commas, quotes or newlines are quoted.
    pub fn csv(&self) -> String {
        let line = |cells: &[String]| {
            let quoted: Vec<String> = cells
                .iter()
                .map(|c| {
                    if c.contains([',', '"', '\n']) {
                        format!("\"{}\"", c.replace('"', "\"\""))
                    } else {
                        c.clone()
                    }
                })
                .collect();
            quoted.join(",") + "\n"
        };
        let mut out = line(&self.headers);
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// A number with `digits` decimals, or `-` when missing or not finite.
pub fn cell(value: Option<f64>, digits: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_csv() {
        let mut t = Table::new(["name", "ns"]);
        t.push(["a,b", "12.5"]);
        assert_eq!(
            t.markdown(),
            "| name |   ns |\n| ---- | ---: |\n| a,b  | 12.5 |\n"
        );
        assert_eq!(t.csv(), "name,ns\n\"a,b\",12.5\n");
        assert_eq!(cell(None, 2), "-");
        assert_eq!(cell(Some(1.234), 1), "1.2");
    }
}
