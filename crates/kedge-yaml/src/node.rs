//! The YAML node tree.
//!
//! Nodes keep what the source said: mapping entries in source order, the
//! scalar style, the explicit tag and the position. Aliases are already
//! expanded, so the tree is a plain value tree that owns all its data.

/// A position in the source: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub line: usize,
    pub column: usize,
}

/// How a scalar was written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// One YAML node with its explicit tag (if any) and its source position.
///
/// Tags of the YAML core schema are written in short form (`!!str`), local
/// tags as written (`!foo`), and others in full (`tag:example.com,2000:x`).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub tag: Option<String>,
    pub span: Span,
}

/// The content of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Scalar { text: String, style: ScalarStyle },
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this node is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Looks a key up in a mapping node by its scalar text.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Mapping(entries) => entries
                .iter()
                .find(|(k, _)| k.as_scalar() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether this is a plain scalar that resolves to null (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        match &self.value {
            NodeValue::Scalar {
                text,
                style: ScalarStyle::Plain,
            } => {
                self.tag.is_none() && matches!(crate::resolve_plain(text), crate::Resolved::Null)
                    || self.tag.as_deref() == Some("!!null")
            }
            _ => false,
        }
    }
}

/// Bounds that keep hostile input from exhausting time or memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most nodes that alias expansion may create in one stream.
    pub max_alias_expansion: usize,
    /// Most documents accepted in one stream.
    pub max_documents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 32 * 1024 * 1024,
            max_depth: 512,
            max_alias_expansion: 100_000,
            max_documents: 100_000,
        }
    }
}
