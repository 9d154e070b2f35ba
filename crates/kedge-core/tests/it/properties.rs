//! Property tests: the hand-written name matchers agree with the regular
//! expressions apimachinery documents (checked with the `regex` crate as an
//! independent oracle), canonical label selectors parse back to themselves,
//! and field selector values survive escaping.

use std::sync::LazyLock;

use kedge_core::selector::{FieldSelector, LabelSelector, escape_field_value};
use kedge_core::validation;
use proptest::prelude::*;
use regex::Regex;

fn full(re: &str) -> Regex {
    Regex::new(&format!("^(?:{re})$")).expect("valid regex")
}

const SUBDOMAIN: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const QUALIFIED_NAME: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

static SUBDOMAIN_RE: LazyLock<Regex> = LazyLock::new(|| full(SUBDOMAIN));
static LABEL_RE: LazyLock<Regex> = LazyLock::new(|| full("[a-z0-9]([-a-z0-9]*[a-z0-9])?"));
static DNS1035_RE: LazyLock<Regex> = LazyLock::new(|| full("[a-z]([-a-z0-9]*[a-z0-9])?"));
static LABEL_VALUE_RE: LazyLock<Regex> = LazyLock::new(|| full(&format!("({QUALIFIED_NAME})?")));
static QUALIFIED_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| full(&format!("({SUBDOMAIN}/)?{QUALIFIED_NAME}")));

/// Strings over an alphabet that exercises every character class the rules
/// care about, biased towards short names.
fn name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-cA-C0-9._/%-]{0,12}").expect("valid strategy")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn dns1123_subdomain_matches_regex(s in name()) {
        prop_assert_eq!(validation::is_dns1123_subdomain(&s).is_empty(), SUBDOMAIN_RE.is_match(&s));
    }

    #[test]
    fn dns1123_label_matches_regex(s in name()) {
        prop_assert_eq!(validation::is_dns1123_label(&s).is_empty(), LABEL_RE.is_match(&s));
    }

    #[test]
    fn dns1035_label_matches_regex(s in name()) {
        prop_assert_eq!(validation::is_dns1035_label(&s).is_empty(), DNS1035_RE.is_match(&s));
    }

    #[test]
    fn label_value_matches_regex(s in name()) {
        prop_assert_eq!(validation::is_valid_label_value(&s).is_empty(), LABEL_VALUE_RE.is_match(&s));
    }

    #[test]
    fn qualified_name_matches_regex(s in name()) {
        prop_assert_eq!(validation::is_qualified_name(&s).is_empty(), QUALIFIED_NAME_RE.is_match(&s));
    }

    #[test]
    fn canonical_label_selectors_round_trip(
        reqs in proptest::collection::vec(
            (0usize..6, "[a-c]{1,3}", proptest::collection::vec("[x-z0-9]{0,2}", 1..3)),
            0..5,
        )
    ) {
        let parts: Vec<String> = reqs
            .iter()
            .map(|(op, key, values)| match op {
                0 => format!("{key}={}", values[0]),
                1 => format!("{key}!={}", values[0]),
                2 => format!("{key} in ({})", values.join(",")),
                3 => format!("{key} notin ({})", values.join(",")),
                4 => key.clone(),
                _ => format!("!{key}"),
            })
            .collect();
        let selector = LabelSelector::parse(&parts.join(","));
        prop_assert!(selector.is_ok(), "{:?}: {:?}", parts, selector);
        let selector = selector.unwrap();
        let again = LabelSelector::parse(&selector.to_string()).unwrap();
        prop_assert_eq!(&again, &selector);
        prop_assert_eq!(again.to_string(), selector.to_string());
    }

    #[test]
    fn field_values_survive_escaping(value in "[a-z,=\\\\ ]{0,10}") {
        let selector = FieldSelector::parse(&format!("f={}", escape_field_value(&value))).unwrap();
        prop_assert_eq!(&selector.requirements()[0].value, &value);
        let again = FieldSelector::parse(&selector.to_string()).unwrap();
        prop_assert_eq!(again, selector);
    }
}
