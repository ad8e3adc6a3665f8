//! `procbench`: what one process-collection run costs, per process on the host.
//!
//! Spawns idle children so `/proc` holds a realistic number of processes, then measures the CPU
//! time (user + system) of:
//!
//! - dogwatch's `ProcessCollector`: a fresh collector's first (priming) run, and a primed
//!   collector's steady-state runs;
//! - the floor under each: opening and reading exactly the files that run reads, parsing
//!   nothing;
//! - `ps` printing the fields dogwatch reports: per process in `/proc`, minus what
//!   `ps -o pid= -p 1` costs, and per process added (run before and after spawning the
//!   children), which leaves out its start-up cost;
//! - Python's psutil iterating the same fields, when `bench/.venv` exists.
//!
//! Each figure is the CPU µs of one iteration divided by the processes in `/proc`. See
//! README.md for how to run it and read the ratios.

mod children;
mod external;
mod floor;

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use dogwatch_agent::process::{Blacklist, CollectorSettings, HostPaths, ProcessCollector, Scrubber};
use dogwatch_model::ProcessRecord;

use children::Children;
use floor::{Floor, SteadyReads};

/// The pause before each timed in-process call, so the steady-state collector sees time pass
/// between runs as it does in the agent.
const PAUSE: Duration = Duration::from_millis(50);

/// The help text.
const USAGE: &str = "\
usage: procbench [--children N] [--iterations K] [--json]
  --children N    idle child processes to spawn first (default 300)
  --iterations K  timed iterations per variant (default 30)
  --json          print the results as JSON instead of a table
";

/// What the benchmark's steps return.
type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Command-line options.
struct Options {
    children: usize,
    iterations: usize,
    json: bool,
}

impl Options {
    /// Parses the command line; `Err` holds the message to print.
    fn parse() -> std::result::Result<Options, String> {
        let mut options = Options {
            children: 300,
            iterations: 30,
            json: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = || {
                args.next()
                    .and_then(|value| value.parse::<usize>().ok())
                    .ok_or(format!("{arg} needs a number\n{USAGE}"))
            };
            match arg.as_str() {
                "--children" => options.children = number()?,
                "--iterations" => options.iterations = number()?.max(1),
                "--json" => options.json = true,
                _ => return Err(format!("unknown argument `{arg}`\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

fn main() -> ExitCode {
    if std::env::args().any(|arg| arg == "-h" || arg == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprint!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("procbench: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Whose CPU time to read.
#[derive(Clone, Copy)]
pub enum Who {
    /// This process.
    Me,
    /// This process's children that have been waited for.
    Children,
}

/// User + system CPU time so far, in µs, from `getrusage`.
pub fn cpu_us(who: Who) -> f64 {
    let who = match who {
        Who::Me => libc::RUSAGE_SELF,
        Who::Children => libc::RUSAGE_CHILDREN,
    };
    // SAFETY: an all-zero `rusage` is valid, and getrusage only writes into the one it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `who` is one of the two values getrusage accepts.
    unsafe { libc::getrusage(who, &mut usage) };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// Runs `f`; returns its result and the CPU µs this process used meanwhile.
fn timed<R, E>(f: impl FnOnce() -> std::result::Result<R, E>) -> std::result::Result<(R, f64), E> {
    let before = cpu_us(Who::Me);
    let result = f()?;
    Ok((result, cpu_us(Who::Me) - before))
}

/// A task measured in rounds: it runs once and returns the CPU µs it used.
type Task<'a> = &'a mut dyn FnMut() -> Result<f64>;

/// Runs every task once per round, for one untimed warm-up round and then `iterations` timed
/// ones, rotating which task goes first so each sees the same conditions, and sleeping `pause`
/// before each task. Returns one list of CPU µs per task.
fn rounds(iterations: usize, pause: Duration, tasks: &mut [Task]) -> Result<Vec<Vec<f64>>> {
    let mut samples = vec![Vec::with_capacity(iterations); tasks.len()];
    for round in 0..=iterations {
        for i in 0..tasks.len() {
            std::thread::sleep(pause);
            let task = (round + i) % tasks.len();
            let used = tasks[task]()?;
            if round > 0 {
                samples[task].push(used);
            }
        }
    }
    Ok(samples)
}

/// Median, p90, mean and maximum of µs-per-process samples.
#[derive(Clone, Copy)]
struct Summary {
    median: f64,
    p90: f64,
    mean: f64,
    max: f64,
}

impl Summary {
    /// Summarises `samples` (CPU µs per iteration) divided by `processes`.
    fn per_process(samples: &[f64], processes: usize) -> Summary {
        let mut sorted: Vec<f64> = samples.iter().map(|us| us / processes.max(1) as f64).collect();
        sorted.sort_by(f64::total_cmp);
        Summary {
            median: quantile(&sorted, 0.5),
            p90: quantile(&sorted, 0.9),
            mean: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
            max: sorted.last().copied().unwrap_or(0.0),
        }
    }
}

/// The median of unsorted values.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile(&sorted, 0.5)
}

/// The `q` quantile of sorted values, interpolating between neighbours.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// One line of the results.
struct Row {
    name: &'static str,
    summary: Summary,
    /// The floor row this one is compared with.
    floor: Option<&'static str>,
}

/// Spawns the children, measures every variant, and prints the results.
fn run(options: &Options) -> Result<()> {
    let bench_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let paths = HostPaths {
        proc: "/proc".into(),
        sys: "/sys".into(),
        etc: "/etc".into(),
    };
    let k = options.iterations;
    let mut ps_all = external::ps_all();

    // ps before the children exist, for its marginal cost per process.
    progress(options, "ps before spawning the children");
    let processes_before = floor::pids(&paths.proc)?.len();
    let before = rounds(k, Duration::ZERO, &mut [&mut || external::child_cpu_us(&mut ps_all)])?;
    let ps_before_us = median(&before[0]);

    let children = Children::spawn(options.children)?;
    std::thread::sleep(Duration::from_millis(300)); // Let every shell reach its `read`.
    let mut floor = Floor::new(&paths)?;
    let processes = floor.pids()?.len();
    let (scrubber, _) = Scrubber::new(true, false, &[]);
    let (blacklist, _) = Blacklist::new(&[]);
    let settings = || CollectorSettings {
        paths: paths.clone(),
        host_tags: vec![],
        scrubber: scrubber.clone(),
        blacklist: blacklist.clone(),
    };
    let mut notes = Vec::new();
    let mut rows = Vec::new();

    progress(options, "dogwatch steady state and its floor");
    let mut steady = ProcessCollector::new(settings());
    steady.collect()?;
    std::thread::sleep(PAUSE);
    steady.collect()?;
    // The floor reads `status`, `io` and fd counts for as many processes as the collector's
    // latest run did.
    let reads = std::cell::Cell::new(SteadyReads::default());
    let samples = rounds(
        k,
        PAUSE,
        &mut [
            // The records are freed after the clock stops.
            &mut || {
                let (collection, used) = timed(|| steady.collect())?;
                reads.set(SteadyReads {
                    status: collection.status_reads,
                    io: collection.io_reads,
                    fd: collection.fd_reads,
                });
                Ok(used)
            },
            &mut || Ok(timed(|| floor.steady(reads.get()))?.1),
        ],
    )?;
    rows.push(row(
        "dogwatch steady state",
        &samples[0],
        processes,
        Some("floor (steady files)"),
    ));
    rows.push(row("floor (steady files)", &samples[1], processes, None));
    notes.push(check_children(&steady.collect()?.processes, children.len()));

    progress(options, "dogwatch first run and its floor");
    let samples = rounds(
        k,
        PAUSE,
        &mut [
            // The collector is built from cloned settings, and freed, with the clock stopped.
            &mut || {
                let settings = settings();
                let (collector, used) = timed(|| {
                    let mut collector = ProcessCollector::new(settings);
                    collector.collect().map(|_| collector)
                })?;
                drop(collector);
                Ok(used)
            },
            &mut || Ok(timed(|| floor.first_run())?.1),
        ],
    )?;
    rows.push(row(
        "dogwatch first run",
        &samples[0],
        processes,
        Some("floor (first-run files)"),
    ));
    rows.push(row("floor (first-run files)", &samples[1], processes, None));

    progress(options, "ps");
    let mut ps_startup = external::ps_startup();
    let samples = rounds(
        k,
        Duration::ZERO,
        &mut [&mut || external::child_cpu_us(&mut ps_all), &mut || {
            external::child_cpu_us(&mut ps_startup)
        }],
    )?;
    let startup_us = median(&samples[1]);
    let net: Vec<f64> = samples[0].iter().map(|us| us - startup_us).collect();
    rows.push(row("ps", &samples[0], processes, None));
    rows.push(row("ps (minus -p 1)", &net, processes, None));
    // The cost of one more process: each run against the median run before the children.
    let added = processes.saturating_sub(processes_before);
    if added > 0 {
        let marginal: Vec<f64> = samples[0].iter().map(|us| us - ps_before_us).collect();
        rows.push(row(PS_MARGINAL, &marginal, added, None));
    } else {
        notes.push("no ps (marginal): no more processes with the children than before".to_string());
    }

    progress(options, "psutil");
    match external::psutil(bench_dir, k) {
        Ok(run) => rows.push(row("psutil", &run.cpu_us, run.processes, None)),
        Err(note) => notes.push(note),
    }

    let processes_after = floor.pids()?.len();
    if processes_after != processes {
        notes.push(format!(
            "{processes} processes at the start, {processes_after} at the end: something else started or \
             stopped processes meanwhile"
        ));
    }
    drop(children);

    let context = Context {
        processes,
        kernel_threads: floor.kernel_threads(),
        children: options.children,
        iterations: k,
        ps_startup_us: startup_us,
        processes_before,
        ps_before_us,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default(),
    };
    if options.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&context, &rows, &notes))?);
    } else {
        print_table(&context, &rows, &notes);
    }
    Ok(())
}

/// A row from CPU µs per iteration.
fn row(name: &'static str, samples: &[f64], processes: usize, floor: Option<&'static str>) -> Row {
    Row {
        name,
        summary: Summary::per_process(samples, processes),
        floor,
    }
}

/// A note on how many of the children dogwatch reported, and how many it scrubbed.
fn check_children(records: &[ProcessRecord], children: usize) -> String {
    let ours: Vec<_> = records
        .iter()
        .filter(|r| r.cmdline.iter().any(|arg| arg.starts_with("procbench-child-")))
        .collect();
    let scrubbed = ours
        .iter()
        .filter(|r| r.cmdline.iter().any(|arg| arg.contains("********")))
        .count();
    format!(
        "dogwatch reported {} of {children} children, {scrubbed} with scrubbed arguments",
        ours.len()
    )
}

/// Tells the user what is being measured (stderr, and not with `--json`).
fn progress(options: &Options, what: &str) {
    if !options.json {
        eprintln!("procbench: measuring {what}…");
    }
}

/// What the run measured on.
struct Context {
    processes: usize,
    kernel_threads: usize,
    children: usize,
    iterations: usize,
    ps_startup_us: f64,
    /// Processes in `/proc` before the children were spawned.
    processes_before: usize,
    /// Median CPU µs of `ps` then.
    ps_before_us: f64,
    kernel: String,
}

/// `row`'s median against `other`'s (by name), if both are there.
fn ratio(rows: &[Row], row: &Row, other: Option<&str>) -> Option<f64> {
    let other = rows.iter().find(|r| Some(r.name) == other)?;
    (other.summary.median > 0.0).then(|| row.summary.median / other.summary.median)
}

/// `ps`'s cost per added process: the row everything is compared with.
const PS_MARGINAL: &str = "ps (marginal)";

/// Prints the results as a table, with the notes under it.
fn print_table(context: &Context, rows: &[Row], notes: &[String]) {
    println!(
        "{} processes in /proc ({} children, {} kernel threads), {} iterations, Linux {}",
        context.processes,
        context.children,
        context.kernel_threads,
        context.iterations,
        context.kernel.trim()
    );
    println!("CPU µs (user + system) per process per run");
    println!(
        "ps: {:.0} µs per run before the children ({} processes); `ps -o pid= -p 1`: {:.0} µs per run",
        context.ps_before_us, context.processes_before, context.ps_startup_us
    );
    println!();
    println!(
        "{:<26}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "variant", "median", "p90", "mean", "max", "× ps", "× floor"
    );
    let times = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
    for row in rows {
        let s = row.summary;
        println!(
            "{:<26}{:>9.2}{:>9.2}{:>9.2}{:>9.2}{:>9}{:>9}",
            row.name,
            s.median,
            s.p90,
            s.mean,
            s.max,
            times(ratio(rows, row, Some(PS_MARGINAL))),
            times(ratio(rows, row, row.floor)),
        );
    }
    println!();
    println!("× ps: median against `{PS_MARGINAL}`; × floor: median against the floor for the same files.");
    for note in notes {
        println!("note: {note}");
    }
}

/// The results as JSON: the context, one object per row, and the notes.
fn to_json(context: &Context, rows: &[Row], notes: &[String]) -> serde_json::Value {
    let variants: Vec<_> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "variant": row.name,
                "median_us_per_process": row.summary.median,
                "p90_us_per_process": row.summary.p90,
                "mean_us_per_process": row.summary.mean,
                "max_us_per_process": row.summary.max,
                "ratio_to_ps": ratio(rows, row, Some(PS_MARGINAL)),
                "floor": row.floor,
                "ratio_to_floor": ratio(rows, row, row.floor),
            })
        })
        .collect();
    serde_json::json!({
        "processes": context.processes,
        "kernel_threads": context.kernel_threads,
        "children": context.children,
        "iterations": context.iterations,
        "kernel": context.kernel.trim(),
        "ps_startup_us": context.ps_startup_us,
        "processes_before_children": context.processes_before,
        "ps_before_children_us": context.ps_before_us,
        "variants": variants,
        "notes": notes,
    })
}
