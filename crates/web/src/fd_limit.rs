//! The connection bound from the process's file-descriptor limit: the soft limit is raised to the
//! hard limit once (as Go's runtime does since 1.19), and the bound leaves room below it for
//! everything else the process opens (DynamoDB connections, files, the listeners).

/// Descriptors kept free for what is not a client connection, at most a quarter of the limit.
const RESERVED: u64 = 256;

/// Connections held at most whatever the limit: each one costs memory (its task, and the read
/// buffer of a half-sent head: about 20 KiB measured), so the bound also caps that near 80 MiB,
/// well inside the deployments' memory limit.
const CEILING: u64 = 4_096;

/// The file-descriptor limit as found and as raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FdLimit {
    /// The soft limit in force now (after raising).
    pub soft: u64,
    /// What it was before.
    pub was: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; the limit in force after. Where the limit
/// cannot be read, 1024 (the usual default) is assumed.
pub(crate) fn raise() -> FdLimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given, which lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return FdLimit {
            soft: 1024,
            was: 1024,
        };
    }
    let was = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given, which lives for the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    FdLimit {
        soft: as_u64(lim.rlim_cur),
        was: as_u64(was),
    }
}

/// `rlim_t` is `u64` on Linux; the conversion stays correct where it is not.
#[allow(clippy::useless_conversion)]
fn as_u64(v: libc::rlim_t) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The connections accepted at most under `limit` descriptors, and under `max_connections` when
/// the operator set one.
pub(crate) fn connection_bound(limit: u64, max_connections: Option<usize>) -> usize {
    let derived = limit
        .saturating_sub(RESERVED.min(limit / 4))
        .clamp(1, CEILING);
    let derived = usize::try_from(derived).unwrap_or(usize::MAX);
    max_connections.map_or(derived, |m| m.min(derived))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_leaves_room_below_the_limit() {
        assert_eq!(connection_bound(1024, None), 768);
        assert_eq!(connection_bound(20_000, None), 4_096);
        assert_eq!(connection_bound(1_048_576, None), 4_096);
        assert_eq!(connection_bound(100, None), 75);
        assert_eq!(connection_bound(0, None), 1);
    }

    #[test]
    fn max_connections_can_lower_the_bound_not_raise_it() {
        assert_eq!(connection_bound(1024, Some(64)), 64);
        assert_eq!(connection_bound(1024, Some(100_000)), 768);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let l = raise();
        assert!(l.soft >= l.was, "{l:?}");
    }
}
