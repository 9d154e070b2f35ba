//! Errors of parsing and converting YAML.
//!
//! Every variant that concerns a place in the source carries its 1-based
//! line and column, so callers can name the file and the spot.

/// An error reading YAML or converting it to JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not well-formed YAML.
    #[error("yaml: line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A line starting with `---` holds more than the document marker and a
    /// comment (kyaml refuses such a stream).
    #[error("yaml: line {line}: invalid document separator: {separator}")]
    BadSeparator { line: usize, separator: String },
    /// The input is larger than [`crate::Limits::max_bytes`].
    #[error("yaml: input is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// Collections nest deeper than [`crate::Limits::max_depth`].
    #[error("yaml: line {line}, column {column}: nesting deeper than the limit of {limit}")]
    TooDeep {
        line: usize,
        column: usize,
        limit: usize,
    },
    /// Expanding aliases would create more nodes than
    /// [`crate::Limits::max_alias_expansion`] allows.
    #[error(
        "yaml: line {line}, column {column}: expanding aliases exceeds the limit of {limit} nodes"
    )]
    AliasExpansion {
        line: usize,
        column: usize,
        limit: usize,
    },
    /// An alias names an anchor that is not defined before it.
    #[error("yaml: line {line}, column {column}: unknown anchor")]
    UnknownAnchor { line: usize, column: usize },
    /// A mapping defines the same key twice.
    #[error("yaml: line {line}: mapping key {key:?} already defined at line {first_line}")]
    DuplicateKey {
        line: usize,
        column: usize,
        key: String,
        first_line: usize,
    },
    /// A mapping key is not a string (JSON objects only have string keys).
    #[error("yaml: line {line}, column {column}: mapping key {key:?} is not a string")]
    NonStringKey {
        line: usize,
        column: usize,
        key: String,
    },
    /// A value JSON cannot represent (`.inf`, `.nan`).
    #[error("yaml: line {line}, column {column}: json: unsupported value: {value}")]
    UnsupportedValue {
        line: usize,
        column: usize,
        value: String,
    },
    /// A scalar cannot be decoded as the type its explicit tag asks for.
    #[error("yaml: line {line}, column {column}: cannot decode {text:?} as a {tag}")]
    BadTaggedValue {
        line: usize,
        column: usize,
        text: String,
        tag: String,
    },
    /// A string holds a character go-yaml refuses to read back (DEL, C1
    /// controls other than NEL, U+FFFE, U+FFFF); kustomize fails to print it.
    #[error("yaml: line {line}, column {column}: control characters are not allowed")]
    ControlCharacter { line: usize, column: usize },
    /// A mapping key holds NEL (U+0085): go-yaml v2 reads it back as a line
    /// break inside a flow key, so kustomize fails to print it.
    #[error("yaml: line {line}, column {column}: mapping key {key:?} holds a NEL line break")]
    LineBreakInKey {
        line: usize,
        column: usize,
        key: String,
    },
    /// A merge key (`<<`) whose value is not a mapping or a sequence of mappings.
    #[error(
        "yaml: line {line}, column {column}: map merge requires map or sequence of maps as the value"
    )]
    BadMerge { line: usize, column: usize },
}

impl Error {
    /// The 1-based line the error points at, when it points at one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::TooLarge { .. } => None,
            Error::BadSeparator { line, .. } => Some(*line),
            Error::Syntax { line, .. }
            | Error::TooDeep { line, .. }
            | Error::AliasExpansion { line, .. }
            | Error::UnknownAnchor { line, .. }
            | Error::DuplicateKey { line, .. }
            | Error::NonStringKey { line, .. }
            | Error::UnsupportedValue { line, .. }
            | Error::BadTaggedValue { line, .. }
            | Error::ControlCharacter { line, .. }
            | Error::LineBreakInKey { line, .. }
            | Error::BadMerge { line, .. } => Some(*line),
        }
    }

    /// The 1-based column the error points at, when it points at one.
    pub fn column(&self) -> Option<usize> {
        match self {
            Error::TooLarge { .. } | Error::BadSeparator { .. } => None,
            Error::Syntax { column, .. }
            | Error::TooDeep { column, .. }
            | Error::AliasExpansion { column, .. }
            | Error::UnknownAnchor { column, .. }
            | Error::DuplicateKey { column, .. }
            | Error::NonStringKey { column, .. }
            | Error::UnsupportedValue { column, .. }
            | Error::BadTaggedValue { column, .. }
            | Error::ControlCharacter { column, .. }
            | Error::LineBreakInKey { column, .. }
            | Error::BadMerge { column, .. } => Some(*column),
        }
    }
}
