//! Label and annotation selectors of patch and replacement targets.
//! kustomize parses both with apimachinery's `labels.Parse` (annotation
//! selectors too, so their values must be valid label values), which
//! `kedge_core::selector` ports with the same grammar, validation and error
//! messages; this module only adapts it to the renderer's string maps and
//! error type.

use kedge_core::selector::Labels;

use crate::error::{Result, build_err};

/// A parsed selector.
#[derive(Debug, Clone)]
pub(crate) struct LabelSelector(kedge_core::selector::LabelSelector);

/// A resource's labels or annotations, in source order.
struct Pairs<'a>(&'a [(String, String)]);

impl Labels for Pairs<'_> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl LabelSelector {
    pub(crate) fn parse(s: &str) -> Result<LabelSelector> {
        kedge_core::selector::LabelSelector::parse(s)
            .map(LabelSelector)
            .map_err(|e| build_err(format!("unable to parse selector {s:?}: {e}")))
    }

    pub(crate) fn matches(&self, labels: &[(String, String)]) -> bool {
        self.0.matches(&Pairs(labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parses_and_matches() {
        let s = LabelSelector::parse("app in (a,b),tier!=x,!gone").unwrap();
        assert!(s.matches(&l(&[("app", "a")])));
        assert!(!s.matches(&l(&[("app", "c")])));
        assert!(!s.matches(&l(&[("app", "a"), ("gone", "1")])));
        assert!(!s.matches(&l(&[("app", "b"), ("tier", "x")])));
        let s = LabelSelector::parse("app=x").unwrap();
        assert!(s.matches(&l(&[("app", "x")])));
    }

    #[test]
    fn refuses_what_apimachinery_refuses() {
        // A value with a space is not a valid label value.
        let err = LabelSelector::parse("note=hello world").unwrap_err();
        assert!(err.to_string().contains("note=hello world"), "{err}");
        assert!(LabelSelector::parse("app in (a").is_err());
    }
}
