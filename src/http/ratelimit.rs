//! The per-client rate limit on new parameter sets: the peer address of the connection a
//! request came on (set by the server's accept loop for the whole request) and a token bucket
//! per address.
//!
//! Inputs: the configured rate and burst, the peer address. Outputs: a yes, or the seconds
//! until a new set is allowed. Must not depend on the state or the handler modules (the state
//! holds one `RateLimit`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

tokio::task_local! {
    /// The address of the client whose request is being answered (set by the server loop for
    /// the whole request; absent in-process, where no rate limit applies).
    pub(crate) static PEER: IpAddr;
}

/// The client address of the request being answered, when it came over a socket.
pub(crate) fn peer() -> Option<IpAddr> {
    PEER.try_with(|p| *p).ok()
}

/// Client addresses tracked at once; past it the buckets that are full again are forgotten
/// (a full bucket is the same as no entry), so a scan of many addresses cannot grow the table
/// without bound.
const MAX_TRACKED: usize = 10_000;

/// A token bucket per client address: `burst` new parameter sets at once, then `per_minute`.
/// Hand-written rather than `governor`: the whole need is a map of (tokens, time) pairs with a
/// bounded size, about forty lines, against a crate with its own clock and hashing stack.
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimit {
    /// `per_minute` sets a minute after a first `burst`; `per_minute` 0 means no limit.
    pub(crate) fn new(per_minute: u64, burst: u64) -> RateLimit {
        RateLimit {
            per_s: per_minute as f64 / 60.0,
            burst: burst.max(1) as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`: `Ok` when allowed, else `Err(seconds)` until the next token.
    pub(crate) fn take(&self, ip: IpAddr) -> Result<(), u64> {
        if self.per_s <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let (per_s, burst) = (self.per_s, self.burst);
            buckets.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * per_s < burst);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        let refilled =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_s).min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            // Whole seconds until one token, at least 1.
            Err(((1.0 - refilled) / self.per_s).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_while_another_client_has_its_own_bucket() {
        let limit = RateLimit::new(6, 3);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..3 {
            assert_eq!(limit.take(a), Ok(()));
        }
        let wait = limit.take(a).expect_err("past the burst");
        assert!(
            (1..=10).contains(&wait),
            "one token in 10 s at 6/min, got {wait}"
        );
        assert_eq!(limit.take(b), Ok(()), "b is not limited by a's flood");
    }

    #[test]
    fn no_rate_means_no_limit() {
        let limit = RateLimit::new(0, 1);
        let a: IpAddr = [127, 0, 0, 1].into();
        assert!((0..100).all(|_| limit.take(a).is_ok()));
    }
}
