//! Points in time as the rest of the server sees them: milliseconds since the Unix epoch,
//! stored as BSON dates (so MongoDB's TTL indexes and range queries work on them) without any
//! caller outside `store/` knowing that.

use std::fmt;

use mongodb::bson::{Bson, DateTime};
use serde::{Deserialize, Serialize};

/// A moment, to the millisecond.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(DateTime);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(DateTime::now())
    }

    pub fn from_unix_millis(millis: i64) -> Timestamp {
        Timestamp(DateTime::from_millis(millis))
    }

    /// The moment a token's `exp` or `iat` (whole seconds) names.
    pub fn from_unix_secs(secs: u64) -> Timestamp {
        let millis = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        Timestamp::from_unix_millis(millis)
    }

    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Whole seconds since the epoch; `None` before it.
    pub fn unix_secs(self) -> Option<u64> {
        u64::try_from(self.unix_millis().div_euclid(1000)).ok()
    }

    /// This moment moved by `millis` (negative: earlier), saturating at the ends of time.
    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(self.unix_millis().saturating_add(millis))
    }

    /// RFC 3339 text, as every outside view shows times (`Z`, milliseconds).
    pub fn to_rfc3339(self) -> String {
        self.0.try_to_rfc3339_string().unwrap_or_default()
    }

    /// A time as an API caller writes one; `None` when it is not RFC 3339.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        DateTime::parse_rfc3339_str(text).ok().map(Timestamp)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// The stored form, for queries.
impl From<Timestamp> for Bson {
    fn from(at: Timestamp) -> Bson {
        Bson::DateTime(at.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn seconds_round_trip_and_text_is_rfc3339() {
        let at = Timestamp::from_unix_secs(1_700_000_000);
        assert_eq!(at.unix_secs(), Some(1_700_000_000));
        assert_eq!(at.to_rfc3339(), "2023-11-14T22:13:20Z");
        assert_eq!(Timestamp::parse_rfc3339("2023-11-14T22:13:20Z"), Some(at));
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
        assert_eq!(Timestamp::from_unix_millis(-1).unix_secs(), None);
        assert_eq!(at.plus_millis(1500).unix_millis(), 1_700_000_001_500);
    }
}
