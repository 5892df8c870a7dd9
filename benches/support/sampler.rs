//! A process's resident memory and open file descriptors sampled over a run, and the slope of
//! each per hour (least squares), with the residuals' spread to judge it against.

use std::time::Instant;

/// Samples of one process: (seconds since start, RSS MiB, open fds).
pub struct Sampler {
    pid: u32,
    start: Instant,
    pub samples: Vec<(f64, f64, f64)>,
}

/// A fitted line: its slope per hour and the residuals' standard deviation.
pub struct Trend {
    pub per_hour: f64,
    pub noise: f64,
}

impl Sampler {
    pub fn new(pid: u32) -> Sampler {
        Sampler {
            pid,
            start: Instant::now(),
            samples: Vec::new(),
        }
    }

    /// Takes one sample now.
    pub fn sample(&mut self) {
        let (rss, _) = crate::memory::rss_mib(self.pid);
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|d| d.count())
            .unwrap_or(0);
        self.samples
            .push((self.start.elapsed().as_secs_f64(), rss, fds as f64));
    }

    /// The first and last sample taken at or after `from_s` seconds.
    pub fn ends(&self, from_s: f64) -> ((f64, f64), (f64, f64)) {
        let kept: Vec<_> = self.samples.iter().filter(|s| s.0 >= from_s).collect();
        let (first, last) = (kept[0], kept[kept.len() - 1]);
        ((first.1, first.2), (last.1, last.2))
    }

    /// The trend of memory (`which` 1) or descriptors (2) over samples at or after `from_s`.
    pub fn trend(&self, which: usize, from_s: f64) -> Trend {
        let pts: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|s| s.0 >= from_s)
            .map(|s| (s.0, if which == 1 { s.1 } else { s.2 }))
            .collect();
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let noise = (pts
            .iter()
            .map(|p| (p.1 - (my + slope * (p.0 - mx))).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        Trend {
            per_hour: slope * 3600.0,
            noise,
        }
    }
}
