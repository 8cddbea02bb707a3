//! When the hashing pool's spare threads may work: only while the rest of the server is nearly
//! idle. The pool's first thread always hashes; the others take a job only while the process's
//! CPU time outside the hashing threads stayed under a quarter of the machine's cores over the
//! last sample. A password load alone needs far less there (the HTTP exchange, the database
//! round trips and the token's signature, about a tenth of the hashing's time), so it gets
//! every core; beside token verification it gets one thread at the lowest priority. On a
//! machine whose cores share execution units (SMT siblings) a low-priority thread still slows
//! its sibling, which priority alone cannot prevent (measured in docs/benchmarks.md).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rest of the server busier than this share of the machine's cores: the spare threads
/// stand aside.
const BUSY_SHARE: f64 = 0.25;
/// How long one verdict stands, and how long a spare thread standing aside waits to look again.
pub const SAMPLE: Duration = Duration::from_millis(50);

/// Measures the process's CPU time outside the hashing threads.
pub struct Activity {
    /// The CPU clocks of the hashing threads, whose time is not "the rest".
    hashing: Mutex<Vec<libc::clockid_t>>,
    /// CPU time of the rest per unit of wall time above which it is busy.
    busy_above: f64,
    last: Mutex<Sample>,
}

struct Sample {
    at: Instant,
    process_ns: u64,
    hashing_ns: u64,
    busy: bool,
}

impl Activity {
    pub fn new(cores: usize) -> Self {
        Activity {
            hashing: Mutex::new(Vec::new()),
            busy_above: BUSY_SHARE * cores as f64,
            last: Mutex::new(Sample {
                at: Instant::now(),
                process_ns: cpu_ns(libc::CLOCK_PROCESS_CPUTIME_ID),
                hashing_ns: 0,
                busy: false,
            }),
        }
    }

    /// Called once by each hashing thread: its CPU time no longer counts as the rest's.
    pub fn register_current_thread(&self) {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: pthread_getcpuclockid(3) writes one clock id for the calling thread, which
        // lives as long as the pool (the clock of an exited thread reads as an error, counted
        // as zero).
        let found = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        if found == 0 {
            if let Ok(mut clocks) = self.hashing.lock() {
                clocks.push(clock);
            }
        }
    }

    /// Whether the rest of the server used more than `BUSY_SHARE` of the cores over the last
    /// sample (at most `SAMPLE` old).
    pub fn others_busy(&self) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return false;
        };
        let wall = last.at.elapsed();
        if wall < SAMPLE {
            return last.busy;
        }
        let process_ns = cpu_ns(libc::CLOCK_PROCESS_CPUTIME_ID);
        let hashing_ns = self
            .hashing
            .lock()
            .map(|clocks| clocks.iter().map(|&clock| cpu_ns(clock)).sum())
            .unwrap_or(0);
        let others_ns = process_ns
            .saturating_sub(last.process_ns)
            .saturating_sub(hashing_ns.saturating_sub(last.hashing_ns));
        *last = Sample {
            at: Instant::now(),
            process_ns,
            hashing_ns,
            busy: others_ns as f64 > self.busy_above * wall.as_nanos() as f64,
        };
        last.busy
    }
}

/// A CPU-time clock's reading in nanoseconds; 0 when it cannot be read.
fn cpu_ns(clock: libc::clockid_t) -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime(2) writes one timespec.
    if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
        return 0;
    }
    (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread outside the pool spinning for a few samples makes the rest of a one-core
    /// server busy. (That an idle process reads as not busy is not checked here: the other
    /// tests share this process and its CPU clock.)
    #[test]
    fn a_busy_thread_outside_the_pool_is_seen() {
        let activity = Activity::new(1);
        activity.register_current_thread();
        let spinner = std::thread::spawn(|| {
            let until = Instant::now() + 6 * SAMPLE;
            let mut spins = 0u64;
            while Instant::now() < until {
                spins = spins.wrapping_add(1);
            }
            spins
        });
        let mut seen = false;
        while !spinner.is_finished() {
            std::thread::sleep(SAMPLE / 5);
            seen |= activity.others_busy();
        }
        spinner.join().unwrap();
        assert!(
            seen,
            "a thread spinning for {:?} went unnoticed",
            6 * SAMPLE
        );
    }
}
