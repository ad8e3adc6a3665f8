//! Averaging one process life's samples into fewer points, as documented on
//! [`crate::ProcessSampleQuery::max_points`]. Backend-independent, so every backend answers the
//! same way.

use crate::ProcessSample;

/// Averages `samples`, sorted by time, into at most `max_points` points over equal time
/// buckets spanning the first to the last sample; returns them unchanged when there are no
/// more than `max_points`.
pub(crate) fn downsample(samples: Vec<ProcessSample>, max_points: usize) -> Vec<ProcessSample> {
    if samples.len() <= max_points {
        return samples;
    }
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return samples;
    };
    if max_points == 0 {
        return Vec::new();
    }
    // i128 so that no span between two i64 times overflows.
    let first = i128::from(first.ts_ms);
    let span = i128::from(last.ts_ms) - first + 1;
    let width = (span + max_points as i128 - 1) / max_points as i128;
    let start_of = |index: i128| -> i64 {
        // The bucket holds a sample, so its start lies between the first sample's time and it.
        i64::try_from(first + index * width).expect("a bucket starts within the samples' span")
    };
    let mut points = Vec::with_capacity(max_points);
    let mut current: Option<(i128, Bucket)> = None;
    for sample in &samples {
        let index = (i128::from(sample.ts_ms) - first) / width;
        match &mut current {
            Some((i, bucket)) if *i == index => bucket.add(sample),
            _ => {
                if let Some((i, bucket)) = current.take() {
                    points.push(bucket.average(start_of(i)));
                }
                let mut bucket = Bucket::default();
                bucket.add(sample);
                current = Some((index, bucket));
            }
        }
    }
    if let Some((i, bucket)) = current {
        points.push(bucket.average(start_of(i)));
    }
    points
}

/// Sums of the samples in one bucket.
#[derive(Default)]
struct Bucket {
    count: u64,
    cpu_total_pct: f64,
    cpu_user_pct: f64,
    cpu_system_pct: f64,
    rss: u128,
    vms: u128,
    threads: i64,
    open_fds: Readable,
    io_read_bytes_rate: Readable,
    io_write_bytes_rate: Readable,
    io_read_ops_rate: Readable,
    io_write_ops_rate: Readable,
}

impl Bucket {
    fn add(&mut self, s: &ProcessSample) {
        self.count += 1;
        self.cpu_total_pct += f64::from(s.cpu_total_pct);
        self.cpu_user_pct += f64::from(s.cpu_user_pct);
        self.cpu_system_pct += f64::from(s.cpu_system_pct);
        self.rss += u128::from(s.rss);
        self.vms += u128::from(s.vms);
        self.threads += i64::from(s.threads);
        self.open_fds.add(f64::from(s.open_fds));
        self.io_read_bytes_rate.add(f64::from(s.io_read_bytes_rate));
        self.io_write_bytes_rate.add(f64::from(s.io_write_bytes_rate));
        self.io_read_ops_rate.add(f64::from(s.io_read_ops_rate));
        self.io_write_ops_rate.add(f64::from(s.io_write_ops_rate));
    }

    fn average(&self, ts_ms: i64) -> ProcessSample {
        let n = self.count.max(1);
        let mean = |sum: f64| (sum / n as f64) as f32;
        // Rounded to the nearest integer; the mean of u64 values fits a u64.
        let mean_u64 = |sum: u128| ((sum + u128::from(n) / 2) / u128::from(n)) as u64;
        ProcessSample {
            ts_ms,
            cpu_total_pct: mean(self.cpu_total_pct),
            cpu_user_pct: mean(self.cpu_user_pct),
            cpu_system_pct: mean(self.cpu_system_pct),
            rss: mean_u64(self.rss),
            vms: mean_u64(self.vms),
            threads: (self.threads as f64 / n as f64).round() as i32,
            open_fds: self.open_fds.mean().round() as i32,
            io_read_bytes_rate: self.io_read_bytes_rate.mean() as f32,
            io_write_bytes_rate: self.io_write_bytes_rate.mean() as f32,
            io_read_ops_rate: self.io_read_ops_rate.mean() as f32,
            io_write_ops_rate: self.io_write_ops_rate.mean() as f32,
        }
    }
}

/// The sum of a field's readable (non-negative) values in a bucket.
#[derive(Default)]
struct Readable {
    sum: f64,
    count: u64,
}

impl Readable {
    fn add(&mut self, value: f64) {
        if value >= 0.0 {
            self.sum += value;
            self.count += 1;
        }
    }

    /// The mean of the readable values, or -1 when there were none.
    fn mean(&self) -> f64 {
        if self.count == 0 {
            -1.0
        } else {
            self.sum / self.count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts_ms: i64, cpu: f32, rss: u64, fds: i32, io: f32) -> ProcessSample {
        ProcessSample {
            ts_ms,
            cpu_total_pct: cpu,
            cpu_user_pct: cpu / 2.0,
            cpu_system_pct: cpu / 2.0,
            rss,
            vms: rss * 2,
            threads: 1,
            open_fds: fds,
            io_read_bytes_rate: io,
            io_write_bytes_rate: io,
            io_read_ops_rate: io,
            io_write_ops_rate: io,
        }
    }

    #[test]
    fn few_samples_are_returned_unchanged() {
        let samples = vec![sample(0, 1.0, 1, 1, 1.0), sample(10, 2.0, 2, 2, 2.0)];
        assert_eq!(downsample(samples.clone(), 2), samples);
        assert_eq!(downsample(samples.clone(), 5), samples);
        assert_eq!(downsample(samples, 0), []);
        assert_eq!(downsample(Vec::new(), 0), []);
    }

    #[test]
    fn buckets_are_equal_spans_of_time_starting_at_the_first_sample() {
        // Times 100..=190 every 10 ms: a 91 ms span in 3 buckets of 31 ms starting at 100,
        // 131 and 162.
        let samples: Vec<_> = (0..10)
            .map(|i| sample(100 + i * 10, i as f32, i as u64, 1, 1.0))
            .collect();
        let points = downsample(samples, 3);
        let summary: Vec<_> = points.iter().map(|p| (p.ts_ms, p.cpu_total_pct, p.rss)).collect();
        // 100,110,120,130 | 140,150,160 | 170,180,190
        assert_eq!(summary, [(100, 1.5, 2), (131, 5.0, 5), (162, 8.0, 8)]);
        assert_eq!(points[0].vms, 3, "the mean of 0,2,4,6 is 3");
        assert_eq!(points[0].cpu_user_pct, 0.75);
    }

    #[test]
    fn unreadable_values_are_left_out_of_averages_and_kept_when_all_are_unreadable() {
        let samples = vec![
            sample(0, 0.0, 0, -1, -1.0),
            sample(1, 0.0, 0, 4, 10.0),
            sample(2, 0.0, 0, 6, 20.0),
            sample(10, 0.0, 0, -1, -1.0),
            sample(11, 0.0, 0, -1, -1.0),
        ];
        let points = downsample(samples, 2);
        assert_eq!(points.len(), 2);
        assert_eq!((points[0].open_fds, points[0].io_read_bytes_rate), (5, 15.0));
        assert_eq!(
            (points[1].ts_ms, points[1].open_fds, points[1].io_write_ops_rate),
            (6, -1, -1.0)
        );
    }

    #[test]
    fn empty_buckets_give_no_point() {
        let samples = vec![
            sample(0, 1.0, 1, 1, 1.0),
            sample(1, 3.0, 3, 1, 1.0),
            sample(99, 5.0, 5, 1, 1.0),
        ];
        let points = downsample(samples, 2);
        let summary: Vec<_> = points.iter().map(|p| (p.ts_ms, p.cpu_total_pct)).collect();
        assert_eq!(summary, [(0, 2.0), (50, 5.0)]);
        let extreme = vec![
            sample(i64::MIN, 1.0, 1, 1, 1.0),
            sample(0, 1.0, 1, 1, 1.0),
            sample(i64::MAX, 3.0, 3, 1, 1.0),
        ];
        assert_eq!(downsample(extreme, 1).len(), 1);
    }
}
