//! The oslo.policy rule language.
//!
//! Tokenising follows oslo's `_parse_tokenize` (whitespace-separated tokens,
//! parentheses peeled off their ends, `and`/`or`/`not` in any case); the grammar
//! is oslo's, with `not` binding tighter than `and`, and `and` tighter than `or`.
//! Where oslo logs a malformed rule and silently denies, this parser reports an
//! error, so a typo in a policy file stops start-up instead of locking users out.

use super::check::{Check, CredKey, Kind, Part, RuleRef, Template};

/// A rule that is not valid in the oslo.policy language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse policy rule \"{name}\" = \"{text}\": {message}")]
pub struct ParseError {
    /// The rule's name.
    pub name: String,
    /// The rule as written.
    pub text: String,
    /// What is wrong with it.
    pub message: String,
}

/// Parses `text`, the rule called `name`. The empty rule always allows, as in oslo.
pub(crate) fn parse(name: &str, text: &str) -> Result<Check, ParseError> {
    parse_text(text).map_err(|message| ParseError {
        name: name.to_owned(),
        text: text.to_owned(),
        message,
    })
}

fn parse_text(text: &str) -> Result<Check, String> {
    if text.is_empty() {
        return Ok(Check::Always);
    }
    let tokens = tokenize(text);
    let mut parser = Parser { tokens, pos: 0 };
    let check = parser.or_expr()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(check),
        Some(Token::RParen) => Err("unbalanced ')'".to_owned()),
        Some(tok) => Err(format!(
            "unexpected {} after a complete rule",
            tok.describe()
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    LParen,
    RParen,
    And,
    Or,
    Not,
    /// A whole token in matching quotes (oslo's "string" token; never valid alone).
    Quoted(&'a str),
    Check(&'a str),
}

impl Token<'_> {
    fn describe(&self) -> String {
        match self {
            Token::LParen => "'('".to_owned(),
            Token::RParen => "')'".to_owned(),
            Token::And => "'and'".to_owned(),
            Token::Or => "'or'".to_owned(),
            Token::Not => "'not'".to_owned(),
            Token::Quoted(s) => format!("quoted string '{s}'"),
            Token::Check(s) => format!("check '{s}'"),
        }
    }
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    for raw in text.split_whitespace() {
        let tok = raw.trim_start_matches('(');
        out.extend(std::iter::repeat_n(Token::LParen, raw.len() - tok.len()));
        if tok.is_empty() {
            continue;
        }
        let clean = tok.trim_end_matches(')');
        let trail = tok.len() - clean.len();
        if clean.eq_ignore_ascii_case("and") {
            out.push(Token::And);
        } else if clean.eq_ignore_ascii_case("or") {
            out.push(Token::Or);
        } else if clean.eq_ignore_ascii_case("not") {
            out.push(Token::Not);
        } else if !clean.is_empty() {
            // As oslo: the quote test looks at the token before its ')'s are removed.
            let bytes = tok.as_bytes();
            let quoted = bytes.len() >= 2
                && (bytes[0] == b'\'' || bytes[0] == b'"')
                && bytes[bytes.len() - 1] == bytes[0];
            if quoted {
                out.push(Token::Quoted(&tok[1..tok.len() - 1]));
            } else {
                out.push(Token::Check(clean));
            }
        }
        out.extend(std::iter::repeat_n(Token::RParen, trail));
    }
    out
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.pos).copied()
    }

    fn eat(&mut self, want: Token<'a>) -> bool {
        if self.peek() == Some(want) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or_expr(&mut self) -> Result<Check, String> {
        let mut items = vec![self.and_expr()?];
        while self.eat(Token::Or) {
            items.push(self.and_expr()?);
        }
        Ok(collapse(items, Check::Or))
    }

    fn and_expr(&mut self) -> Result<Check, String> {
        let mut items = vec![self.unary()?];
        while self.eat(Token::And) {
            items.push(self.unary()?);
        }
        Ok(collapse(items, Check::And))
    }

    fn unary(&mut self) -> Result<Check, String> {
        if self.eat(Token::Not) {
            return Ok(Check::Not(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Check, String> {
        let Some(tok) = self.peek() else {
            return Err("unexpected end of rule".to_owned());
        };
        self.pos += 1;
        match tok {
            Token::LParen => {
                let inner = self.or_expr()?;
                if self.eat(Token::RParen) {
                    Ok(inner)
                } else {
                    Err("missing ')'".to_owned())
                }
            }
            Token::Check(text) => parse_check(text),
            Token::Quoted(_) | Token::RParen | Token::And | Token::Or | Token::Not => {
                Err(format!("unexpected {}", tok.describe()))
            }
        }
    }
}

fn collapse(mut items: Vec<Check>, join: fn(Vec<Check>) -> Check) -> Check {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    join(items)
}

/// One check: `@`, `!`, `rule:X`, `role:X` or a generic `key:value`.
fn parse_check(text: &str) -> Result<Check, String> {
    match text {
        "@" => return Ok(Check::Always),
        "!" => return Ok(Check::Never),
        _ => {}
    }
    let Some((kind, value)) = text.split_once(':') else {
        return Err(format!(
            "'{text}' is not a check (expected kind:match, '@' or '!')"
        ));
    };
    let raw: Box<str> = text.into();
    match kind {
        "rule" => Ok(Check::Rule(RuleRef {
            name: value.into(),
            id: None,
        })),
        "role" => Ok(Check::Role {
            raw,
            value: parse_template(value)?,
        }),
        "http" | "https" => Err(format!("'{text}': http checks are not supported")),
        _ => Ok(Check::Generic {
            raw,
            kind: parse_kind(kind),
            value: parse_template(value)?,
        }),
    }
}

/// The left side of a generic check: a Python literal (as `ast.literal_eval`
/// accepts it: quoted strings, `True`/`False`/`None`, integers) or else a
/// credential key.
fn parse_kind(kind: &str) -> Kind {
    let bytes = kind.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'\'' || bytes[0] == b'"')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        return Kind::Literal(kind[1..kind.len() - 1].into());
    }
    if matches!(kind, "True" | "False" | "None") {
        return Kind::Literal(kind.into());
    }
    let digits = kind.strip_prefix(['-', '+']).unwrap_or(kind);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = kind.parse::<i128>()
    {
        return Kind::Literal(n.to_string().into());
    }
    Kind::Cred(CredKey::from_key(kind))
}

/// The right side of a check, in Python `%`-format: `%(key)s` substitutes a target
/// value and `%%` is a literal `%`; other conversions are refused.
fn parse_template(text: &str) -> Result<Template, String> {
    if !text.contains('%') {
        return Ok(Template::Plain(text.into()));
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        literal.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            literal.push('%');
            rest = tail;
            continue;
        }
        let key_and_tail = after.strip_prefix('(').and_then(|s| s.split_once(')'));
        let Some((key, tail)) = key_and_tail else {
            return Err(format!(
                "unsupported '%' in '{text}' (only %(name)s substitutions and %% are allowed)"
            ));
        };
        let Some(tail) = tail.strip_prefix('s') else {
            return Err(format!(
                "unsupported conversion for %({key}) in '{text}' (only %(name)s is allowed)"
            ));
        };
        if !literal.is_empty() {
            parts.push(Part::Lit(std::mem::take(&mut literal).into()));
        }
        parts.push(Part::Key(key.into()));
        rest = tail;
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Lit(literal.into()));
    }
    Ok(match parts.as_slice() {
        [] => Template::Plain("".into()),
        [Part::Key(key)] => Template::Key(key.clone()),
        [Part::Lit(text)] => Template::Plain(text.clone()),
        _ => Template::Mixed(parts.into_boxed_slice()),
    })
}

#[cfg(test)]
pub(crate) fn canonical(text: &str) -> Result<String, String> {
    parse_text(text).map(|c| c.to_string())
}

#[cfg(test)]
pub(crate) fn template(text: &str) -> Result<Template, String> {
    parse_template(text)
}
