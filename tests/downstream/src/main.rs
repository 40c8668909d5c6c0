//! A program that depends on `delayed` as a library user's would.

fn main() -> Result<(), delayed::Error> {
    let g = delayed::Graph::new();
    let xs: Vec<_> = (1..=8).map(|i| g.delayed("inc", move || i + 1)).collect();
    let total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
    println!("total={}", total.compute()?);
    Ok(())
}
