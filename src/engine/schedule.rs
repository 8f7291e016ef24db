//! A level's per-period task list: what a period's work is (forward transforms, the
//! newest partition's and the history's multiply-accumulates, inverse transforms), in
//! pieces small enough to spread over the base blocks the period spans.

use super::plan;
use super::routing::Path;

/// One piece of a period's work.
#[derive(Debug, Clone, Copy)]
pub(super) enum Task {
    /// Forward FFT of one input's frozen window into the newest FDL slot.
    Fwd { input: usize },
    /// acc[out] += X_newest * H_0 over bins lo..hi.
    Mac0 { path: usize, lo: usize, hi: usize },
    /// Inverse FFT of acc[out] into the level's result; clears acc[out].
    Inv { output: usize },
    /// acc[out] += sum_{k>=1} X_age(k-1) * H_k over bins lo..hi (the next period's
    /// history).
    Hist { path: usize, lo: usize, hi: usize },
    /// `Hist` for two paths of one kernel with different inputs and outputs, in one sweep
    /// that reads the kernel once (the same bits as two `Hist` tasks).
    HistPair {
        a: usize,
        b: usize,
        lo: usize,
        hi: usize,
    },
}

/// Widest strip of bins in one history multiply-accumulate task. The strips of all paths are
/// taken in turn, so paths of one kernel that are not paired (they share an input or an
/// output) read a strip of its spectra from L2 rather than once more from memory.
const HIST_STRIP_BINS: usize = 2048;

/// The history multiply-accumulates' paths, in order, each grouped with a later path of the
/// same kernel that reads another input into another output (a mono IR on two channels),
/// so that one sweep reads the kernel for both.
fn pair_paths(paths: &[Path]) -> Vec<(usize, Option<usize>)> {
    let mut taken = vec![false; paths.len()];
    let mut groups = Vec::new();
    for a in 0..paths.len() {
        if taken[a] {
            continue;
        }
        let pa = paths[a];
        let b = (a + 1..paths.len()).find(|&b| {
            let pb = paths[b];
            !taken[b] && pb.ir == pa.ir && pb.input != pa.input && pb.output != pa.output
        });
        if let Some(b) = b {
            taken[b] = true;
        }
        groups.push((a, b));
    }
    groups
}

/// Build a level's per-period task list and spread it over `period_blocks` base blocks by
/// estimated cost.
pub(super) fn schedule(
    ic: usize,
    oc: usize,
    paths: &[Path],
    partitions: usize,
    bins: usize,
    fft_len: usize,
    period_blocks: usize,
) -> (Vec<Task>, Vec<(usize, usize)>) {
    let fft_cost =
        plan::FFT_NS_PER_POINT * fft_len as f64 * (fft_len as f64).log2() + plan::FFT_NS_CALL;
    let bin_cost = plan::CMAC_NS;
    let hist_parts = partitions.saturating_sub(1);
    let hist_total = paths.len() * hist_parts * bins;
    let total_est =
        (ic + oc) as f64 * fft_cost + (paths.len() * bins + hist_total) as f64 * bin_cost;
    // Chunk the history multiply-accumulates (in strips of 16 bins) so that no single task
    // is much more than one slot's share of the period's work.
    let per_slot_bins = (total_est / period_blocks as f64) / bin_cost / hist_parts.max(1) as f64;
    // At most HIST_STRIP_BINS, and the strips of all paths taken in turn: paths that share
    // a kernel (a mono IR on several channels) then read each strip of its spectra from
    // cache rather than once more from memory.
    let chunk = ((per_slot_bins as usize).div_ceil(16) * 16).clamp(16, HIST_STRIP_BINS);
    let mut tasks = Vec::new();
    let mut costs = Vec::new();
    for input in 0..ic {
        tasks.push(Task::Fwd { input });
        costs.push(fft_cost);
    }
    for path in 0..paths.len() {
        tasks.push(Task::Mac0 {
            path,
            lo: 0,
            hi: bins,
        });
        costs.push(bins as f64 * bin_cost);
    }
    for output in 0..oc {
        tasks.push(Task::Inv { output });
        costs.push(fft_cost);
    }
    let hist_groups = pair_paths(paths);
    if hist_parts > 0 {
        let mut lo = 0;
        while lo < bins {
            let hi = if bins - lo < chunk + 16 {
                bins
            } else {
                lo + chunk
            };
            for &(a, b) in &hist_groups {
                let (task, count) = match b {
                    Some(b) => (Task::HistPair { a, b, lo, hi }, 2),
                    None => (Task::Hist { path: a, lo, hi }, 1),
                };
                tasks.push(task);
                costs.push(((hi - lo) * hist_parts * count) as f64 * bin_cost);
            }
            lo = hi;
        }
    }
    let total: f64 = costs.iter().sum();
    let mut slot_of = Vec::with_capacity(tasks.len());
    let mut cum = 0.0;
    for c in &costs {
        // Place each task in the slot where the middle of its cost falls.
        let mid = cum + c * 0.5;
        let s = ((mid / total) * period_blocks as f64).floor() as usize;
        slot_of.push(s.min(period_blocks - 1));
        cum += c;
    }
    let mut ranges = Vec::with_capacity(period_blocks);
    let mut t = 0;
    for s in 0..period_blocks {
        let lo = t;
        while t < tasks.len() && slot_of[t] == s {
            t += 1;
        }
        ranges.push((lo, t));
    }
    debug_assert_eq!(t, tasks.len());
    (tasks, ranges)
}
