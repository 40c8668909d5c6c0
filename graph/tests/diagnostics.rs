//! Diagnostics: the critical path and bound on graphs whose answer is known
//! by hand, the what-if simulation against hand-computed schedules, the
//! Chrome trace (valid JSON, one complete event per task), the SVG timeline
//! (well-formed XML, one bar per task), profiles of real computes,
//! and coloured pictures. (The lesson programs' `--report`/`--trace` and
//! their progress bar are tested with them, in `delayed-bench`.)

use std::path::PathBuf;
use std::time::Duration;

use delayed::{Color, ComputeOptions, Executor, Graph, Profile, Task, VisualizeOptions};

fn s(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("delayed-diag-{}-{name}", std::process::id()))
}

/// A profile of tasks `(name, duration s, inputs)` run one after another on
/// worker 0 (the times of the run do not matter to the span or the simulation).
fn profile(workers: usize, tasks: &[(&'static str, u64, &'static [u32])]) -> Profile {
    let mut start = 0;
    let tasks: Vec<Task<'static>> = tasks
        .iter()
        .enumerate()
        .map(|(key, &(name, duration, inputs))| {
            let task = Task {
                name,
                key,
                worker: 0,
                ready: s(start),
                start: s(start),
                end: s(start + duration),
                inputs,
            };
            start += duration;
            task
        })
        .collect();
    Profile::from_tasks(workers, s(start), tasks)
}

/// The lesson's loop: eight `inc`s of 1 s, then a `sum` of no time.
fn lesson_loop(workers: usize) -> Profile {
    const ALL: &[u32] = &[0, 1, 2, 3, 4, 5, 6, 7];
    let mut tasks = vec![("inc", 1, &[][..]); 8];
    tasks.push(("sum", 0, ALL));
    profile(workers, &tasks)
}

fn path_keys(p: &Profile) -> Vec<usize> {
    p.efficiency().critical_path().map(|t| t.key).collect()
}

#[test]
fn the_lesson_loop_on_four_workers_is_bounded_by_two_seconds() {
    let p = lesson_loop(4);
    let report = p.efficiency();
    assert_eq!(report.work(), s(8));
    assert_eq!(report.span(), s(1));
    assert_eq!(report.bound(), s(2), "max(8 / 4, 1)");
    assert_eq!(path_keys(&p).len(), 2);
    assert_eq!(report.critical_path().last().unwrap().name, "sum");
    // The profile's wall is the serial 8 s: 25 % of the bound.
    assert_eq!(report.achieved(), s(8));
    assert!((report.efficiency() - 0.25).abs() < 1e-12);
    assert_eq!(report.overhead(), s(6));
    let text = report.to_string();
    for line in [
        "work T1",
        "span T∞",
        "bound max(T1/P, T∞)",
        "achieved",
        "efficiency",
        "overhead",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    assert!(
        text.contains("8.000 s") && text.contains("2.000 s") && text.contains("25.0 %"),
        "{text}"
    );
}

#[test]
fn critical_paths_known_by_hand() {
    // Chain of 5 tasks of 1..=5 s: span = work = 15 s whatever P.
    let chain = profile(
        8,
        &[
            ("a", 1, &[]),
            ("b", 2, &[0]),
            ("c", 3, &[1]),
            ("d", 4, &[2]),
            ("e", 5, &[3]),
        ],
    );
    assert_eq!(chain.efficiency().span(), s(15));
    assert_eq!(chain.efficiency().bound(), s(15));
    assert_eq!(path_keys(&chain), [0, 1, 2, 3, 4]);

    // Diamond: a(2) → b(5), c(1) → d(3): a, b, d = 10 s; work 11 s.
    let diamond = profile(
        2,
        &[
            ("a", 2, &[]),
            ("b", 5, &[0]),
            ("c", 1, &[0]),
            ("d", 3, &[1, 2]),
        ],
    );
    let report = diamond.efficiency();
    assert_eq!((report.work(), report.span()), (s(11), s(10)));
    assert_eq!(report.bound(), s(10), "max(11 / 2, 10)");
    assert_eq!(path_keys(&diamond), [0, 1, 3]);

    // Two independent chains, 3 + 3 and 1 + 1, and a wide fan of 1-s tasks:
    // on 2 workers the work law binds.
    let mut tasks = vec![
        ("x", 3, &[][..]),
        ("x", 3, &[0][..]),
        ("y", 1, &[][..]),
        ("y", 1, &[2][..]),
    ];
    tasks.extend(std::iter::repeat(("fan", 1, &[][..])).take(10));
    let mixed = profile(2, &tasks);
    let report = mixed.efficiency();
    assert_eq!((report.work(), report.span()), (s(18), s(6)));
    assert_eq!(report.bound(), s(9), "max(18 / 2, 6)");
    assert_eq!(path_keys(&mixed), [0, 1]);

    // A task given the same input twice: one edge each, same path.
    let twice = profile(1, &[("a", 1, &[]), ("b", 1, &[0, 0])]);
    assert_eq!(twice.efficiency().span(), s(2));
}

#[test]
fn the_simulation_matches_hand_computed_schedules() {
    // The lesson's loop: waves of P incs, then sum (no time).
    let table = lesson_loop(4).what_if(&delayed::WHAT_IF_WORKERS);
    let expected = [(1, 8), (2, 4), (4, 2), (8, 1), (16, 1), (32, 1), (64, 1)];
    for (p, secs) in expected {
        assert_eq!(table.predicted(p), Some(s(secs)), "P = {p}");
    }
    assert_eq!(table.predicted(3), None, "not asked for");
    let three = lesson_loop(4).what_if(&[3]);
    assert_eq!(three.predicted(3), Some(s(3)), "8 tasks in waves of 3");

    // Diamond a(2) → b(5), c(1) → d(3): on 1 worker 11 s; on 2, b and c run
    // side by side after a: 2 + 5 + 3 = 10 s.
    let diamond = profile(
        2,
        &[
            ("a", 2, &[]),
            ("b", 5, &[0]),
            ("c", 1, &[0]),
            ("d", 3, &[1, 2]),
        ],
    );
    let table = diamond.what_if(&[1, 2, 4]);
    assert_eq!(table.predicted(1), Some(s(11)));
    assert_eq!(table.predicted(2), Some(s(10)));
    assert_eq!(table.predicted(4), Some(s(10)));

    // List scheduling takes tasks in ready order, not the optimal one: roots
    // 1 s, 1 s, 4 s on 2 workers: the two short first (0-1), then the long
    // (1-5): 5 s, where 4 s was possible. Hand-computed Graham schedule.
    let greedy = profile(2, &[("short", 1, &[]), ("short", 1, &[]), ("long", 4, &[])]);
    assert_eq!(greedy.what_if(&[2]).predicted(2), Some(s(5)));
    assert_eq!(greedy.what_if(&[2]).rows()[0].bound, s(4));

    // A task ready late waits for a free worker: a(1) → c(1); b(3); on one
    // worker 5 s, on two: a, b at 0; c at 1 on the free worker: 3 s.
    let late = profile(1, &[("a", 1, &[]), ("b", 3, &[]), ("c", 1, &[0])]);
    let table = late.what_if(&[1, 2]);
    assert_eq!(table.predicted(1), Some(s(5)));
    assert_eq!(table.predicted(2), Some(s(3)));
    let text = table.to_string();
    assert!(text.contains("(measured: 5.000 s)"), "{text}");
}

#[test]
#[should_panic(expected = "not an earlier task")]
fn a_profile_must_be_in_topological_order() {
    profile(1, &[("a", 1, &[1]), ("b", 1, &[])]);
}

fn sleepy_loop(g: &Graph, n: usize, ms: u64) -> delayed::Delayed<usize> {
    let xs: Vec<_> = (0..n)
        .map(|i| {
            g.delayed("nap", move || {
                std::thread::sleep(Duration::from_millis(ms));
                i
            })
        })
        .collect();
    g.task("sum", &xs, |v| v.into_iter().sum::<usize>())
}

/// How far apart two CPUs' readings of events that the run orders may be:
/// the recorder reads each CPU's time-stamp counter without serializing
/// it, and virtual CPUs' counters are not exactly in step (a consumer's
/// `ready` was once seen a few ticks before its input's `end`, read on
/// another CPU). Far below the tasks' 20 ms naps.
const CROSS_CPU_SKEW: Duration = Duration::from_micros(10);

/// A real compute's profile is complete and consistent: every task once,
/// each started after it became ready and after its inputs ended (up to
/// `CROSS_CPU_SKEW` where two threads recorded the two times).
fn check_profile(p: &Profile, tasks: usize, workers: usize) {
    assert_eq!(p.len(), tasks);
    assert_eq!(p.workers(), workers);
    let mut keys: Vec<usize> = p.tasks().map(|t| t.key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), tasks, "one record per task");
    for t in p.tasks() {
        assert!(t.worker < workers, "{t:?}");
        assert!(
            t.ready <= t.start + CROSS_CPU_SKEW && t.start <= t.end,
            "{t:?}"
        );
        assert!(
            t.end <= p.wall() + Duration::from_millis(50),
            "{t:?} after the run"
        );
        for &i in t.inputs {
            assert!(
                p.task(i as usize).end <= t.ready + CROSS_CPU_SKEW,
                "{t:?} ready before its input ended"
            );
        }
    }
    assert_eq!(p.latency_histogram().len(), tasks as u64);
}

#[test]
fn real_computes_record_every_task() {
    let ex = Executor::builder().workers(4).build().unwrap();
    let g = Graph::new();
    let total = sleepy_loop(&g, 8, 20);
    let out = total
        .compute_with(&ComputeOptions::new().executor(&ex).profile(true))
        .unwrap();
    assert_eq!(out.value, 28);
    let p = out.profile.unwrap();
    check_profile(&p, 9, 4);
    assert_eq!(p.tasks().filter(|t| t.name == "nap").count(), 8);
    let sum = p.tasks().find(|t| t.name == "sum").unwrap();
    assert_eq!(sum.key, total.key());
    assert_eq!(sum.inputs.len(), 8);
    let report = p.efficiency();
    assert!(report.work() >= Duration::from_millis(160));
    assert!(report.span() >= Duration::from_millis(20));
    assert!(report.bound() <= report.achieved(), "{report}");
    let table = p.what_if(&delayed::WHAT_IF_WORKERS);
    assert_eq!(
        table.predicted(1),
        Some(report.work()),
        "one worker runs all the work"
    );
    for row in table.rows() {
        assert!(row.predicted >= row.bound, "{row:?}");
    }

    // Sync mode: one worker, tasks in a topological order, no overlap.
    let sync = total
        .compute_with(&ComputeOptions::new().sync(true).profile(true))
        .unwrap();
    assert_eq!(sync.value, 28);
    let p = sync.profile.unwrap();
    check_profile(&p, 9, 1);
    let tasks: Vec<Task<'_>> = p.tasks().collect();
    assert!(tasks.windows(2).all(|w| w[0].end <= w[1].start));

    // Several targets, culled: only their ancestors.
    let g = Graph::new();
    let a = g.delayed("a", || 1);
    let _unused = g.delayed("unused", || 2);
    let b = g.task("b", &a, |v| v + 1);
    let c = g.task("c", (&a, &b), |(x, y)| x + y);
    let out = delayed::compute_with((&b, &c), &ComputeOptions::new().executor(&ex).profile(true))
        .unwrap();
    assert_eq!(out.value, (2, 3));
    let p = out.profile.unwrap();
    check_profile(&p, 3, 4);
    assert!(p.tasks().all(|t| t.name != "unused"));
}

#[test]
fn a_failed_compute_returns_its_error() {
    let g = Graph::new();
    let x = g.delayed("boom", || -> i32 { panic!("kaput") });
    let err = x
        .compute_with(&ComputeOptions::new().profile(true).progress(true))
        .unwrap_err();
    assert_eq!(err.task_name(), Some("boom"));
}

#[test]
fn the_chrome_trace_is_json_with_one_complete_event_per_task() {
    let ex = Executor::builder().workers(2).build().unwrap();
    let g = Graph::new();
    let total = sleepy_loop(&g, 6, 1);
    let weird = g.task("say \"hi\"\n\\", &total, |v| *v);
    let p = weird
        .compute_with(&ComputeOptions::new().executor(&ex).profile(true))
        .unwrap()
        .profile
        .unwrap();
    let path = temp("trace.json");
    p.write_trace(&path).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let complete: Vec<&serde_json::Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(complete.len(), p.len());
    let mut keys: Vec<u64> = complete
        .iter()
        .map(|e| e["args"]["key"].as_u64().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, (0..8).collect::<Vec<u64>>());
    for (event, task) in complete.iter().zip(p.tasks()) {
        assert_eq!(event["name"], task.name);
        assert_eq!(event["tid"].as_u64().unwrap() as usize, task.worker);
        let ts = event["ts"].as_f64().unwrap();
        assert!((ts - task.start.as_secs_f64() * 1e6).abs() < 0.01);
        let dur = event["dur"].as_f64().unwrap();
        assert!((dur - task.duration().as_secs_f64() * 1e6).abs() < 0.01);
    }
    let names = events.iter().filter(|e| e["name"] == "thread_name").count();
    assert_eq!(names, 2, "a named row per worker");
    assert!(complete.iter().any(|e| e["name"] == "say \"hi\"\n\\"));
}

/// A small XML well-formedness check: tags nest and close, attributes are
/// quoted, entities are known. Returns the elements' names in order.
fn parse_xml(text: &str) -> Result<Vec<String>, String> {
    let mut open: Vec<String> = Vec::new();
    let mut elements = Vec::new();
    let mut rest = text.trim();
    let check_text = |t: &str| -> Result<(), String> {
        let mut parts = t.split('&');
        parts.next();
        for part in parts {
            let entity = part.split(';').next().unwrap_or("");
            if !["amp", "lt", "gt", "quot", "apos"].contains(&entity) {
                return Err(format!("unknown entity &{entity};"));
            }
        }
        if t.contains('<') || t.contains('>') {
            return Err(format!("stray bracket in {t:?}"));
        }
        Ok(())
    };
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            check_text(rest)?;
            break;
        };
        check_text(&rest[..lt])?;
        let gt = rest[lt..].find('>').ok_or("unclosed tag")? + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let top = open.pop().ok_or("close without open")?;
            if top != name.trim() {
                return Err(format!("</{name}> closes <{top}>"));
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag
            .split_whitespace()
            .next()
            .ok_or("empty tag")?
            .to_string();
        // Attributes: name="value" pairs.
        let mut attrs = tag[name.len()..].trim();
        while !attrs.is_empty() {
            let eq = attrs
                .find('=')
                .ok_or(format!("attribute without value in <{tag}>"))?;
            let value = attrs[eq + 1..].trim_start();
            if !value.starts_with('"') {
                return Err(format!("unquoted attribute in <{tag}>"));
            }
            let end = value[1..].find('"').ok_or("unclosed quote")? + 1;
            check_text(&value[1..end])?;
            attrs = value[end + 1..].trim_start();
        }
        elements.push(name.clone());
        if !self_closing {
            open.push(name);
        }
    }
    if let Some(top) = open.pop() {
        return Err(format!("<{top}> never closed"));
    }
    Ok(elements)
}

#[test]
fn the_svg_timeline_parses_and_has_one_bar_per_task() {
    assert!(parse_xml("<a><b x=\"1\"/></a>").is_ok());
    assert!(parse_xml("<a><b></a>").is_err());
    assert!(parse_xml("<a x=1></a>").is_err());
    assert!(parse_xml("<a>&bogus;</a>").is_err());

    let ex = Executor::builder().workers(3).build().unwrap();
    let g = Graph::new();
    let total = sleepy_loop(&g, 7, 1);
    let weird = g.task("<b> & \"c\"", &total, |v| *v);
    let p = weird
        .compute_with(&ComputeOptions::new().executor(&ex).profile(true))
        .unwrap()
        .profile
        .unwrap();
    let path = temp("timeline.svg");
    p.write_trace(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let elements = parse_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert_eq!(elements[0], "svg");
    assert_eq!(svg.matches("<rect class=\"task\"").count(), p.len());
    assert_eq!(svg.matches("<title>").count(), p.len(), "a tooltip per bar");
    for worker in 0..3 {
        assert!(svg.contains(&format!(">worker {worker}</text>")));
    }
    // Synthetic: the lesson's loop, 9 bars; two names, two colours.
    let svg = lesson_loop(4).to_svg_timeline();
    parse_xml(&svg).unwrap();
    assert_eq!(svg.matches("<rect class=\"task\"").count(), 9);
    assert_eq!(svg.matches("fill=\"#4e79a7\"><title>inc").count(), 8);
    assert_eq!(svg.matches("fill=\"#f28e2b\"><title>sum").count(), 1);
}

#[test]
fn pictures_are_coloured_by_worker_or_duration() {
    let ex = Executor::builder().workers(2).build().unwrap();
    let g = Graph::new();
    let total = sleepy_loop(&g, 4, 2);
    let out = total
        .compute_with(&ComputeOptions::new().executor(&ex).profile(true))
        .unwrap();
    let p = out.profile.as_ref();
    let by_worker = total
        .to_dot_with(&VisualizeOptions {
            color: Color::Worker,
            profile: p,
        })
        .unwrap();
    assert_eq!(by_worker.matches("style=filled").count(), 5);
    let by_duration = total
        .to_dot_with(&VisualizeOptions {
            color: Color::Duration,
            profile: p,
        })
        .unwrap();
    // The longest task is dark red; `sum` (no sleep) is pale.
    assert!(by_duration.contains("#bd0026"), "{by_duration}");
    let by_name = total
        .to_dot_with(&VisualizeOptions {
            color: Color::Name,
            profile: None,
        })
        .unwrap();
    assert_eq!(by_name.matches("fillcolor=\"#4e79a7\"").count(), 4);
    assert_eq!(by_name.matches("fillcolor=\"#f28e2b\"").count(), 1);
    let plain = total.to_dot_with(&VisualizeOptions::default()).unwrap();
    assert_eq!(plain, total.to_dot());
    let err = total
        .to_dot_with(&VisualizeOptions {
            color: Color::Worker,
            profile: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("profile"), "{err}");
    let path = temp("coloured.dot");
    total
        .visualize_with(
            &path,
            &VisualizeOptions {
                color: Color::Worker,
                profile: p,
            },
        )
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), by_worker);
    std::fs::remove_file(&path).unwrap();
}
