//! The cases, one rank's side of each: run under `mpirun` by `main.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use delayed::mpi::{Cluster, ComputeOptions, Graph};

pub(crate) type Outcome = Result<(), String>;

/// Runs `case` on this rank; the process's exit status.
pub(crate) fn run(case: &str) -> i32 {
    let cluster = match Cluster::init() {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("Cluster::init: {error}");
            return 1;
        }
    };
    let g = cluster.graph();
    let outcome = match case {
        "lesson" => lesson(&cluster, &g),
        "random" => crate::random::random_dags(&cluster),
        "rebuilt" => crate::random::rebuilt_dags(&cluster),
        "api" => api(&cluster, &g),
        "profile" => profile(&cluster, &g),
        "placement" => placement(&cluster, &g),
        "task_error" => task_error(&cluster, &g),
        "task_panic" => task_panic(&cluster, &g),
        "different_graphs" => different_graphs(&cluster, &g),
        "bad_hint" => bad_hint(&cluster, &g),
        "unready_rank" => unready_rank(&cluster, &g),
        "big_value" => big_value(&g),
        "value_sizes" => value_sizes(&cluster, &g),
        "unencodable" => crate::encoding::unencodable(&cluster, &g),
        "undecodable" => crate::encoding::undecodable(&cluster, &g),
        "many_tasks" => many_tasks(&g),
        "stream" => crate::stream::stream(&cluster, &g),
        "nested" => nested(&g),
        "watchdog" => watchdog(&cluster, &g),
        "killed_rank" => killed_rank(&cluster, &g),
        "panic_outside_task" => panic_outside_task(&cluster, &g),
        "kept_heap" => crate::heap::kept_heap(),
        "kept_columns" => crate::heap::kept_columns(&cluster),
        other => Err(format!("no case {other}")),
    };
    match outcome {
        Ok(()) => {
            println!("ok {case}");
            0
        }
        Err(why) => {
            eprintln!("rank {}: {case}: {why}", cluster.rank());
            1
        }
    }
}

pub(crate) fn ensure(condition: bool, why: impl FnOnce() -> String) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(why())
    }
}

/// The lesson's loop on `g`: 8 `inc`s of `unit` each, each returning the
/// rank it ran on; their sum, and the list of those ranks.
fn lesson_loop(
    cluster: &Cluster,
    g: &Graph,
    unit: Duration,
) -> (
    delayed::mpi::Delayed<i64>,
    delayed::mpi::Delayed<Vec<usize>>,
) {
    let here = cluster.rank();
    let xs: Vec<_> = (1..=8i64)
        .map(|i| {
            g.delayed("inc", move || {
                std::thread::sleep(unit);
                (i + 1, here)
            })
        })
        .collect();
    let total = g.task("sum", &xs, |v| v.into_iter().map(|(x, _)| x).sum::<i64>());
    let ranks = g.task("where", &xs, |v| {
        v.into_iter().map(|&(_, r)| r).collect::<Vec<_>>()
    });
    (total, ranks)
}

/// The lesson's loop: 8 `inc`s summed. Every rank gets 44; on 4 ranks two
/// `inc`s run on each (each task returns the rank it ran on).
fn lesson(cluster: &Cluster, g: &Graph) -> Outcome {
    let (total, ranks) = lesson_loop(cluster, g, Duration::from_millis(20));
    let (t, on) = delayed::mpi::compute((&total, &ranks)).map_err(|e| e.to_string())?;
    ensure(t == 44, || format!("total={t}"))?;
    let n = cluster.size();
    let mut per_rank = vec![0; n];
    on.iter().for_each(|&r| per_rank[r] += 1);
    ensure(per_rank.iter().all(|&c| c == 8 / n.min(8)) || n > 8, || {
        format!("incs per rank: {per_rank:?}")
    })?;
    // Afresh: the same compute again gives the same result.
    ensure(total.compute().map_err(|e| e.to_string())? == 44, || {
        "again".into()
    })
}

/// The API around a compute: hints, several targets, tuples and lists,
/// strings, a graph that grows after a compute, culling.
fn api(cluster: &Cluster, g: &Graph) -> Outcome {
    let here = cluster.rank();
    let last = cluster.size() - 1;
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let x = g.on(last).delayed("x", move || {
        counter.fetch_add(1, Ordering::Relaxed);
        (10i64, here)
    });
    let unused = g
        .on(0)
        .delayed("unused", || -> i64 { panic!("culled, never runs") });
    let a = g.on(0).task("a", &x, |(v, _)| v + 1);
    let b = g.task("b", &x, |(v, _)| v - 1);
    let text = g.task("text", (&a, &b), |(a, b)| format!("{a}-{b}"));
    let (ra, rb, rt, rx) = delayed::mpi::compute((&a, &b, &text, &x)).map_err(|e| e.to_string())?;
    ensure((ra, rb, rt.as_str()) == (11, 9, "11-9"), || {
        format!("{ra} {rb} {rt}")
    })?;
    ensure(rx.1 == last, || {
        format!("x ran on rank {}, not {last}", rx.1)
    })?;
    let here_runs = runs.load(Ordering::Relaxed);
    ensure(here_runs == usize::from(here == last), || {
        format!("x ran {here_runs} times here")
    })?;
    // The graph grows after a compute; `unused` is still culled.
    let more = g.task("more", (&text, &a), |(t, a)| t.len() as i64 + a);
    let got = more.compute().map_err(|e| e.to_string())?;
    ensure(got == 15, || format!("more: {got}"))?;
    let list: Vec<_> = (0..5).map(|i| g.delayed("i", move || i * i)).collect();
    let got = delayed::mpi::compute(&list).map_err(|e| e.to_string())?;
    ensure(got == vec![0, 1, 4, 9, 16], || format!("{got:?}"))?;
    drop(unused);
    Ok(())
}

/// A profile of the lesson's loop, merged over the ranks (the same on
/// each): every task with the rank it ran on, one trace process per rank,
/// the efficiency report over all the ranks' workers.
fn profile(cluster: &Cluster, g: &Graph) -> Outcome {
    let (total, ranks) = lesson_loop(cluster, g, Duration::from_millis(10));
    let out = delayed::mpi::compute_with((&total, &ranks), &ComputeOptions::new().profile(true))
        .map_err(|e| e.to_string())?;
    let (t, on) = out.value;
    ensure(t == 44, || format!("total={t}"))?;
    let profile = out.profile.ok_or("no profile")?;
    ensure(
        profile.len() == 10 && profile.ranks() == cluster.size(),
        || format!("{} tasks on {} ranks", profile.len(), profile.ranks()),
    )?;
    for (i, task) in profile.tasks().enumerate().take(8) {
        ensure(task.name == "inc" && profile.rank(i) == on[i], || {
            format!(
                "task {i} ({}) on rank {}, ran on {}",
                task.name,
                profile.rank(i),
                on[i]
            )
        })?;
        ensure(task.duration() >= Duration::from_millis(10), || {
            format!("{task:?}")
        })?;
    }
    let sum = profile.task(8);
    ensure(
        sum.inputs.len() == 8 && sum.start >= profile.task(0).end,
        || format!("{sum:?}"),
    )?;
    let trace = profile.to_chrome_trace();
    ensure(
        (0..cluster.size()).all(|r| trace.contains(&format!("\"name\":\"rank {r}\""))),
        || "a rank is missing from the trace".into(),
    )?;
    let report = profile.efficiency().to_string();
    ensure(
        cluster.size() == 1 || report.contains(&format!("of {} ranks", cluster.size())),
        || report.clone(),
    )?;
    ensure(!profile.what_if(&[1, 2, 4]).to_string().is_empty(), || {
        "what-if".into()
    })
}

/// A placement learnt from a profile: every rank learns the same one, the
/// next compute runs each task where it says, and a rank that passes
/// another placement than the others gets an error, as do the others.
fn placement(cluster: &Cluster, g: &Graph) -> Outcome {
    let here = cluster.rank();
    let xs: Vec<_> = (0..12u64)
        .map(|i| {
            g.delayed("work", move || {
                std::thread::sleep(Duration::from_millis(1 + i * 2));
                (i, here)
            })
        })
        .collect();
    let total = g.task("sum", &xs, |v| v.into_iter().map(|(i, _)| i).sum::<u64>());
    let on = g.task("where", &xs, |v| {
        v.into_iter().map(|&(_, r)| r).collect::<Vec<_>>()
    });
    let first = delayed::mpi::compute_with((&total, &on), &ComputeOptions::new().profile(true))
        .map_err(|e| e.to_string())?;
    let profile = first.profile.ok_or("no profile")?;
    let placement = delayed::mpi::Placement::from_profile(&profile, Duration::from_micros(20));
    ensure(placement.len() == 14, || format!("{placement}"))?;
    let again =
        delayed::mpi::compute_with((&total, &on), &ComputeOptions::new().placement(&placement))
            .map_err(|e| e.to_string())?;
    let (sum, ranks) = again.value;
    ensure(sum == 66, || format!("sum {sum}"))?;
    for (i, &rank) in ranks.iter().enumerate() {
        let key = xs[i].key();
        ensure(placement.rank_of(key) == Some(rank), || {
            format!(
                "task key {key} ran on rank {rank}, placed on {:?}",
                placement.rank_of(key)
            )
        })?;
    }
    // The same compute again: it runs on what the last one prepared (the
    // same targets and placement), with the same placement.
    let (sum, again) =
        delayed::mpi::compute_with((&total, &on), &ComputeOptions::new().placement(&placement))
            .map_err(|e| e.to_string())?
            .value;
    ensure(sum == 66 && again == ranks, || {
        format!("again: sum {sum}, ranks {again:?}, first {ranks:?}")
    })?;
    // Rank 0 asks for that again (what it prepared last time), the others
    // without the placement (prepared afresh): every rank gets an error
    // naming the first task, whose hint differs.
    let options = if here == 0 {
        ComputeOptions::new().placement(&placement)
    } else {
        ComputeOptions::new()
    };
    let err = delayed::mpi::compute_with((&total, &on), &options)
        .err()
        .ok_or("the compute succeeded")?
        .to_string();
    ensure(
        err.contains("built different graphs")
            && err.contains("task #0:")
            && err.contains(&format!(
                "rank 0: task 'work' (key 0) returning (u64, usize) with inputs [] placed on rank {}",
                ranks[0]
            ))
            && err.lines().any(|line| {
                line.trim() == "rank 1: task 'work' (key 0) returning (u64, usize) with inputs []"
            }),
        || err.clone(),
    )?;
    // Only rank 1 passes the placement: every rank gets an error.
    let options = if here == 1 {
        ComputeOptions::new().placement(&placement)
    } else {
        ComputeOptions::new()
    };
    let err = total
        .compute_with(&options)
        .err()
        .ok_or("the compute succeeded")?
        .to_string();
    ensure(err.contains("built different graphs"), || err)
}

/// A task returning `Err` on the last rank fails the compute on every rank,
/// naming the task and its rank; the tasks after it never run anywhere.
fn task_error(cluster: &Cluster, g: &Graph) -> Outcome {
    let last = cluster.size() - 1;
    let after = Arc::new(AtomicUsize::new(0));
    let x = g.delayed("x", || String::from("12a"));
    let parsed = g.on(last).try_task("parse", &x, |t| t.parse::<i64>());
    let seen = Arc::clone(&after);
    let next = g.on(0).task("next", &parsed, move |v| {
        seen.fetch_add(1, Ordering::Relaxed);
        v + 1
    });
    let err = next.compute().err().ok_or("the compute succeeded")?;
    let text = err.to_string();
    ensure(
        err.task_name() == Some("parse") && err.rank() == Some(last),
        || format!("error: {text}"),
    )?;
    ensure(
        text.contains(&format!("on rank {last}")) && text.contains("invalid digit"),
        || format!("message: {text}"),
    )?;
    ensure(after.load(Ordering::Relaxed) == 0, || {
        "a task after the failure ran".into()
    })?;
    // The graph and the job stay usable.
    let ok = g.task("ok", &x, |t| t.len());
    ensure(ok.compute().map_err(|e| e.to_string())? == 3, || {
        "after".into()
    })
}

/// A task that panics on the last rank: every rank gets the panic message.
fn task_panic(cluster: &Cluster, g: &Graph) -> Outcome {
    let last = cluster.size() - 1;
    let xs: Vec<_> = (0..16).map(|i| g.delayed("x", move || i)).collect();
    let boom = g.on(last).task("boom", &xs, |v| -> i64 {
        if v.len() == 16 {
            panic!("sixteen inputs")
        }
        0
    });
    let total = g.on(0).task("total", (&boom, &xs[0]), |(a, b)| a + b);
    let err = total.compute().err().ok_or("the compute succeeded")?;
    ensure(
        err.panic_message() == Some("sixteen inputs") && err.rank() == Some(last),
        || format!("error: {err}"),
    )
}

/// Rank 1 adds a different task: every rank gets an error naming it.
fn different_graphs(cluster: &Cluster, g: &Graph) -> Outcome {
    let a = g.delayed("a", || 1i64);
    let b = if cluster.rank() == 1 {
        g.task("dec", &a, |v| v - 1)
    } else {
        g.task("inc", &a, |v| v + 1)
    };
    let c = g.task("c", &b, |v| v * 2);
    let err = c
        .compute()
        .err()
        .ok_or("the compute succeeded")?
        .to_string();
    ensure(
        err.contains("built different graphs")
            && err.contains("task 'dec' (key 1)")
            && err.contains("task 'inc' (key 1)"),
        || format!("error: {err}"),
    )?;
    // The same targets with agreeing graphs still work afterwards.
    ensure(a.compute().map_err(|e| e.to_string())? == 1, || {
        "after".into()
    })
}

/// A hint naming a rank outside the job.
fn bad_hint(cluster: &Cluster, g: &Graph) -> Outcome {
    let x = g.on(cluster.size() + 3).delayed("far", || 1);
    let err = x
        .compute()
        .err()
        .ok_or("the compute succeeded")?
        .to_string();
    ensure(
        err.contains("is placed on rank") && err.contains("rank(s)"),
        || err,
    )
}

/// Rank 1 cannot compute (a malformed watchdog variable): every rank gets
/// an error naming it, none waits for it.
fn unready_rank(cluster: &Cluster, g: &Graph) -> Outcome {
    let x = g.delayed("x", || 1);
    if cluster.rank() == 1 {
        std::env::set_var(delayed::mpi::TIMEOUT_ENV, "soon");
    }
    let err = x
        .compute()
        .err()
        .ok_or("the compute succeeded")?
        .to_string();
    ensure(
        err.contains("a rank cannot compute")
            && err.contains("rank 1: ")
            && err.contains("DELAYED_MPI_TIMEOUT"),
        || err.clone(),
    )?;
    std::env::remove_var(delayed::mpi::TIMEOUT_ENV);
    ensure(x.compute().map_err(|e| e.to_string())? == 1, || {
        "after".into()
    })
}

/// A 100 MB value made on rank 1 and read on rank 0.
fn big_value(g: &Graph) -> Outcome {
    const LEN: usize = 100 << 20;
    let big = g.on(1).delayed("big", || {
        (0..LEN).map(|i| (i % 251) as u8).collect::<Vec<u8>>()
    });
    let sum = g.on(0).task("sum", &big, |v| {
        (v.len() as u64, v.iter().map(|&b| u64::from(b)).sum::<u64>())
    });
    let (len, total) = sum.compute().map_err(|e| e.to_string())?;
    let expect: u64 = (0..LEN).map(|i| (i % 251) as u64).sum();
    ensure(len == LEN as u64 && total == expect, || {
        format!("{len} {total}")
    })
}

/// Sizes around the exchange's limits: batched up to 16 KiB, messages of
/// at most 64 KiB on the run's communicator, larger values announced and
/// sent on the payload communicator (`graph/src/mpi/comm.rs`).
const SIZES: [usize; 10] = [
    0,
    1,
    1000,
    16 << 10,
    (16 << 10) + 1,
    (64 << 10) - 40,
    (64 << 10) - 8,
    64 << 10,
    (64 << 10) + 1,
    1 << 20,
];

/// Values of every size class cross ranks, several of each at once from
/// one rank (small ones in bursts larger than one message holds, large
/// ones several in flight); then a task fails while such values are on
/// their way, so each rank drains what it was sent and did not read, and
/// the job goes on.
fn value_sizes(cluster: &Cluster, g: &Graph) -> Outcome {
    let n = cluster.size();
    let make = |rank: usize, copies: usize| -> Vec<_> {
        (0..copies)
            .flat_map(|copy| SIZES.iter().map(move |&len| (copy, len)))
            .chain((0..100).map(|copy| (copy, 1000)))
            .map(|(copy, len)| {
                g.on(rank)
                    .delayed("make", move || vec![(len % 251 + copy) as u8; len])
            })
            .collect()
    };
    let weigh = |vs: delayed::Values<'_, Vec<u8>>| {
        vs.into_iter()
            .map(|v| v.len() as u64 + v.iter().map(|&b| u64::from(b)).sum::<u64>())
            .sum::<u64>()
    };
    let expect: u64 = (0..3)
        .flat_map(|copy| SIZES.iter().map(move |&len| (copy, len)))
        .chain((0..100).map(|copy| (copy, 1000)))
        .map(|(copy, len)| len as u64 * (1 + u64::from((len % 251 + copy) as u8)))
        .sum();
    let sums: Vec<_> = (0..n)
        .map(|rank| g.on((rank + 1) % n).task("weigh", &make(rank, 3), weigh))
        .collect();
    let all = g.task("all", &sums, |v| {
        v.into_iter().copied().collect::<Vec<u64>>()
    });
    let got = all.compute().map_err(|e| e.to_string())?;
    ensure(got == vec![expect; n], || {
        format!("{got:?}, expected {expect} each")
    })?;

    // Rank 0 fails at once; every other rank's values for it are on their
    // way or about to be.
    let boom = g.on(0).try_delayed("boom", || "boom".parse::<u64>());
    let late: Vec<_> = (1..n)
        .map(|rank| {
            let weighed = g.on(0).task("weigh", &make(rank, 1), weigh);
            g.on(0).task("late", (&boom, &weighed), |(a, b)| a + b)
        })
        .collect();
    let failed = g.task("failed", &late, |v| v.into_iter().sum::<u64>());
    let err = failed.compute().err().ok_or("the compute succeeded")?;
    ensure(err.task_name() == Some("boom"), || format!("error: {err}"))?;
    // Nothing was left unread: the same compute again gets the same values.
    let again = all.compute().map_err(|e| e.to_string())?;
    ensure(again == got, || format!("again {again:?}"))
}

/// A graph of 100k tasks: 100 chains of 999 steps, summed.
fn many_tasks(g: &Graph) -> Outcome {
    let ends: Vec<_> = (0..100u64)
        .map(|c| {
            let mut x = g.delayed("start", move || c);
            for _ in 0..999 {
                x = g.task("step", &x, |v| v + 1);
            }
            x
        })
        .collect();
    let total = g.task("total", &ends, |v| v.into_iter().sum::<u64>());
    ensure(g.len() == 100_001, || format!("{} tasks", g.len()))?;
    let got = total.compute().map_err(|e| e.to_string())?;
    ensure(got == (0..100).sum::<u64>() + 100 * 999, || {
        format!("total {got}")
    })
}

/// A compute inside a task runs on that rank alone.
fn nested(g: &Graph) -> Outcome {
    let inner = g.delayed("inner", || 20i64);
    let handle = inner.clone();
    let outer = g.on(1).task("outer", &inner, move |v| {
        handle.compute().expect("a nested compute") + v + 2
    });
    ensure(outer.compute().map_err(|e| e.to_string())? == 42, || {
        "nested".into()
    })
}

/// A task on the last rank runs past the watchdog's limit: every rank gets
/// the watchdog's error.
fn watchdog(cluster: &Cluster, g: &Graph) -> Outcome {
    let last = cluster.size() - 1;
    let slow = g.on(last).delayed("slow", || {
        std::thread::sleep(Duration::from_secs(3));
        1
    });
    let next = g.on(0).task("next", &slow, |v| v + 1);
    let options = ComputeOptions::new().timeout(Duration::from_millis(500));
    let err = next
        .compute_with(&options)
        .err()
        .ok_or("the compute succeeded")?
        .to_string();
    ensure(err.contains("watchdog"), || err)
}

/// The last rank dies in a task: the job ends (MPI aborts it).
fn killed_rank(cluster: &Cluster, g: &Graph) -> Outcome {
    let last = cluster.size() - 1;
    let die = g
        .on(last)
        .delayed("die", || -> i64 { std::process::abort() });
    let next = g.on(0).task("next", &die, |v| v + 1);
    next.compute().map(drop).map_err(|e| e.to_string())
}

/// Rank 1 panics outside any task, while the others wait in a compute.
fn panic_outside_task(cluster: &Cluster, g: &Graph) -> Outcome {
    if cluster.rank() == 1 {
        panic!("rank 1 gives up before the compute");
    }
    g.delayed("x", || 1)
        .compute()
        .map(drop)
        .map_err(|e| e.to_string())
}
