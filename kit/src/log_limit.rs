//! Log lines a request can cause (a failed database call, a failed readiness check) are
//! limited per call site to a few a minute, so an unauthenticated client cannot multiply them
//! without bound; the next line after a quiet minute says how many were left out.

use std::sync::atomic::{AtomicU64, Ordering};

// The macro's own path to `tracing`, so a caller need not depend on it.
pub use tracing;

/// Lines per call site per minute.
const PER_MINUTE: u64 = 10;

/// The budget of one call site (see `limited!`).
pub struct LogLimit {
    minute: AtomicU64,
    written: AtomicU64,
    suppressed: AtomicU64,
}

impl LogLimit {
    #[allow(clippy::new_without_default)] // Only ever built in a `static`.
    pub const fn new() -> Self {
        LogLimit {
            minute: AtomicU64::new(0),
            written: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(left_out)` when a line may be written (with how many were left out since the last
    /// one), `None` when this minute's budget is spent. Races between threads can let a line
    /// more or less through, which is fine for logging.
    pub fn allow(&self, now_secs: u64) -> Option<u64> {
        let minute = now_secs / 60;
        let seen = self.minute.load(Ordering::Relaxed);
        if seen != minute
            && self
                .minute
                .compare_exchange(seen, minute, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.written.store(0, Ordering::Relaxed);
        }
        if self.written.fetch_add(1, Ordering::Relaxed) < PER_MINUTE {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// `tracing::<level>!` through a budget of its own call site; adds `suppressed` (how many
/// lines were left out before this one).
#[macro_export]
macro_rules! limited {
    ($level:ident, $($rest:tt)+) => {{
        static LIMIT: $crate::log_limit::LogLimit = $crate::log_limit::LogLimit::new();
        if let Some(suppressed) = LIMIT.allow($crate::unix_now()) {
            $crate::log_limit::tracing::$level!(suppressed, $($rest)+);
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::LogLimit;

    #[test]
    fn a_call_site_writes_a_few_lines_a_minute_and_counts_the_rest() {
        let limit = LogLimit::new();
        let allowed = (0..1000).filter(|_| limit.allow(120).is_some()).count();
        assert_eq!(allowed, 10);
        // The next minute starts afresh and reports what was left out.
        assert_eq!(limit.allow(180), Some(990));
        assert_eq!(limit.allow(181), Some(0));
    }
}
