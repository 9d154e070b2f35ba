//! A small backtracking regular-expression matcher for OpenAPI `pattern`s
//! (the subset CRD authors use: literals, `.`, classes with ranges and
//! negation, `\d \w \s` and their negations, anchors, groups, alternation
//! and the greedy quantifiers `* + ? {n} {n,} {n,m}`). Like Go's
//! `regexp.MatchString`, a pattern matches anywhere unless anchored. A
//! pattern outside the subset is not enforced (parse returns `None`).

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Start,
    End,
    Group(Vec<Vec<Piece>>),
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    min: usize,
    max: usize,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    alts: Vec<Vec<Piece>>,
}

fn class_escape(c: char) -> Option<(Vec<(char, char)>, bool)> {
    let digits = vec![('0', '9')];
    let word = vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
    let space = vec![(' ', ' '), ('\t', '\r')];
    match c {
        'd' => Some((digits, false)),
        'D' => Some((digits, true)),
        'w' => Some((word, false)),
        'W' => Some((word, true)),
        's' => Some((space, false)),
        'S' => Some((space, true)),
        _ => None,
    }
}

fn literal_escape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        other => other,
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn alternation(&mut self) -> Option<Vec<Vec<Piece>>> {
        let mut alts = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.sequence()?);
        }
        Some(alts)
    }

    fn sequence(&mut self) -> Option<Vec<Piece>> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let (min, max) = self.quantifier()?;
            seq.push(Piece { atom, min, max });
        }
        Some(seq)
    }

    fn number(&mut self) -> Option<usize> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn quantifier(&mut self) -> Option<(usize, usize)> {
        let q = match self.peek() {
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            Some('?') => (0, 1),
            Some('{') => {
                self.pos += 1;
                let min = self.number()?;
                let max = if self.peek() == Some(',') {
                    self.pos += 1;
                    if self.peek() == Some('}') {
                        usize::MAX
                    } else {
                        self.number()?
                    }
                } else {
                    min
                };
                if self.peek() != Some('}') {
                    return None;
                }
                (min, max)
            }
            _ => return Some((1, 1)),
        };
        self.pos += 1;
        if self.peek() == Some('?') {
            self.pos += 1;
        }
        Some(q)
    }

    fn atom(&mut self) -> Option<Atom> {
        let c = self.peek()?;
        self.pos += 1;
        Some(match c {
            '.' => Atom::Any,
            '^' => Atom::Start,
            '$' => Atom::End,
            '(' => {
                if self.chars.get(self.pos..self.pos + 2) == Some(&['?', ':']) {
                    self.pos += 2;
                } else if self.peek() == Some('?') {
                    return None;
                }
                let alts = self.alternation()?;
                if self.peek() != Some(')') {
                    return None;
                }
                self.pos += 1;
                Atom::Group(alts)
            }
            '[' => self.class()?,
            '\\' => {
                let e = self.peek()?;
                self.pos += 1;
                match class_escape(e) {
                    Some((ranges, negated)) => Atom::Class { ranges, negated },
                    None if e.is_ascii_alphanumeric() && !matches!(e, 'n' | 't' | 'r') => {
                        return None;
                    }
                    None => Atom::Char(literal_escape(e)),
                }
            }
            '*' | '+' | '?' | '{' => return None,
            other => Atom::Char(other),
        })
    }

    fn class(&mut self) -> Option<Atom> {
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.peek()?;
            self.pos += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                let e = self.peek()?;
                self.pos += 1;
                if let Some((rs, false)) = class_escape(e) {
                    ranges.extend(rs);
                    continue;
                }
                if class_escape(e).is_some() {
                    return None;
                }
                literal_escape(e)
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|n| *n != ']') {
                self.pos += 1;
                let mut hi = self.peek()?;
                self.pos += 1;
                if hi == '\\' {
                    hi = literal_escape(self.peek()?);
                    self.pos += 1;
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Some(Atom::Class { ranges, negated })
    }
}

impl Pattern {
    /// Compiles `pattern`, or `None` when it uses syntax outside the subset.
    pub(crate) fn parse(pattern: &str) -> Option<Pattern> {
        let mut p = Parser {
            chars: pattern.chars().collect(),
            pos: 0,
        };
        let alts = p.alternation()?;
        (p.pos == p.chars.len()).then_some(Pattern { alts })
    }

    /// Whether the pattern matches somewhere in `s`.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        let input: Vec<char> = s.chars().collect();
        (0..=input.len()).any(|start| alts(&self.alts, &input, start, &mut |_| true))
    }
}

fn alts(
    alternatives: &[Vec<Piece>],
    input: &[char],
    pos: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    alternatives.iter().any(|seq| sequence(seq, input, pos, k))
}

fn sequence(seq: &[Piece], input: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match seq.split_first() {
        None => k(pos),
        Some((piece, rest)) => repeat(piece, 0, input, pos, &mut |p| sequence(rest, input, p, k)),
    }
}

/// Greedy repetition of `piece`, `count` times matched so far.
fn repeat(
    piece: &Piece,
    count: usize,
    input: &[char],
    pos: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if count < piece.max {
        let tried = atom(&piece.atom, input, pos, &mut |p| {
            // Stop an empty iteration from looping forever.
            if p == pos && count >= piece.min {
                return false;
            }
            repeat(piece, count + 1, input, p, k)
        });
        if tried {
            return true;
        }
    }
    count >= piece.min && k(pos)
}

fn atom(a: &Atom, input: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match a {
        Atom::Start => pos == 0 && k(pos),
        Atom::End => pos == input.len() && k(pos),
        Atom::Any => pos < input.len() && input[pos] != '\n' && k(pos + 1),
        Atom::Char(c) => input.get(pos) == Some(c) && k(pos + 1),
        Atom::Class { ranges, negated } => match input.get(pos) {
            Some(c) => (ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated) && k(pos + 1),
            None => false,
        },
        Atom::Group(alternatives) => alts(alternatives, input, pos, k),
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn patterns() {
        let m = |p: &str, s: &str| Pattern::parse(p).expect(p).is_match(s);
        assert!(m("^[a-z]+$", "abc"));
        assert!(!m("^[a-z]+$", "aBc"));
        assert!(m("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "my-name1"));
        assert!(!m("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "-x"));
        assert!(m("b", "abc"));
        assert!(m("^(foo|bar)\\d{2,3}$", "bar123"));
        assert!(!m("^(foo|bar)\\d{2,3}$", "bar1234"));
        assert!(m("^\\w+@\\w+\\.com$", "a_b@c.com"));
        assert!(m("^[^/]*$", "abc"));
        assert!(!m("^[^/]*$", "a/c"));
        assert!(m("^(a*)*$", "aaaa"));
        assert!(Pattern::parse("(?=x)").is_none());
    }
}
