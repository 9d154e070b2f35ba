//! Parallel-scaling check: renders a list of overlays on one shared
//! [`Kustomizer`] with a given number of threads pulling from a shared work
//! queue, and reports wall time, process CPU time and their ratio. A ratio
//! near the thread count means the threads really ran at the same time
//! (no global lock serialises builds), even on a machine too busy for the
//! wall time to halve.
//!
//! Usage: `parallel_render THREADS ROUNDS DIR...` (each DIR is rendered
//! ROUNDS times). Prints one line of `key=value` pairs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use kedge_kustomize::{Kustomizer, OsFileSystem};

/// User + system CPU seconds of this process, from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the whole line, in clock ticks (USER_HZ = 100).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: parallel_render THREADS ROUNDS DIR...");
        return ExitCode::from(2);
    }
    let (Ok(threads), Ok(rounds)) = (args[0].parse::<usize>(), args[1].parse::<usize>()) else {
        eprintln!("THREADS and ROUNDS must be numbers");
        return ExitCode::from(2);
    };
    let mut dirs = Vec::new();
    for d in &args[2..] {
        match std::path::absolute(d) {
            Ok(p) => dirs.push(p),
            Err(e) => {
                eprintln!("{d}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let jobs: Vec<&PathBuf> = (0..rounds).flat_map(|_| dirs.iter()).collect();
    let kustomizer = Kustomizer::new();
    let next = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let cpu0 = cpu_seconds().unwrap_or(0.0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(dir) = jobs.get(i) else { break };
                    match kustomizer.build(&OsFileSystem, dir) {
                        Ok(r) => {
                            bytes.fetch_add(r.to_yaml().len(), Ordering::Relaxed);
                        }
                        Err(e) => {
                            eprintln!("{}: {e}", dir.display());
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().unwrap_or(0.0) - cpu0;
    println!(
        "threads={threads} renders={} wall_s={wall:.3} cpu_s={cpu:.2} cpu_per_wall={:.2} renders_per_s={:.1} output_bytes={} failures={}",
        jobs.len(),
        cpu / wall,
        jobs.len() as f64 / wall,
        bytes.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed)
    );
    if failures.load(Ordering::Relaxed) > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
