//! Property tests of item decoding ([`decode`]): any attribute type and value under the schema's
//! names, random extra attributes, nesting to DynamoDB's 32 levels, absurd numbers and huge or odd
//! strings. Each item is generated together with what the decoder's contract (the module doc and
//! each reader's doc) says it must yield, so the properties check the exact record and reasons, not
//! only the absence of a panic; every decode must also return within a second, and a record read
//! without problems must round-trip through [`encode`]. `PROPTEST_CASES` raises the case count.

use std::time::{Duration, Instant, UNIX_EPOCH};

use aws_sdk_dynamodb::primitives::Blob;
use proptest::collection::{hash_map, vec};
use proptest::prelude::*;

use super::*;

/// The default case count: a few seconds in a debug build.
const CASES: u32 = 256;

/// What one decode may take at most.
const PER_ITEM: Duration = Duration::from_secs(1);

/// The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z).
const MAX_MILLIS: i64 = 253_402_300_799_999;

const KNOWN_NAMES: [&str; 11] = [
    attr::CUSTOMER,
    attr::SPACE,
    attr::STATUS,
    attr::TOTAL_UPLOADS,
    attr::COMPLETED_UPLOADS,
    attr::LAST_PROCESSED_UPLOAD,
    attr::INSTANCE_ID,
    attr::WORKER_ID,
    attr::ERROR,
    attr::CREATED_AT,
    attr::UPDATED_AT,
];

fn config() -> ProptestConfig {
    crate::proptest_cases::cases(CASES)
}

/// One attribute as generated (`None`: absent) and what the decoder must make of it: the value and
/// the reason it must record, if any.
#[derive(Debug, Clone)]
struct Field<T> {
    value: Option<AttributeValue>,
    expect: T,
    reason: Option<InvalidReason>,
}

fn field<T>(value: Option<AttributeValue>, expect: T, reason: Option<InvalidReason>) -> Field<T> {
    Field {
        value,
        expect,
        reason,
    }
}

/// Text of every kind: arbitrary Unicode, control characters, lone combining marks, byte-order
/// marks, replacement characters (what non-UTF-8 bytes become), empty, and up to 400 KB (an item's
/// size limit).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "\\PC{0,40}",
        1 => "[\\x00-\\x1f\\x7f\u{fffd}\u{feff}\u{202e}\u{301}]{0,16}",
        1 => Just(String::new()),
        1 => (0usize..=400_000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n / c.len_utf8())),
    ]
}

/// Number text as an `N` attribute may hold it, sane or not.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<u64>().prop_map(|n| n.to_string()),
        2 => (0..=MAX_UPLOADS).prop_map(|n| n.to_string()),
        // Around the bound, where an off-by-one or a missing check would show.
        1 => (MAX_UPLOADS - 3..=MAX_UPLOADS + 3).prop_map(|n| n.to_string()),
        1 => (MAX_UPLOADS..=MAX_UPLOADS * 1000).prop_map(|n| n.to_string()),
        2 => prop::sample::select(vec![
            "1e400", "-0", "0", "NaN", "nan", "Infinity", "-inf", "-1", "0.5", "1.0", " 7 ", "+5",
            "007", "", " ", "+", "-", "0x10", "1_000", "١٢٣", "1e3", "1E+2",
        ])
        .prop_map(str::to_owned),
        1 => "[1-9][0-9]{39}",
        1 => "-?[0-9]{1,40}(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,4})?",
        1 => "[0-9eE.+ -]{0,50}",
        1 => text(),
    ]
}

/// A value that is not a string, a number or NULL, nested up to `depth` lists and maps.
fn composite(depth: u32) -> BoxedStrategy<AttributeValue> {
    let leaf = prop_oneof![
        vec(any::<u8>(), 0..64).prop_map(|b| AttributeValue::B(Blob::new(b))),
        any::<bool>().prop_map(AttributeValue::Bool),
        vec(text(), 0..4).prop_map(AttributeValue::Ss),
        vec(number_text(), 0..4).prop_map(AttributeValue::Ns),
        vec(vec(any::<u8>(), 0..8).prop_map(Blob::new), 0..4).prop_map(AttributeValue::Bs),
        Just(AttributeValue::L(Vec::new())),
        Just(AttributeValue::M(HashMap::new())),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let inner = prop_oneof![
        2 => leaf.clone(),
        1 => text().prop_map(AttributeValue::S),
        1 => number_text().prop_map(AttributeValue::N),
        1 => Just(AttributeValue::Null(true)),
        1 => composite(depth - 1),
    ];
    prop_oneof![
        3 => leaf,
        1 => vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
        1 => hash_map(text(), inner, 0..4).prop_map(AttributeValue::M),
        1 => deep(),
    ]
    .boxed()
}

/// A single chain of lists and maps as deep as DynamoDB allows (32 levels).
fn deep() -> impl Strategy<Value = AttributeValue> {
    (1usize..=32, any::<u32>()).prop_map(|(depth, pattern)| {
        let mut v = AttributeValue::S("bottom".into());
        for level in 0..depth {
            v = if (pattern >> (level % 32)) & 1 == 0 {
                AttributeValue::L(vec![v])
            } else {
                AttributeValue::M(HashMap::from([("k".to_owned(), v)]))
            };
        }
        v
    })
}

fn mistyped() -> BoxedStrategy<AttributeValue> {
    composite(3)
}

fn null() -> Just<Option<AttributeValue>> {
    Just(Some(AttributeValue::Null(true)))
}

/// `customer` or `space`: only a string is a key part.
fn key_part() -> impl Strategy<Value = Field<String>> {
    let missing = || Some(InvalidReason::MissingKey);
    prop_oneof![
        4 => text().prop_map(|s| field(Some(AttributeValue::S(s.clone())), s, None)),
        1 => Just(field(None, String::new(), missing())),
        1 => null().prop_map(move |v| field(v, String::new(), missing())),
        1 => number_text().prop_map(move |n| field(Some(AttributeValue::N(n)), String::new(), missing())),
        1 => mistyped().prop_map(move |v| field(Some(v), String::new(), missing())),
    ]
}

fn status() -> impl Strategy<Value = Field<Status>> {
    let named = |s: String| {
        let known = Status::KNOWN.into_iter().find(|k| k.as_str() == s);
        let reason = known.is_none().then_some(InvalidReason::UnknownStatus);
        field(
            Some(AttributeValue::S(s)),
            known.unwrap_or(Status::Unknown),
            reason,
        )
    };
    let mistyped_as = |v: AttributeValue| {
        field(
            Some(v),
            Status::Unknown,
            Some(InvalidReason::MistypedAttribute),
        )
    };
    prop_oneof![
        4 => prop::sample::select(Status::KNOWN.to_vec()).prop_map(|s| s.as_str().to_owned()).prop_map(named),
        1 => prop::sample::select(vec!["unknown", "Pending", "in_progress", " failed", "done"])
            .prop_map(|s| s.to_owned()).prop_map(named),
        1 => text().prop_map(named),
        1 => Just(field(None, Status::Unknown, Some(InvalidReason::MissingStatus))),
        1 => null().prop_map(|v| field(v, Status::Unknown, Some(InvalidReason::MissingStatus))),
        1 => number_text().prop_map(AttributeValue::N).prop_map(mistyped_as),
        1 => mistyped().prop_map(mistyped_as),
    ]
}

/// What the contract says a count's text is: a non-negative integer (surrounding blanks and one
/// `+` tolerated, as Rust's integer parsing does) of at most [`MAX_UPLOADS`]. Computed here
/// digit by digit, independently of the decoder.
fn expected_count(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.bytes().fold(0u128, |acc, b| {
        (acc * 10 + u128::from(b - b'0')).min(u128::from(u64::MAX) + 1)
    });
    u64::try_from(value).ok().filter(|v| *v <= MAX_UPLOADS)
}

fn count() -> impl Strategy<Value = Field<u64>> {
    let mistyped_as = |v: AttributeValue| field(Some(v), 0, Some(InvalidReason::MistypedAttribute));
    prop_oneof![
        6 => number_text().prop_map(|n| match expected_count(&n) {
            Some(v) => field(Some(AttributeValue::N(n)), v, None),
            None => field(Some(AttributeValue::N(n)), 0, Some(InvalidReason::InvalidNumber)),
        }),
        1 => Just(field(None, 0, None)),
        1 => null().prop_map(|v| field(v, 0, None)),
        1 => text().prop_map(AttributeValue::S).prop_map(mistyped_as),
        1 => mistyped().prop_map(mistyped_as),
    ]
}

/// An optional text attribute; a number reads as its text.
fn optional_text() -> impl Strategy<Value = Field<Option<String>>> {
    prop_oneof![
        3 => text().prop_map(|s| field(Some(AttributeValue::S(s.clone())), Some(s), None)),
        1 => number_text().prop_map(|n| field(Some(AttributeValue::N(n.clone())), Some(n), None)),
        1 => Just(field(None, None, None)),
        1 => null().prop_map(|v| field(v, None, None)),
        1 => mistyped().prop_map(|v| field(Some(v), None, Some(InvalidReason::MistypedAttribute))),
    ]
}

/// Text that is not an RFC 3339 time.
fn not_a_time() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "last tuesday",
            "2025-10-31",
            "2025-10-31T15:15:23",
            "2025-13-01T00:00:00Z",
            "2025-10-32T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "2025-10-31T25:00:00Z",
            "1761923723000",
            "2025-10-31T15:15:23,000Z",
        ])
        .prop_map(str::to_owned),
        // No RFC 3339 time starts with anything but a digit.
        ("[a-zA-Z _:-]", text()).prop_map(|(a, b)| format!("{a}{b}")),
    ]
}

fn timestamp_attr() -> impl Strategy<Value = Field<Option<Timestamp>>> {
    let at = |ms: i64| Some(Timestamp::from_millis(ms));
    let system = |ms: i64, sub_ms: u32| {
        UNIX_EPOCH
            + Duration::from_millis(ms.unsigned_abs())
            + Duration::from_nanos(u64::from(sub_ms))
    };
    prop_oneof![
        3 => (0..=MAX_MILLIS).prop_map(move |ms| {
            let iso = humantime::format_rfc3339_millis(system(ms, 0)).to_string();
            field(Some(AttributeValue::S(iso)), at(ms), None)
        }),
        // Finer than a millisecond: truncated to the millisecond.
        1 => (0..=MAX_MILLIS, 0u32..1_000_000).prop_map(move |(ms, sub)| {
            let iso = humantime::format_rfc3339_nanos(system(ms, sub)).to_string();
            field(Some(AttributeValue::S(iso)), at(ms), None)
        }),
        1 => not_a_time().prop_map(|s| field(Some(AttributeValue::S(s)), None, Some(InvalidReason::InvalidTimestamp))),
        1 => Just(field(None, None, None)),
        1 => null().prop_map(|v| field(v, None, None)),
        1 => number_text().prop_map(AttributeValue::N)
            .prop_map(|v| field(Some(v), None, Some(InvalidReason::MistypedAttribute))),
        1 => mistyped().prop_map(|v| field(Some(v), None, Some(InvalidReason::MistypedAttribute))),
    ]
}

/// Attributes outside the schema, some named like schema attributes but not quite.
fn extras() -> impl Strategy<Value = HashMap<String, AttributeValue>> {
    let name = prop_oneof![
        text(),
        prop::sample::select(vec![
            "Status",
            "updatedat",
            " status",
            "space ",
            "UPDATED_AT",
            "_id"
        ])
        .prop_map(str::to_owned),
    ]
    .prop_filter("not a schema name", |n| !KNOWN_NAMES.contains(&n.as_str()));
    let value = prop_oneof![
        text().prop_map(AttributeValue::S),
        number_text().prop_map(AttributeValue::N),
        composite(4),
    ];
    hash_map(name, value, 0..6)
}

/// An item and the record the decoder must make of it.
#[derive(Debug, Clone)]
struct Case {
    item: Item,
    expected: SpaceProgress,
}

/// The record's attributes, generated with their expected readings.
#[derive(Debug, Clone)]
struct Fields {
    customer: Field<String>,
    space: Field<String>,
    status: Field<Status>,
    total: Field<u64>,
    completed: Field<u64>,
    texts: [Field<Option<String>>; 4],
    created: Field<Option<Timestamp>>,
    updated: Field<Option<Timestamp>>,
}

fn fields() -> impl Strategy<Value = Fields> {
    // Boxed: in a debug build the value trees of this many unions, inline, overflow the test
    // thread's stack.
    let text = || optional_text().boxed();
    (
        (key_part().boxed(), key_part().boxed(), status().boxed()),
        (count().boxed(), count().boxed()),
        [text(), text(), text(), text()],
        (timestamp_attr().boxed(), timestamp_attr().boxed()),
    )
        .prop_map(
            |((customer, space, status), (total, completed), texts, (created, updated))| Fields {
                customer,
                space,
                status,
                total,
                completed,
                texts,
                created,
                updated,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (fields().boxed(), extras().boxed()).prop_map(|(f, extras)| build_case(f, extras))
}

fn build_case(f: Fields, mut item: Item) -> Case {
    let mut problems = Problems::default();
    let mut put = |name: &str, value: &Option<AttributeValue>, reason: Option<InvalidReason>| {
        if let Some(v) = value {
            item.insert(name.to_owned(), v.clone());
        }
        if let Some(r) = reason {
            problems.insert(r);
        }
    };
    put(attr::CUSTOMER, &f.customer.value, f.customer.reason);
    put(attr::SPACE, &f.space.value, f.space.reason);
    put(attr::STATUS, &f.status.value, f.status.reason);
    put(attr::TOTAL_UPLOADS, &f.total.value, f.total.reason);
    put(
        attr::COMPLETED_UPLOADS,
        &f.completed.value,
        f.completed.reason,
    );
    let text_names = [
        attr::LAST_PROCESSED_UPLOAD,
        attr::INSTANCE_ID,
        attr::WORKER_ID,
        attr::ERROR,
    ];
    for (name, t) in text_names.into_iter().zip(&f.texts) {
        put(name, &t.value, t.reason);
    }
    put(attr::CREATED_AT, &f.created.value, f.created.reason);
    put(attr::UPDATED_AT, &f.updated.value, f.updated.reason);
    if f.completed.expect > f.total.expect {
        problems.insert(InvalidReason::CompletedExceedsTotal);
    }
    if matches!(f.updated.value, None | Some(AttributeValue::Null(_))) {
        problems.insert(InvalidReason::MissingUpdatedAt);
    }
    let [last, instance, worker, error] = f.texts.map(|t| t.expect);
    let expected = SpaceProgress {
        key: SpaceKey::new(f.customer.expect, f.space.expect),
        status: f.status.expect,
        total_uploads: f.total.expect,
        completed_uploads: f.completed.expect,
        last_processed_upload: last,
        instance_id: instance,
        worker_id: worker,
        error,
        created_at: f.created.expect,
        updated_at: f.updated.expect,
        problems,
    };
    Case { item, expected }
}

/// Decodes, failing the property if it takes longer than [`PER_ITEM`].
fn timed_decode(item: &Item) -> Result<SpaceProgress, TestCaseError> {
    let start = Instant::now();
    let p = decode(item);
    let took = start.elapsed();
    prop_assert!(took < PER_ITEM, "decode took {took:?}");
    Ok(p)
}

/// A record as the workers write it: known status, counts within bounds, an `updatedAt`.
fn valid_record() -> impl Strategy<Value = SpaceProgress> {
    let opt_text = || prop::option::of(text());
    (
        (text(), text(), prop::sample::select(Status::KNOWN.to_vec())),
        (0..=MAX_UPLOADS, any::<u64>()),
        (opt_text(), opt_text(), opt_text(), opt_text()),
        (prop::option::of(0..=MAX_MILLIS), 0..=MAX_MILLIS),
    )
        .prop_map(
            |(
                (customer, space, status),
                (total, c),
                (last, instance, worker, error),
                (created, updated),
            )| {
                SpaceProgress {
                    key: SpaceKey::new(customer, space),
                    status,
                    total_uploads: total,
                    completed_uploads: c % (total + 1),
                    last_processed_upload: last,
                    instance_id: instance,
                    worker_id: worker,
                    error,
                    created_at: created.map(Timestamp::from_millis),
                    updated_at: Some(Timestamp::from_millis(updated)),
                    problems: Problems::default(),
                }
            },
        )
}

proptest! {
    #![proptest_config(config())]

    /// The decoder never panics and yields exactly the record and reasons the contract gives for
    /// the generated attributes, ignoring attributes outside the schema; a record read without
    /// problems round-trips through `encode`.
    #[test]
    fn any_item_decodes_to_the_record_and_reasons_its_attributes_call_for(c in case()) {
        let p = timed_decode(&c.item)?;
        prop_assert_eq!(&p, &c.expected);
        if p.problems.is_empty() {
            prop_assert_eq!(timed_decode(&encode(&p))?, p);
        }
    }

    /// Whatever a schema attribute holds (any type, nested to 32 levels), the decoder returns in
    /// bounded time; a value of a type no reader accepts is a mistyped attribute (or, for a key
    /// part, a missing key).
    #[test]
    fn a_composite_value_under_any_schema_name_is_flagged_not_fatal(
        name in prop::sample::select(KNOWN_NAMES.to_vec()),
        value in composite(4),
        base in valid_record(),
    ) {
        let mut item = encode(&base);
        item.insert(name.to_owned(), value);
        let p = timed_decode(&item)?;
        let want = if name == attr::CUSTOMER || name == attr::SPACE {
            InvalidReason::MissingKey
        } else {
            InvalidReason::MistypedAttribute
        };
        prop_assert!(p.problems.contains(want), "{name}: {:?}", p.problems);
    }

    /// A record as the workers write it encodes and decodes to itself, with no problem.
    #[test]
    fn a_valid_record_round_trips_through_encode(p in valid_record()) {
        prop_assert_eq!(timed_decode(&encode(&p))?, p);
    }
}

/// The numbers the issue names, decoded as counts: each is refused with a reason, never a panic
/// or a wrapped value.
#[test]
fn absurd_counts_are_invalid_numbers() {
    for n in [
        "1e400",
        "-0",
        "NaN",
        "1234567890123456789012345678901234567890",
    ] {
        let item = Item::from([(attr::TOTAL_UPLOADS.to_owned(), AttributeValue::N(n.into()))]);
        let p = decode(&item);
        assert_eq!(p.total_uploads, 0, "{n}");
        assert!(p.problems.contains(InvalidReason::InvalidNumber), "{n}");
    }
}
