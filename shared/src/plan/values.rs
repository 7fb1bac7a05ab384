//! Small value types that parse at the edge, so the rest of Lifeboat never sees a malformed
//! Region, ARN or duration. Each carries its own JSON Schema so `lifeboat plan schema` and the
//! validator agree with the parser.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Implements `Deserialize` through `FromStr` and `Serialize` through `Display`, so every
/// newtype below has exactly one parser.
macro_rules! string_value {
    ($type:ty) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    };
}

/// An AWS Region name such as `us-east-2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

/// The shape of every commercial, GovCloud and China Region name (`us-east-2`,
/// `us-gov-west-1`, `ap-southeast-4`, `cn-north-1`).
pub const REGION_PATTERN: &str = "^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$";

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The partition a Region belongs to, for building ARNs and endpoint host names.
    pub fn partition(&self) -> &'static str {
        if self.0.starts_with("cn-") {
            "aws-cn"
        } else if self.0.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    /// The DNS suffix of the Region's public endpoints.
    pub fn dns_suffix(&self) -> &'static str {
        if self.0.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }
}

impl FromStr for Region {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // The shape of REGION_PATTERN: a two-letter area, one or more words, a number.
        let parts: Vec<&str> = text.split('-').collect();
        let well_formed = match parts.as_slice() {
            [area, words @ .., number] if !words.is_empty() => {
                area.len() == 2
                    && is_lower(area)
                    && words.iter().all(|w| !w.is_empty() && is_lower(w))
                    && (1..=2).contains(&number.len())
                    && number.chars().all(|c| c.is_ascii_digit())
            }
            _ => false,
        };
        if well_formed {
            Ok(Region(text.to_owned()))
        } else {
            Err(format!(
                "{text:?} is not an AWS Region name (like \"us-east-2\")"
            ))
        }
    }
}

fn is_lower(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_lowercase())
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_value!(Region);

impl JsonSchema for Region {
    fn schema_name() -> Cow<'static, str> {
        "Region".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": REGION_PATTERN,
            "description": "An AWS Region name, e.g. us-east-2"
        })
    }
}

/// An Amazon Resource Name, split into the parts Lifeboat checks (service, Region, account).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    text: String,
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The Region the resource lives in, if the ARN names one (IAM ARNs do not).
    pub fn region(&self) -> Option<Region> {
        self.region.parse().ok()
    }
}

impl FromStr for Arn {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, service, region, account, resource]
                if !partition.is_empty() && !service.is_empty() && !resource.is_empty() =>
            {
                Ok(Arn {
                    text: text.to_owned(),
                    partition: (*partition).to_owned(),
                    service: (*service).to_owned(),
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                    resource: (*resource).to_owned(),
                })
            }
            _ => Err(format!(
                "{text:?} is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"
            )),
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
string_value!(Arn);

impl JsonSchema for Arn {
    fn schema_name() -> Cow<'static, str> {
        "Arn".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:.+$",
            "description": "An Amazon Resource Name"
        })
    }
}

/// A span of time written the human way: `30s`, `5m`, `26h`, `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlanDuration(pub Duration);

impl FromStr for PlanDuration {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(text)
            .map(PlanDuration)
            .map_err(|e| format!("{text:?} is not a duration like \"30s\", \"5m\" or \"26h\": {e}"))
    }
}

impl fmt::Display for PlanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}
string_value!(PlanDuration);

impl JsonSchema for PlanDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]+ ?(ms|s|sec|m|min|h|hr|d|days?|w|weeks?) ?)+$",
            "description": "A duration such as \"30s\", \"5m\", \"26h\" or \"7d\""
        })
    }
}

/// How many of the failover alarms must be in ALARM: `"any"`, `"all"` or a number N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmRequirement {
    Any,
    All,
    AtLeast(u32),
}

impl<'de> Deserialize<'de> for AlarmRequirement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Count(u32),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Word(word) if word == "any" => Ok(AlarmRequirement::Any),
            Raw::Word(word) if word == "all" => Ok(AlarmRequirement::All),
            Raw::Word(word) => Err(serde::de::Error::custom(format!(
                "{word:?} is not \"any\", \"all\" or a number of alarms"
            ))),
            Raw::Count(count) => Ok(AlarmRequirement::AtLeast(count)),
        }
    }
}

impl Serialize for AlarmRequirement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AlarmRequirement::Any => serializer.serialize_str("any"),
            AlarmRequirement::All => serializer.serialize_str("all"),
            AlarmRequirement::AtLeast(n) => serializer.serialize_u32(*n),
        }
    }
}

impl JsonSchema for AlarmRequirement {
    fn schema_name() -> Cow<'static, str> {
        "AlarmRequirement".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "\"any\", \"all\" or how many of the alarms must be in ALARM",
            "oneOf": [
                { "type": "string", "enum": ["any", "all"] },
                { "type": "integer", "minimum": 1 }
            ]
        })
    }
}

/// The expected result of a SQL check: a comparison with a number, e.g. `">= 1"` or `"= 0"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expectation {
    pub comparison: Comparison,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    AtLeast,
    AtMost,
    MoreThan,
    LessThan,
    Equal,
    NotEqual,
}

impl Comparison {
    fn symbol(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
            Comparison::MoreThan => ">",
            Comparison::LessThan => "<",
            Comparison::Equal => "=",
            Comparison::NotEqual => "!=",
        }
    }
}

impl Expectation {
    pub fn holds_for(&self, actual: f64) -> bool {
        match self.comparison {
            Comparison::AtLeast => actual >= self.value,
            Comparison::AtMost => actual <= self.value,
            Comparison::MoreThan => actual > self.value,
            Comparison::LessThan => actual < self.value,
            Comparison::Equal => actual == self.value,
            Comparison::NotEqual => actual != self.value,
        }
    }
}

impl FromStr for Expectation {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        // Longest operators first, so ">=" is not read as ">" followed by "=1".
        let operators = [
            (">=", Comparison::AtLeast),
            ("<=", Comparison::AtMost),
            ("!=", Comparison::NotEqual),
            ("==", Comparison::Equal),
            (">", Comparison::MoreThan),
            ("<", Comparison::LessThan),
            ("=", Comparison::Equal),
        ];
        operators
            .iter()
            .find_map(|(symbol, comparison)| {
                let number = trimmed.strip_prefix(symbol)?.trim().parse::<f64>().ok()?;
                Some(Expectation {
                    comparison: *comparison,
                    value: number,
                })
            })
            .ok_or_else(|| {
                format!("{text:?} is not a comparison with a number, like \">= 1\" or \"= 0\"")
            })
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.comparison.symbol(), self.value)
    }
}
string_value!(Expectation);

impl JsonSchema for Expectation {
    fn schema_name() -> Cow<'static, str> {
        "Expectation".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^\\s*(>=|<=|!=|==|>|<|=)\\s*-?[0-9]+(\\.[0-9]+)?\\s*$",
            "description": "A comparison with a number, e.g. \">= 1\""
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_parse_and_junk_does_not() {
        for good in [
            "us-east-2",
            "us-gov-west-1",
            "ap-southeast-4",
            "cn-north-1",
            "eu-central-2",
        ] {
            assert_eq!(good.parse::<Region>().unwrap().as_str(), good);
        }
        for bad in ["", "us-east", "US-EAST-1", "us-east-1a", "useast1", "us--1"] {
            assert!(bad.parse::<Region>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn arn_parts_are_split_and_resource_keeps_its_colons() {
        let arn: Arn = "arn:aws:rds:us-west-2:111122223333:snapshot:rds:db-2026-11-25-03-10"
            .parse()
            .unwrap();
        assert_eq!(arn.service, "rds");
        assert_eq!(arn.region().unwrap().as_str(), "us-west-2");
        assert_eq!(arn.account, "111122223333");
        assert_eq!(arn.resource, "snapshot:rds:db-2026-11-25-03-10");
        assert!("arn:aws:kms".parse::<Arn>().is_err());
    }

    #[test]
    fn expectations_compare_like_they_read() {
        let at_least_one: Expectation = ">= 1".parse().unwrap();
        assert!(at_least_one.holds_for(1.0));
        assert!(!at_least_one.holds_for(0.0));
        let zero: Expectation = "=0".parse().unwrap();
        assert!(zero.holds_for(0.0) && !zero.holds_for(2.0));
        assert!("about 3".parse::<Expectation>().is_err());
    }

    #[test]
    fn durations_read_human_units() {
        let d: PlanDuration = "26h".parse().unwrap();
        assert_eq!(d.0, Duration::from_secs(26 * 3600));
        assert!("soon".parse::<PlanDuration>().is_err());
    }
}
