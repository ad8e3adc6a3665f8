//! Spreads per-host query work over the machine's cores.

use std::sync::OnceLock;

/// Below this many processes a query runs on the calling thread: starting threads would
/// cost more than it saves.
pub const PARALLEL_FROM_PROCESSES: usize = 20_000;

fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `f` applied to each item, in order; on several threads when `work` (processes to scan)
/// is large enough, each taking a contiguous run of items.
pub fn map<T: Sync, R: Send>(items: &[T], work: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores().min(items.len());
    if threads <= 1 || work < PARALLEL_FROM_PROCESSES {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a query thread does not panic"))
            .collect()
    })
}
