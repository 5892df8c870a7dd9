//! From declared families to the protobuf families the text encoder writes, without a metric
//! vector per render: [`Descriptors`] builds each family's HELP and label order once at start,
//! and a [`Scrape`] collects one render's samples and orders them as Prometheus' own registry
//! does (families by name, samples by label values), which the golden exposition pins.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

use super::families::{FAMILIES, Family, Kind, Origin, STUCK_AFTER};

/// One family as described once: its HELP and its label names sorted, with where each sorted
/// name stands in the declared order.
struct Descriptor {
    help: String,
    kind: Kind,
    names: Vec<&'static str>,
    order: Vec<usize>,
}

/// Every family's descriptor, by name.
pub(crate) struct Descriptors {
    by_name: HashMap<&'static str, Descriptor>,
}

impl Descriptors {
    /// `source` ends the HELP of families read from the table; `stuck_after` fills the
    /// threshold in the HELP texts that name it.
    pub(crate) fn new(source: &str, stuck_after: Duration) -> Descriptors {
        let threshold = humantime::format_duration(stuck_after).to_string();
        let by_name = FAMILIES
            .iter()
            .map(|f| (f.name, describe(f, source, &threshold)))
            .collect();
        Descriptors { by_name }
    }
}

fn describe(f: &Family, source: &str, threshold: &str) -> Descriptor {
    let mut help = f.help.replace(STUCK_AFTER, threshold);
    if f.origin == Origin::Table {
        help = format!("{help} {source}");
    }
    let mut order: Vec<usize> = (0..f.labels.len()).collect();
    order.sort_by_key(|&i| f.labels[i]);
    Descriptor {
        help,
        kind: f.kind,
        names: order.iter().map(|&i| f.labels[i]).collect(),
        order,
    }
}

/// A histogram's sample: cumulative counts per upper bound (`+Inf` is `count`), and the sum.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramSample {
    pub(crate) buckets: Vec<(f64, u64)>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

/// One sample's value.
#[derive(Debug, Clone, PartialEq)]
enum Sample {
    Value(f64),
    Histogram(HistogramSample),
}

/// The samples of one render; only families given a value are exposed.
pub(crate) struct Scrape<'a> {
    descriptors: &'a Descriptors,
    /// Per family, label values in sorted-name order to the value.
    filled: BTreeMap<&'static str, BTreeMap<Vec<String>, Sample>>,
}

impl<'a> Scrape<'a> {
    pub(crate) fn new(descriptors: &'a Descriptors) -> Scrape<'a> {
        Scrape {
            descriptors,
            filled: BTreeMap::new(),
        }
    }

    /// Sets (gauge) or adds to (counter) the sample of `family` with `labels`, given in the
    /// family's declared label order.
    pub(crate) fn set(&mut self, family: &'static Family, labels: &[&str], value: f64) {
        let Some((kind, sample)) = self.sample(family, labels) else {
            return;
        };
        match (kind, sample) {
            (Kind::Counter, Sample::Value(v)) => *v += value,
            (_, sample) => *sample = Sample::Value(value),
        }
    }

    /// Sets the histogram sample of `family` with `labels` (declared order).
    pub(crate) fn set_histogram(
        &mut self,
        family: &'static Family,
        labels: &[&str],
        value: HistogramSample,
    ) {
        if let Some((_, sample)) = self.sample(family, labels) {
            *sample = Sample::Histogram(value);
        }
    }

    fn sample(&mut self, family: &'static Family, labels: &[&str]) -> Option<(Kind, &mut Sample)> {
        let Some(d) = self.descriptors.by_name.get(family.name) else {
            tracing::error!(family = family.name, "family not declared in FAMILIES");
            return None;
        };
        let key: Vec<String> = d.order.iter().map(|&i| labels[i].to_owned()).collect();
        let sample = self
            .filled
            .entry(family.name)
            .or_default()
            .entry(key)
            .or_insert(Sample::Value(0.0));
        Some((d.kind, sample))
    }

    /// The families filled, by name, each sample in label-value order.
    pub(crate) fn families(self) -> Vec<MetricFamily> {
        let descriptors = self.descriptors;
        self.filled
            .into_iter()
            .filter_map(|(name, samples)| {
                let d = descriptors.by_name.get(name)?;
                Some(family(name, d, samples))
            })
            .collect()
    }
}

fn family(name: &str, d: &Descriptor, samples: BTreeMap<Vec<String>, Sample>) -> MetricFamily {
    let mut mf = MetricFamily::default();
    mf.set_name(name.to_owned());
    mf.set_help(d.help.clone());
    mf.set_field_type(match d.kind {
        Kind::Gauge => MetricType::GAUGE,
        Kind::Counter => MetricType::COUNTER,
        Kind::Histogram => MetricType::HISTOGRAM,
    });
    let metrics = samples
        .into_iter()
        .map(|(values, value)| sample(d, values, value))
        .collect();
    mf.set_metric(metrics);
    mf
}

fn sample(d: &Descriptor, values: Vec<String>, value: Sample) -> Metric {
    let labels = d
        .names
        .iter()
        .zip(values)
        .map(|(name, value)| {
            let mut pair = LabelPair::default();
            pair.set_name((*name).to_owned());
            pair.set_value(value);
            pair
        })
        .collect();
    let mut m = Metric::default();
    m.set_label(labels);
    match (d.kind, value) {
        (Kind::Histogram, Sample::Histogram(h)) => m.set_histogram(histogram(h)),
        (Kind::Counter, Sample::Value(v)) => {
            let mut c = Counter::default();
            c.set_value(v);
            m.set_counter(c);
        }
        (_, Sample::Value(v)) => {
            let mut g = Gauge::default();
            g.set_value(v);
            m.set_gauge(g);
        }
        (_, Sample::Histogram(h)) => {
            tracing::error!(
                count = h.count,
                "a histogram given to a family of another type"
            );
        }
    }
    m
}

fn histogram(h: HistogramSample) -> Histogram {
    let mut out = Histogram::default();
    out.set_sample_count(h.count);
    out.set_sample_sum(h.sum);
    let buckets = h
        .buckets
        .into_iter()
        .map(|(upper, cumulative)| {
            let mut b = Bucket::default();
            b.set_upper_bound(upper);
            b.set_cumulative_count(cumulative);
            b
        })
        .collect();
    out.set_bucket(buckets);
    out
}
