//! CQL2-text filters for `items?filter=...&filter-lang=cql2-text` (OGC API Features Part 3,
//! CQL2 Basic plus the advanced comparison operators): parsing, checking against a
//! collection's queryables, and evaluation on an item's property values.
//!
//! Inputs: the filter text and the collection's fields (name and model type). Outputs: an
//! [`Expr`] that answers true/false per item, or a [`FilterError`] that names the position
//! (1-based character) and what was expected there. No geometry: spatial and temporal operators
//! are refused by name. Must not depend on the handler modules.
//!
//! Why hand-written: the `cql2` crate (0.6) parses far more (spatial, temporal, JSON, SQL) but
//! pulls in `sqlparser`, `jsonschema`, a second `geozero` and turns on serde_json's
//! `preserve_order` for the whole program, which would reorder every JSON answer. The subset
//! QGIS and GDAL send (comparisons, AND/OR/NOT, IN, LIKE, BETWEEN, IS NULL) is a small
//! recursive-descent grammar, tested with proptest below.

use serde_json::Value;

use crate::model::FieldType;

/// Why a filter was refused; every variant says where and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// The text does not follow the grammar.
    #[error("filter: at character {pos}: expected {expected}, found {found}")]
    Syntax {
        /// 1-based character position.
        pos: usize,
        /// What the grammar allows there.
        expected: String,
        /// What is there (or "the end").
        found: String,
    },
    /// A property the collection does not have (or cannot be filtered on).
    #[error(
        "filter: at character {pos}: '{name}' is not a queryable of this collection; queryable here: {queryables}"
    )]
    UnknownProperty {
        /// 1-based character position.
        pos: usize,
        /// The name as written.
        name: String,
        /// The collection's queryables, comma-separated.
        queryables: String,
    },
    /// A literal of the wrong type for its property.
    #[error("filter: at character {pos}: '{name}' is {kind}; compare it with {hint}")]
    Type {
        /// 1-based character position of the literal.
        pos: usize,
        /// The property.
        name: String,
        /// Its type in words.
        kind: &'static str,
        /// What to write instead.
        hint: &'static str,
    },
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// A quoted string.
    Str(String),
    /// A number.
    Num(f64),
    /// TRUE or FALSE.
    Bool(bool),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A property, by field index after [`Expr::bind`]; the name and position before.
    Prop {
        /// As written.
        name: String,
        /// 1-based character position.
        pos: usize,
        /// Field index (set by [`Expr::bind`]).
        index: usize,
    },
    /// A literal and its position.
    Lit(Lit, usize),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Not.
    Not(Box<Expr>),
    /// `a op b`.
    Compare(Operand, Cmp, Operand),
    /// `a [NOT] IN (b, c)`.
    In(Operand, Vec<Operand>, bool),
    /// `a [NOT] LIKE 'p%'`.
    Like(Operand, Operand, bool),
    /// `a [NOT] BETWEEN b AND c`.
    Between(Operand, Operand, Operand, bool),
    /// `a IS [NOT] NULL`.
    IsNull(Operand, bool),
    /// TRUE / FALSE on its own.
    Const(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Quoted(String),
    Str(String),
    Num(f64),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn describe(t: Option<&(Tok, usize)>) -> String {
    match t {
        None => "the end".into(),
        Some((Tok::Ident(s) | Tok::Quoted(s), _)) => format!("'{s}'"),
        Some((Tok::Str(s), _)) => format!("the string '{s}'"),
        Some((Tok::Num(n), _)) => format!("the number {n}"),
        Some((Tok::Op(o), _)) => format!("'{o}'"),
        Some((Tok::LParen, _)) => "'('".into(),
        Some((Tok::RParen, _)) => "')'".into(),
        Some((Tok::Comma, _)) => "','".into(),
    }
}

fn syntax(pos: usize, expected: &str, found: String) -> FilterError {
    FilterError::Syntax {
        pos,
        expected: expected.into(),
        found,
    }
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push((Tok::LParen, pos));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, pos));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, pos));
                i += 1;
            }
            '=' => {
                out.push((Tok::Op("="), pos));
                i += 1;
            }
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let op = match (c, next) {
                    ('<', Some('=')) => "<=",
                    ('<', Some('>')) => "<>",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                i += op.len();
                out.push((Tok::Op(op), pos));
            }
            '\'' | '"' => {
                // SQL quoting: a doubled quote is one quote character.
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(syntax(
                                pos,
                                &format!("a closing {c} for the quote opened here"),
                                "the end".into(),
                            ));
                        }
                        Some(&q) if q == c => {
                            if chars.get(j + 1) == Some(&c) {
                                s.push(c);
                                j += 2;
                            } else {
                                j += 1;
                                break;
                            }
                        }
                        Some(&other) => {
                            s.push(other);
                            j += 1;
                        }
                    }
                }
                out.push((
                    if c == '"' {
                        Tok::Quoted(s)
                    } else {
                        Tok::Str(s)
                    },
                    pos,
                ));
                i = j;
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_ascii_digit()
                        || chars[j] == '.'
                        || matches!(chars[j], 'e' | 'E')
                        || (matches!(chars[j], '-' | '+') && matches!(chars[j - 1], 'e' | 'E')))
                {
                    j += 1;
                }
                let s: String = chars[i..j].iter().collect();
                let n: f64 = s
                    .parse()
                    .map_err(|_| syntax(pos, "a number", format!("'{s}'")))?;
                if !n.is_finite() {
                    return Err(syntax(pos, "a finite number", format!("'{s}'")));
                }
                out.push((Tok::Num(n), pos));
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
                {
                    j += 1;
                }
                out.push((Tok::Ident(chars[i..j].iter().collect()), pos));
                i = j;
            }
            other => {
                return Err(syntax(
                    pos,
                    "a property, a literal, an operator or a parenthesis",
                    format!("'{other}'"),
                ));
            }
        }
    }
    Ok(out)
}

/// Words that end an operand or start an operator, so they cannot be property names unquoted.
const RESERVED: [&str; 10] = [
    "AND", "OR", "NOT", "IN", "LIKE", "BETWEEN", "IS", "NULL", "TRUE", "FALSE",
];

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&(Tok, usize)> {
        self.toks.get(self.at)
    }

    fn pos(&self) -> usize {
        self.peek().map_or(self.end, |t| t.1)
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some((Tok::Ident(s), _)) if s.eq_ignore_ascii_case(k))
    }

    fn eat_keyword(&mut self, k: &str) -> bool {
        let yes = self.keyword(k);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn expect_keyword(&mut self, k: &str) -> Result<(), FilterError> {
        if self.eat_keyword(k) {
            Ok(())
        } else {
            Err(syntax(self.pos(), k, describe(self.peek())))
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while self.eat_keyword("OR") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.not()?;
        while self.eat_keyword("AND") {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.eat_keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        if matches!(self.peek(), Some((Tok::LParen, _))) {
            self.at += 1;
            let e = self.or()?;
            if !matches!(self.peek(), Some((Tok::RParen, _))) {
                return Err(syntax(self.pos(), "')' or AND/OR", describe(self.peek())));
            }
            self.at += 1;
            return Ok(e);
        }
        let left = self.operand()?;
        let pos = self.pos();
        if let Some((Tok::Op(op), _)) = self.peek() {
            let cmp = match *op {
                "=" => Cmp::Eq,
                "<>" => Cmp::Ne,
                "<" => Cmp::Lt,
                "<=" => Cmp::Le,
                ">" => Cmp::Gt,
                _ => Cmp::Ge,
            };
            self.at += 1;
            let right = self.operand()?;
            return Ok(Expr::Compare(left, cmp, right));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            self.expect_keyword("NULL")?;
            return Ok(Expr::IsNull(left, negated));
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("LIKE") {
            let p = self.operand()?;
            return Ok(Expr::Like(left, p, negated));
        }
        if self.eat_keyword("BETWEEN") {
            let lo = self.operand()?;
            self.expect_keyword("AND")?;
            let hi = self.operand()?;
            return Ok(Expr::Between(left, lo, hi, negated));
        }
        if self.eat_keyword("IN") {
            if !matches!(self.peek(), Some((Tok::LParen, _))) {
                return Err(syntax(self.pos(), "'(' after IN", describe(self.peek())));
            }
            self.at += 1;
            let mut list = vec![self.operand()?];
            while matches!(self.peek(), Some((Tok::Comma, _))) {
                self.at += 1;
                list.push(self.operand()?);
            }
            if !matches!(self.peek(), Some((Tok::RParen, _))) {
                return Err(syntax(
                    self.pos(),
                    "',' or ')' in the IN list",
                    describe(self.peek()),
                ));
            }
            self.at += 1;
            return Ok(Expr::In(left, list, negated));
        }
        if negated {
            return Err(syntax(
                self.pos(),
                "LIKE, BETWEEN or IN after NOT",
                describe(self.peek()),
            ));
        }
        if let Operand::Lit(Lit::Bool(b), _) = left {
            return Ok(Expr::Const(b));
        }
        Err(syntax(
            pos,
            "a comparison (=, <>, <, <=, >, >=), LIKE, BETWEEN, IN or IS NULL",
            describe(self.peek()),
        ))
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let Some((t, pos)) = self.peek().cloned() else {
            return Err(syntax(
                self.end,
                "a property or a literal",
                "the end".into(),
            ));
        };
        let o = match t {
            Tok::Str(s) => Operand::Lit(Lit::Str(s), pos),
            Tok::Num(n) => Operand::Lit(Lit::Num(n), pos),
            Tok::Quoted(name) => Operand::Prop {
                name,
                pos,
                index: 0,
            },
            Tok::Ident(s) if s.eq_ignore_ascii_case("TRUE") => Operand::Lit(Lit::Bool(true), pos),
            Tok::Ident(s) if s.eq_ignore_ascii_case("FALSE") => Operand::Lit(Lit::Bool(false), pos),
            Tok::Ident(s) if RESERVED.iter().any(|r| s.eq_ignore_ascii_case(r)) => {
                return Err(syntax(
                    pos,
                    "a property or a literal (quote a property named like a keyword: \"...\")",
                    format!("'{s}'"),
                ));
            }
            Tok::Ident(s) if self.toks.get(self.at + 1).map(|t| &t.0) == Some(&Tok::LParen) => {
                return Err(syntax(
                    pos,
                    "a property or a literal (functions and spatial or temporal operators are not supported; this service implements CQL2 basic and advanced comparison)",
                    format!("'{s}('"),
                ));
            }
            Tok::Ident(name) => Operand::Prop {
                name,
                pos,
                index: 0,
            },
            other => {
                return Err(syntax(
                    pos,
                    "a property or a literal",
                    describe(Some(&(other, pos))),
                ));
            }
        };
        self.at += 1;
        Ok(o)
    }
}

/// Parses CQL2 text. Keywords are case-insensitive; strings use single quotes (`''` for a
/// quote), property names may be double-quoted.
pub fn parse(text: &str) -> Result<Expr, FilterError> {
    let toks = lex(text)?;
    let end = text.chars().count() + 1;
    if toks.is_empty() {
        return Err(syntax(1, "a filter expression", "the end".into()));
    }
    let mut p = Parser { toks, at: 0, end };
    let e = p.or()?;
    if p.peek().is_some() {
        return Err(syntax(p.pos(), "AND, OR or the end", describe(p.peek())));
    }
    Ok(e)
}

/// Whether a field type can be filtered on (everything but nested JSON).
pub fn is_queryable(t: FieldType) -> bool {
    !matches!(t, FieldType::Json)
}

impl Expr {
    /// Resolves property names to field indices and checks literal types, against the
    /// collection's fields.
    pub fn bind(mut self, fields: &[(&str, FieldType)]) -> Result<Expr, FilterError> {
        self.bind_in(fields)?;
        Ok(self)
    }

    fn bind_in(&mut self, fields: &[(&str, FieldType)]) -> Result<(), FilterError> {
        let like = matches!(self, Expr::Like(..));
        let mut ops: Vec<&mut Operand> = Vec::new();
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.bind_in(fields)?;
                return b.bind_in(fields);
            }
            Expr::Not(a) => return a.bind_in(fields),
            Expr::Const(_) => return Ok(()),
            Expr::Compare(a, _, b) | Expr::Like(a, b, _) => {
                ops.push(a);
                ops.push(b);
            }
            Expr::Between(a, b, c, _) => {
                ops.push(a);
                ops.push(b);
                ops.push(c);
            }
            Expr::In(a, list, _) => {
                ops.push(a);
                ops.extend(list.iter_mut());
            }
            Expr::IsNull(a, _) => ops.push(a),
        }
        let mut ty = None;
        for o in &mut ops {
            if let Operand::Prop { name, pos, index } = o {
                let Some(i) = fields
                    .iter()
                    .position(|(n, t)| *n == name.as_str() && is_queryable(*t))
                else {
                    let q: Vec<&str> = fields
                        .iter()
                        .filter(|(_, t)| is_queryable(*t))
                        .map(|(n, _)| *n)
                        .collect();
                    return Err(FilterError::UnknownProperty {
                        pos: *pos,
                        name: name.clone(),
                        queryables: q.join(", "),
                    });
                };
                *index = i;
                ty.get_or_insert((name.clone(), fields[i].1));
            }
        }
        if let Some((name, t)) = ty {
            for o in &ops {
                if let Operand::Lit(l, pos) = o {
                    let (ok, kind, hint) = match t {
                        FieldType::Text => (matches!(l, Lit::Str(_)), "text", "a quoted string"),
                        FieldType::Integer | FieldType::Real => {
                            (matches!(l, Lit::Num(_)), "a number", "a number")
                        }
                        FieldType::Boolean => {
                            (matches!(l, Lit::Bool(_)), "true/false", "TRUE or FALSE")
                        }
                        FieldType::Json => (false, "nested", "nothing"),
                    };
                    let like_ok = !like || matches!(l, Lit::Str(_));
                    if !ok || !like_ok {
                        return Err(FilterError::Type {
                            pos: *pos,
                            name,
                            kind,
                            hint: if like { "a quoted LIKE pattern" } else { hint },
                        });
                    }
                }
            }
            if like && t != FieldType::Text {
                return Err(FilterError::Type {
                    pos: ops.first().map_or(1, |o| match o {
                        Operand::Prop { pos, .. } | Operand::Lit(_, pos) => *pos,
                    }),
                    name,
                    kind: "not text",
                    hint: "=, <, > or BETWEEN (LIKE is for text)",
                });
            }
        }
        Ok(())
    }

    /// Whether an item with these property values matches (after [`Expr::bind`]). A
    /// comparison with a missing value is unknown, and unknown counts as no match, also
    /// under NOT (SQL's three-valued logic).
    pub fn matches(&self, values: &[Value]) -> bool {
        self.eval(values) == Some(true)
    }

    fn eval(&self, values: &[Value]) -> Option<bool> {
        match self {
            Expr::And(a, b) => match (a.eval(values), b.eval(values)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Or(a, b) => match (a.eval(values), b.eval(values)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Expr::Not(a) => a.eval(values).map(|b| !b),
            Expr::Const(b) => Some(*b),
            Expr::Compare(a, op, b) => {
                let o = order(&value(a, values)?, &value(b, values)?)?;
                Some(match op {
                    Cmp::Eq => o.is_eq(),
                    Cmp::Ne => o.is_ne(),
                    Cmp::Lt => o.is_lt(),
                    Cmp::Le => o.is_le(),
                    Cmp::Gt => o.is_gt(),
                    Cmp::Ge => o.is_ge(),
                })
            }
            Expr::Between(a, lo, hi, neg) => {
                let v = value(a, values)?;
                let inside = order(&v, &value(lo, values)?)?.is_ge()
                    && order(&v, &value(hi, values)?)?.is_le();
                Some(inside != *neg)
            }
            Expr::In(a, list, neg) => {
                let v = value(a, values)?;
                let mut any = false;
                for x in list {
                    if order(&v, &value(x, values)?)?.is_eq() {
                        any = true;
                    }
                }
                Some(any != *neg)
            }
            Expr::Like(a, p, neg) => match (value(a, values)?, value(p, values)?) {
                (Lit::Str(s), Lit::Str(p)) => {
                    let s: Vec<char> = s.chars().collect();
                    let p: Vec<char> = p.chars().collect();
                    Some(like(&s, &p) != *neg)
                }
                _ => None,
            },
            Expr::IsNull(a, neg) => {
                let null = match a {
                    Operand::Prop { index, .. } => values.get(*index).is_none_or(Value::is_null),
                    Operand::Lit(..) => false,
                };
                Some(null != *neg)
            }
        }
    }
}

fn value(o: &Operand, values: &[Value]) -> Option<Lit> {
    match o {
        Operand::Lit(l, _) => Some(l.clone()),
        Operand::Prop { index, .. } => match values.get(*index)? {
            Value::String(s) => Some(Lit::Str(s.clone())),
            Value::Number(n) => n.as_f64().map(Lit::Num),
            Value::Bool(b) => Some(Lit::Bool(*b)),
            _ => None,
        },
    }
}

fn order(a: &Lit, b: &Lit) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Lit::Str(a), Lit::Str(b)) => Some(a.cmp(b)),
        (Lit::Num(a), Lit::Num(b)) => a.partial_cmp(b),
        (Lit::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// SQL LIKE: `%` any run, `_` one character, `\` escapes the next one.
fn like(s: &[char], p: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('%', rest)) => (0..=s.len()).any(|i| like(&s[i..], rest)),
        Some(('_', rest)) => !s.is_empty() && like(&s[1..], rest),
        Some(('\\', rest)) if !rest.is_empty() => {
            s.first() == Some(&rest[0]) && like(&s[1..], &rest[1..])
        }
        Some((c, rest)) => s.first() == Some(c) && like(&s[1..], rest),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const FIELDS: [(&str, FieldType); 4] = [
        ("categorie", FieldType::Text),
        ("score", FieldType::Real),
        ("rang", FieldType::Integer),
        ("toelichting", FieldType::Json),
    ];

    fn check(filter: &str, values: &[Value]) -> bool {
        parse(filter)
            .unwrap()
            .bind(&FIELDS)
            .unwrap()
            .matches(values)
    }

    fn row(c: &str, s: f64) -> Vec<Value> {
        vec![json!(c), json!(s), json!(1), json!({})]
    }

    #[test]
    fn the_issues_example_selects_suitable_areas_above_sixty() {
        let f = "categorie='geschikt' AND score>60";
        assert!(check(f, &row("geschikt", 61.0)));
        assert!(!check(f, &row("geschikt", 60.0)));
        assert!(!check(f, &row("kansrijk", 90.0)));
    }

    #[test]
    fn precedence_is_not_then_and_then_or_and_parentheses_override_it() {
        let r = row("kansrijk", 10.0);
        assert!(check(
            "categorie='kansrijk' OR categorie='x' AND score>50",
            &r
        ));
        assert!(!check(
            "(categorie='kansrijk' OR categorie='x') AND score>50",
            &r
        ));
        assert!(check("NOT score > 50 AND categorie <> 'x'", &r));
    }

    #[test]
    fn in_like_between_and_is_null_follow_sql() {
        let r = row("geschikt", 70.0);
        assert!(check("categorie IN ('kansrijk', 'geschikt')", &r));
        assert!(check("categorie NOT IN ('kansrijk')", &r));
        assert!(check("categorie LIKE 'ges%'", &r));
        assert!(check("categorie like '_eschik_'", &r));
        assert!(!check("categorie NOT LIKE '%hik%'", &r));
        assert!(check("score BETWEEN 60 AND 70", &r));
        assert!(!check("score NOT BETWEEN 60 AND 70", &r));
        assert!(check("score IS NOT NULL", &r));
        let null = vec![json!("x"), Value::Null, json!(1), json!({})];
        assert!(check("score IS NULL", &null));
        // Unknown stays unknown under NOT: a missing score matches neither side.
        assert!(!check("score > 50", &null));
        assert!(!check("NOT score > 50", &null));
    }

    #[test]
    fn errors_name_the_position_and_what_was_expected() {
        let e = parse("categorie = 'a' AND").unwrap_err();
        assert!(matches!(e, FilterError::Syntax { pos: 20, .. }), "{e}");
        let e = parse("score >> 5").unwrap_err().to_string();
        assert!(e.contains("character 8"), "{e}");
        let e = parse("'open").unwrap_err().to_string();
        assert!(e.contains("character 1") && e.contains("closing"), "{e}");
        let e = parse("S_INTERSECTS(geometry, POINT(1 2))")
            .unwrap_err()
            .to_string();
        assert!(e.contains("spatial"), "{e}");
    }

    #[test]
    fn unknown_properties_and_wrong_literal_types_are_refused_by_name() {
        let e = parse("sc0re > 1").unwrap().bind(&FIELDS).unwrap_err();
        assert!(
            matches!(&e, FilterError::UnknownProperty { pos: 1, name, queryables } if name == "sc0re" && queryables == "categorie, score, rang"),
            "{e}"
        );
        let e = parse("toelichting IS NULL")
            .unwrap()
            .bind(&FIELDS)
            .unwrap_err();
        assert!(matches!(e, FilterError::UnknownProperty { .. }), "{e}");
        let e = parse("score = '60'").unwrap().bind(&FIELDS).unwrap_err();
        assert!(matches!(e, FilterError::Type { pos: 9, .. }), "{e}");
        let e = parse("rang LIKE '1%'").unwrap().bind(&FIELDS).unwrap_err();
        assert!(matches!(e, FilterError::Type { .. }), "{e}");
    }

    fn arb_expr() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            (
                0.0..100.0f64,
                prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="])
            )
                .prop_map(|(n, op)| format!("score {op} {n}")),
            "[a-z']{0,6}".prop_map(|s| format!("categorie = '{}'", s.replace('\'', "''"))),
            Just("score IS NULL".to_string()),
            Just("categorie IN ('geschikt','kansrijk')".to_string()),
            Just("categorie LIKE '%s%'".to_string()),
            Just("rang BETWEEN 1 AND 10".to_string()),
        ];
        leaf.prop_recursive(4, 32, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
                inner.prop_map(|a| format!("NOT ({a})")),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_with_a_position_inside_it(s in "\\PC{0,40}") {
            match parse(&s) {
                Ok(_) => {}
                Err(FilterError::Syntax { pos, .. }) => prop_assert!(pos >= 1 && pos <= s.chars().count() + 1),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }

        #[test]
        fn generated_filters_parse_and_not_inverts_every_known_answer(
            f in arb_expr(), c in "[a-z]{0,8}", s in 0.0..100.0f64
        ) {
            let e = parse(&f).unwrap().bind(&FIELDS).unwrap();
            let n = parse(&format!("NOT ({f})")).unwrap().bind(&FIELDS).unwrap();
            let v = row(&c, s);
            prop_assert_ne!(e.matches(&v), n.matches(&v));
        }

        #[test]
        fn like_with_only_literal_characters_is_equality(a in "[a-z]{0,8}", b in "[a-z]{0,8}") {
            let ca: Vec<char> = a.chars().collect();
            let cb: Vec<char> = b.chars().collect();
            prop_assert_eq!(like(&ca, &cb), a == b);
        }
    }
}
