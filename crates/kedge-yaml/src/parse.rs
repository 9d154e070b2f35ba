//! Building the node tree from `saphyr-parser` events.
//!
//! The builder is iterative (an explicit stack of open collections), so deep
//! nesting cannot overflow the call stack; the depth limit is checked when a
//! collection opens, so a hostile input fails at the first node too deep.
//! Anchored nodes are remembered with their node count, and each alias is
//! charged that count against the expansion budget before it is copied, so an
//! alias bomb fails before it allocates. Duplicate scalar keys are reported
//! the way go-yaml v3 reports them.
//!
//! Reading follows kyaml rather than a bare YAML parser where the two differ:
//! CRLF line ends become LF and the text is split at document separator
//! lines first (`---`, optionally followed by a comment), and an empty plain scalar in
//! a flow collection is read as the empty string (kyaml writes resources out
//! with go-yaml v3, which prints it as `''`, before converting them). Two
//! spellings go-yaml accepts and saphyr-parser refuses (`key:<tab>value`,
//! the `\'` escape) are repaired and the part parsed again.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle as SaphyrStyle, Tag};

use crate::error::Error;
use crate::node::{Limits, Node, NodeValue, ScalarStyle, Span};

/// How deep saphyr-parser lets flow collections nest before it gives up.
const SAPHYR_FLOW_DEPTH: usize = 255;

/// Parses every document of a YAML stream into node trees, the way
/// kustomize reads resource files (kyaml's `ByteReader`).
///
/// Like kyaml, CRLF line ends become LF, then the text is split at every
/// line that starts with `---` (a separator may carry a comment, `--- # x`;
/// anything else after it is [`Error::BadSeparator`]) and each part
/// is parsed on its own (so a `%YAML` directive before the first `---` is an
/// error, as it is for kustomize). Empty documents (no content, or a plain
/// null) are dropped. Aliases are expanded within
/// [`Limits::max_alias_expansion`]; nesting is bounded by
/// [`Limits::max_depth`]; a mapping that defines a key twice is an error.
/// Positions in nodes and errors are relative to the whole text.
pub fn parse_stream(src: &str, limits: &Limits) -> Result<Vec<Node>, Error> {
    if src.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            size: src.len(),
            limit: limits.max_bytes,
        });
    }
    let mut builder = Builder {
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        expanded: 0,
        docs: Vec::new(),
        root: None,
        line_offset: 0,
    };
    // kyaml turns CRLF line ends into LF before anything else.
    let normalized;
    let src = if src.contains("\r\n") {
        normalized = src.replace("\r\n", "\n");
        normalized.as_str()
    } else {
        src
    };
    let mut rest = src;
    loop {
        let (chunk, next) = match find_separator(rest) {
            // The part keeps its final newline, as kyaml puts it back.
            Some((i, end)) => {
                let line = &rest[i + 1..end];
                let after = line[3..].trim_matches(GO_SPACE);
                if !after.is_empty() && !after.starts_with('#') {
                    return Err(Error::BadSeparator {
                        line: builder.line_offset + rest[..=i].matches('\n').count() + 1,
                        separator: line.trim_matches(GO_SPACE).to_string(),
                    });
                }
                (&rest[..=i], Some(&rest[end + 1..]))
            }
            None => (rest, None),
        };
        builder.parse_document(chunk)?;
        match next {
            Some(n) => {
                builder.line_offset += chunk.matches('\n').count() + 1;
                rest = n;
            }
            None => break,
        }
    }
    Ok(builder.docs)
}

/// The blanks Go's `strings.TrimSpace` removes (the ASCII ones; a
/// separator line is ASCII in practice).
const GO_SPACE: &[char] = &[' ', '\t', '\n', '\r', '\x0b', '\x0c'];

/// The next document separator the way kyaml finds them (the regular
/// expression `\n---.*\n`): a line starting with `---`, with a line break
/// before and after it. Returns the byte index of the break before the line
/// and of the break that ends it.
fn find_separator(text: &str) -> Option<(usize, usize)> {
    let i = text.find("\n---")?;
    let end = i + 4 + text[i + 4..].find('\n')?;
    Some((i, end))
}

enum Frame {
    Seq {
        flow: bool,
        items: Vec<Node>,
        tag: Option<String>,
        span: Span,
        anchor: usize,
        count: usize,
    },
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        /// Index of the scalar keys, built once the mapping grows large.
        seen: Option<HashMap<String, usize>>,
        tag: Option<String>,
        span: Span,
        anchor: usize,
        count: usize,
    },
}

struct Builder<'l> {
    limits: &'l Limits,
    stack: Vec<Frame>,
    /// Anchor id → (node, number of nodes in it).
    anchors: HashMap<usize, (Node, usize)>,
    expanded: usize,
    docs: Vec<Node>,
    root: Option<Node>,
    /// Lines of the text before the part being parsed.
    line_offset: usize,
}

fn tag_string(tag: Option<std::borrow::Cow<'_, Tag>>) -> Option<String> {
    let tag = tag?;
    Some(if tag.handle == "tag:yaml.org,2002:" {
        format!("!!{}", tag.suffix)
    } else if tag.handle == "!" {
        format!("!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    })
}

fn style(s: SaphyrStyle) -> ScalarStyle {
    match s {
        SaphyrStyle::Plain => ScalarStyle::Plain,
        SaphyrStyle::SingleQuoted => ScalarStyle::SingleQuoted,
        SaphyrStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
        SaphyrStyle::Literal => ScalarStyle::Literal,
        SaphyrStyle::Folded => ScalarStyle::Folded,
    }
}

impl Builder<'_> {
    /// Parses the documents of one part of the stream.
    ///
    /// Two things go-yaml accepts and saphyr-parser refuses are repaired and
    /// the part parsed again: a tab between `:` and a plain value
    /// (`key:\tvalue`; the tabs become spaces, same columns), and the `\'`
    /// escape in a double-quoted scalar (it becomes `\x27`).
    fn parse_document(&mut self, chunk: &str) -> Result<(), Error> {
        let (docs, expanded) = (self.docs.len(), self.expanded);
        let mut patched: Option<String> = None;
        for _ in 0..MAX_TAB_RETRIES {
            let text = patched.as_deref().unwrap_or(chunk);
            let Err((err, index)) = self.parse_part(text) else {
                return Ok(());
            };
            let repaired = match &err {
                Error::Syntax { message, .. }
                    if message.contains("must be followed by a valid") =>
                {
                    tab_separated_value(text, index).map(|range| {
                        let mut fixed = text.to_string();
                        fixed.replace_range(range.clone(), &" ".repeat(range.len()));
                        fixed
                    })
                }
                Error::Syntax { message, .. } if message.contains("unknown escape character") => {
                    escaped_single_quotes(text, index)
                }
                _ => None,
            };
            let Some(fixed) = repaired else {
                return Err(err);
            };
            patched = Some(fixed);
            self.docs.truncate(docs);
            self.expanded = expanded;
        }
        Err(Error::Syntax {
            line: self.line_offset + 1,
            column: 1,
            message: "too many repairs of tab-separated values or \\' escapes".to_string(),
        })
    }

    /// Parses one part; on error also returns the character index of it.
    fn parse_part(&mut self, chunk: &str) -> Result<(), (Error, usize)> {
        let limits = self.limits;
        let mut parser = Parser::new_from_str(chunk);
        self.stack.clear();
        self.root = None;
        while let Some(next) = parser.next_event() {
            let (event, span) = next.map_err(|e| {
                let index = e.marker().index();
                let (line, column) = (e.marker().line() + self.line_offset, e.marker().col() + 1);
                let err = if e.info() == "recursion limit exceeded" {
                    // saphyr-parser's own bound on flow nesting.
                    Error::TooDeep {
                        line,
                        column,
                        limit: SAPHYR_FLOW_DEPTH.min(limits.max_depth),
                    }
                } else {
                    Error::Syntax {
                        line,
                        column,
                        message: e.info().to_string(),
                    }
                };
                (err, index)
            })?;
            let at = Span {
                line: span.start.line() + self.line_offset,
                column: span.start.col() + 1,
            };
            // Flow collections start at their bracket; block ones at an
            // empty span.
            let flow = span.start.index() != span.end.index();
            if self.event(event, at, flow).map_err(|e| (e, 0))? {
                break;
            }
        }
        Ok(())
    }

    /// Handles one event; returns true at the end of the stream.
    fn event(&mut self, event: Event<'_>, at: Span, flow: bool) -> Result<bool, Error> {
        match event {
            Event::StreamEnd => return Ok(true),
            Event::Nothing | Event::StreamStart => {}
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.root = None;
            }
            Event::DocumentEnd => {
                if let Some(root) = self.root.take()
                    && !is_empty_document(&root)
                {
                    if self.docs.len() >= self.limits.max_documents {
                        return Err(Error::Syntax {
                            line: at.line,
                            column: at.column,
                            message: format!(
                                "more than {} documents in one stream",
                                self.limits.max_documents
                            ),
                        });
                    }
                    self.docs.push(root);
                }
            }
            Event::Alias(id) => {
                let Some((node, count)) = self.anchors.get(&id) else {
                    return Err(Error::UnknownAnchor {
                        line: at.line,
                        column: at.column,
                    });
                };
                let count = *count;
                self.expanded = self.expanded.saturating_add(count);
                if self.expanded > self.limits.max_alias_expansion {
                    return Err(Error::AliasExpansion {
                        line: at.line,
                        column: at.column,
                        limit: self.limits.max_alias_expansion,
                    });
                }
                let node = node.clone();
                self.finish(node, count, 0)?;
            }
            Event::Scalar(text, s, anchor, tag) => {
                let tag = tag_string(tag);
                let mut style = style(s);
                // kyaml writes a resource out with go-yaml v3 and reads it
                // again before converting it; v3 writes an empty plain
                // scalar inside a flow collection as '' (a string).
                if style == ScalarStyle::Plain
                    && text.is_empty()
                    && tag.is_none()
                    && matches!(
                        self.stack.last(),
                        Some(Frame::Seq { flow: true, .. } | Frame::Map { flow: true, .. })
                    )
                {
                    style = ScalarStyle::SingleQuoted;
                }
                let node = Node {
                    value: NodeValue::Scalar {
                        text: text.into_owned(),
                        style,
                    },
                    tag,
                    span: at,
                };
                self.finish(node, 1, anchor)?;
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_depth(at)?;
                self.stack.push(Frame::Seq {
                    flow,
                    items: Vec::new(),
                    tag: tag_string(tag),
                    span: at,
                    anchor,
                    count: 1,
                });
            }
            Event::MappingStart(anchor, tag) => {
                self.check_depth(at)?;
                self.stack.push(Frame::Map {
                    flow,
                    entries: Vec::new(),
                    key: None,
                    seen: None,
                    tag: tag_string(tag),
                    span: at,
                    anchor,
                    count: 1,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, count, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        tag,
                        span,
                        anchor,
                        count,
                        ..
                    }) => (
                        Node {
                            value: NodeValue::Sequence(items),
                            tag,
                            span,
                        },
                        count,
                        anchor,
                    ),
                    Some(Frame::Map {
                        entries,
                        tag,
                        span,
                        anchor,
                        count,
                        ..
                    }) => (
                        Node {
                            value: NodeValue::Mapping(entries),
                            tag,
                            span,
                        },
                        count,
                        anchor,
                    ),
                    None => {
                        return Err(Error::Syntax {
                            line: at.line,
                            column: at.column,
                            message: "unbalanced collection end".to_string(),
                        });
                    }
                };
                self.finish(node, count, anchor)?;
            }
        }
        Ok(false)
    }

    fn check_depth(&self, at: Span) -> Result<(), Error> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(Error::TooDeep {
                line: at.line,
                column: at.column,
                limit: self.limits.max_depth,
            });
        }
        Ok(())
    }

    /// Attaches a completed node to its parent (or makes it the root).
    fn finish(&mut self, node: Node, count: usize, anchor: usize) -> Result<(), Error> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), count));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq {
                items, count: c, ..
            }) => {
                *c = c.saturating_add(count);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                key,
                seen,
                count: c,
                ..
            }) => {
                *c = c.saturating_add(count);
                match key.take() {
                    None => {
                        if let NodeValue::Scalar { text, .. } = &node.value {
                            let first = find_key(entries, seen, text);
                            if let Some(first_line) = first {
                                return Err(Error::DuplicateKey {
                                    line: node.span.line,
                                    column: node.span.column,
                                    key: text.clone(),
                                    first_line,
                                });
                            }
                            if let Some(index) = seen {
                                index.insert(text.clone(), node.span.line);
                            }
                        }
                        *key = Some(node);
                    }
                    Some(k) => entries.push((k, node)),
                }
            }
        }
        Ok(())
    }
}

/// Most `key:<tab>value` repairs tried in one part of the stream.
const MAX_TAB_RETRIES: usize = 1000;

/// The byte range of the blanks between a `:` and the value starting at
/// character `index`, when they hold a tab.
fn tab_separated_value(text: &str, index: usize) -> Option<std::ops::Range<usize>> {
    let at = text.char_indices().nth(index).map(|(b, _)| b)?;
    let before = &text[..at];
    let blanks = before.len() - before.trim_end_matches([' ', '\t']).len();
    let start = at - blanks;
    (blanks > 0 && before[start..].contains('\t') && before[..start].ends_with(':'))
        .then_some(start..at)
}

/// The text with every `\'` escape of the double-quoted scalar starting at
/// character `index` written as `\x27`; `None` when there is none.
fn escaped_single_quotes(text: &str, index: usize) -> Option<String> {
    let start = text.char_indices().nth(index).map(|(b, _)| b)?;
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..=start]);
    let mut i = start + 1;
    let mut changed = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'\'') => {
                out.push_str("\\x27");
                changed = true;
                i += 2;
            }
            b'\\' => {
                let next = text[i + 1..].chars().next().map_or(0, char::len_utf8);
                out.push_str(&text[i..i + 1 + next]);
                i += 1 + next;
            }
            b'"' => break,
            _ => {
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[i..i + len]);
                i += len;
            }
        }
    }
    out.push_str(&text[i..]);
    changed.then_some(out)
}

/// Mappings with more entries than this index their keys in a hash map;
/// smaller ones are scanned.
const SCAN_KEYS: usize = 16;

/// The line of an earlier scalar key with this text, if any.
fn find_key(
    entries: &[(Node, Node)],
    seen: &mut Option<HashMap<String, usize>>,
    text: &str,
) -> Option<usize> {
    if seen.is_none() && entries.len() >= SCAN_KEYS {
        let mut index = HashMap::with_capacity(entries.len() * 2);
        for (k, _) in entries {
            if let NodeValue::Scalar { text, .. } = &k.value {
                index.entry(text.clone()).or_insert(k.span.line);
            }
        }
        *seen = Some(index);
    }
    match seen {
        Some(index) => index.get(text).copied(),
        None => entries.iter().find_map(|(k, _)| match &k.value {
            NodeValue::Scalar { text: t, .. } if t == text => Some(k.span.line),
            _ => None,
        }),
    }
}

/// Whether a document root is empty: no content, or a plain null scalar.
fn is_empty_document(root: &Node) -> bool {
    match &root.value {
        NodeValue::Scalar {
            text,
            style: ScalarStyle::Plain,
        } => root.tag.is_none() && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"),
        _ => false,
    }
}
