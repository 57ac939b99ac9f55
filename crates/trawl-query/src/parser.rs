//! The hand-written parser: a pipeline of stages, expressions by precedence climbing.
//!
//! ```text
//! query   := types ('|' stage)*            types := NAME (',' NAME)* | '*'
//! stage   := where EXPR | cut F, .. | rename F as G, .. | put F = EXPR, ..
//!          | sort KEY [asc|desc], .. | head [N] | tail [N] | uniq [F, ..] | count [by KEYS]
//!          | top [N] F, .. | rare [N] F, .. | summarize AGG, .. [by KEYS] | timeline
//! EXPR    := or > and > not > comparison > + - > * / % > unary - > call, field, literal
//! ```

use trawl_zeek::Value;

use crate::error::{nearest, QueryError, Span};
use crate::expr::{ArithOp, CmpOp, Expr, FieldRef, ScoreKind, TextOp};
use crate::functions::{self, Func, FUNCTIONS};
use crate::lexer::{lex, Tok, Token};

/// Operator (stage) names, for hints.
pub const OPERATORS: &[&str] = &[
    "where",
    "cut",
    "rename",
    "put",
    "sort",
    "head",
    "tail",
    "uniq",
    "count",
    "top",
    "rare",
    "summarize",
    "timeline",
];

/// Aggregate functions of `summarize`.
pub const AGGREGATES: &[&str] = &["count", "sum", "avg", "min", "max", "dcount", "values"];

const COMPARISONS: &str = "== != < <= > >= =~ !~ in, not in, contains, startswith, endswith";

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "contains",
    "startswith",
    "endswith",
    "exists",
    "true",
    "false",
    "by",
    "as",
    "asc",
    "desc",
];

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count()`: records (or, with an argument, records where it is set).
    Count,
    /// `sum(x)`
    Sum,
    /// `avg(x)`
    Avg,
    /// `min(x)`
    Min,
    /// `max(x)`
    Max,
    /// `dcount(x)`: distinct values (exact).
    Dcount,
    /// `values(x)`: the distinct values as a set, in order.
    Values,
}

/// One aggregate of `summarize`: output name, function, argument.
#[derive(Debug, Clone)]
pub struct Agg {
    /// Output column.
    pub name: String,
    /// What it computes.
    pub func: AggFunc,
    /// Its argument (`count()` has none).
    pub arg: Option<Expr>,
}

/// A named expression: a group key, a computed field, a sort key.
#[derive(Debug, Clone)]
pub struct Named {
    /// Output column.
    pub name: String,
    /// The expression.
    pub expr: Expr,
}

/// One stage of a pipeline.
#[derive(Debug, Clone)]
pub enum Stage {
    /// `where EXPR`
    Where(Expr),
    /// `cut a, b`: only these fields, in this order.
    Cut(Vec<String>),
    /// `rename a as b`
    Rename(Vec<(String, String)>),
    /// `put x = EXPR`: add or replace fields.
    Put(Vec<Named>),
    /// `sort k [desc]`: keys and whether descending.
    Sort(Vec<(Named, bool)>),
    /// `head N`
    Head(usize),
    /// `tail N`
    Tail(usize),
    /// `uniq [fields]`: drop repeated records (by these fields, or whole records).
    Uniq(Vec<String>),
    /// `top N fields` / `rare N fields`.
    Top {
        /// How many.
        n: usize,
        /// The fields (or expressions) counted together.
        keys: Vec<Named>,
        /// `rare`: the least frequent first.
        rare: bool,
    },
    /// `summarize aggs by keys` (`count` is `summarize count()`).
    Summarize {
        /// Aggregates.
        aggs: Vec<Agg>,
        /// Group keys.
        by: Vec<Named>,
    },
    /// `timeline`: the records of every log type, in time order, as one story.
    Timeline,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    /// The query text.
    pub source: String,
    /// Log types of the first stage; empty for `*` (every type).
    pub types: Vec<String>,
    /// The stages after the first `|`.
    pub stages: Vec<Stage>,
    /// The field table: every field name the query reads, by slot.
    pub fields: Vec<String>,
}

/// Parses a whole query.
pub fn parse_query(src: &str) -> Result<Query, QueryError> {
    let mut p = Parser::new(src)?;
    let types = p.types()?;
    let mut stages = Vec::new();
    while !p.at_end() {
        if !types.is_empty() || !stages.is_empty() || p.is_punct("|") {
            p.expect_punct("|", "stages are separated by |")?;
        }
        let stage = p.stage()?;
        if !p.at_end() && !p.is_punct("|") {
            return Err(match stage {
                Stage::Where(_) => p.unexpected_after_expr(),
                _ => p
                    .err(format!("unexpected {} after the operator", p.describe()))
                    .hint("stages are separated by |"),
            });
        }
        stages.push(stage);
    }
    Ok(Query {
        source: src.to_string(),
        types,
        stages,
        fields: p.fields,
    })
}

/// Parses a lone expression (a condition); returns it and its field table.
pub fn parse_expr(src: &str) -> Result<(Expr, Vec<String>), QueryError> {
    let mut p = Parser::new(src)?;
    if p.at_end() {
        return Err(QueryError::new(src, p.span(), "empty condition")
            .hint("a condition looks like: qtype_name == \"A\" and phish_score > 0.8"));
    }
    let e = p.expr()?;
    if !p.at_end() {
        return Err(p.unexpected_after_expr());
    }
    Ok((e, p.fields))
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    fields: Vec<String>,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str) -> Result<Self, QueryError> {
        Ok(Parser {
            src,
            toks: lex(src)?,
            pos: 0,
            fields: Vec::new(),
        })
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.toks[self.pos.min(self.toks.len() - 1)].span
    }

    fn prev_span(&self) -> Span {
        self.toks[self.pos.saturating_sub(1)].span
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn at_end(&self) -> bool {
        matches!(self.peek(), Tok::End)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(w))
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let at = self.is_punct(p);
        self.eat_if(at)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let at = self.is_word(w);
        self.eat_if(at)
    }

    /// Consumes the current token when `at` (it is the one wanted); returns `at`.
    fn eat_if(&mut self, at: bool) -> bool {
        if at {
            self.bump();
        }
        at
    }

    /// The current word in lower case (not consumed), or an error that expected `what`
    /// there, with `hint`.
    fn word(&self, what: &str, hint: impl FnOnce() -> String) -> Result<String, QueryError> {
        match self.peek() {
            Tok::Ident(w) => Ok(w.to_ascii_lowercase()),
            _ => Err(self
                .err(format!("expected {what}, found {}", self.describe()))
                .hint(hint())),
        }
    }

    fn err(&self, message: impl Into<String>) -> QueryError {
        QueryError::new(self.src, self.span(), message)
    }

    fn describe(&self) -> String {
        let s = self.span();
        if matches!(self.peek(), Tok::End) {
            "the end of the query".into()
        } else {
            format!("`{}`", &self.src[s.start..s.end])
        }
    }

    fn expect_punct(&mut self, p: &str, hint: &str) -> Result<(), QueryError> {
        if self.eat_punct(p) {
            return Ok(());
        }
        Err(self
            .err(format!("expected `{p}`, found {}", self.describe()))
            .hint(hint))
    }

    fn slot(&mut self, name: &str) -> usize {
        match self.fields.iter().position(|f| f == name) {
            Some(i) => i,
            None => {
                self.fields.push(name.to_string());
                self.fields.len() - 1
            }
        }
    }

    fn field_ref(&mut self, name: &str) -> FieldRef {
        let slot = self.slot(name);
        let score_fallback =
            matches!(name, "phish_score" | "dga_score").then(|| self.slot("query"));
        FieldRef {
            name: name.to_string(),
            slot,
            score_fallback,
        }
    }

    /// The first stage: log types, `*`, or nothing (the query starts with an operator).
    fn types(&mut self) -> Result<Vec<String>, QueryError> {
        let mut any = false;
        match self.peek() {
            Tok::Punct("*") => any = true,
            Tok::Ident(w)
                if OPERATORS.contains(&w.as_str())
                    && !matches!(self.peek_at(1), Tok::Punct(",")) =>
            {
                return Ok(Vec::new())
            }
            Tok::Ident(_) => {}
            Tok::Punct("|") | Tok::End => return Ok(Vec::new()),
            _ => {
                return Err(self
                    .err(format!("expected log types, found {}", self.describe()))
                    .hint("a query starts with log types: dns | ..., conn,dns | ..., or * | ..."))
            }
        }
        let mut types = Vec::new();
        loop {
            match self.bump().tok {
                Tok::Ident(t) => types.push(t),
                // `*` anywhere in the list: every type (`*,dns` is `*`).
                Tok::Punct("*") => any = true,
                _ => {
                    self.pos -= 1;
                    return Err(self
                        .err(format!("expected a log type, found {}", self.describe()))
                        .hint(
                            "log types are file names without .log: dns, conn, http, files ...",
                        ));
                }
            }
            if !self.eat_punct(",") {
                break;
            }
        }
        if !self.at_end() && !self.is_punct("|") {
            return Err(self
                .err(format!(
                    "expected `|` after the log types, found {}",
                    self.describe()
                ))
                .hint("several log types are separated by commas: conn,dns | ..."));
        }
        if any {
            types.clear();
        }
        Ok(types)
    }

    fn stage(&mut self) -> Result<Stage, QueryError> {
        let span = self.span();
        let word = self.word("an operator", || {
            format!("operators: {}", OPERATORS.join(", "))
        })?;
        self.bump();
        Ok(match word.as_str() {
            "where" | "filter" => Stage::Where(self.expr()?),
            "cut" | "project" | "fields" => Stage::Cut(self.names()?),
            "rename" => Stage::Rename(self.comma_list(|p| {
                let from = p.name("a field to rename")?;
                if !p.eat_word("as") {
                    return Err(p
                        .err(format!("expected `as`, found {}", p.describe()))
                        .hint("rename old as new, other as new2"));
                }
                Ok((from, p.name("the new name")?))
            })?),
            "put" | "extend" | "eval" => Stage::Put(self.comma_list(|p| {
                let name = p.name("a field name")?;
                if !p.eat_punct("=") {
                    return Err(p
                        .err(format!("expected `=`, found {}", p.describe()))
                        .hint("put name = expression, e.g. put rd = registered_domain(query)"));
                }
                Ok(Named {
                    name,
                    expr: p.expr()?,
                })
            })?),
            "sort" | "order" => {
                self.eat_word("by");
                Stage::Sort(self.comma_list(|p| {
                    let key = p.named()?;
                    let desc = if p.eat_word("desc") {
                        true
                    } else {
                        p.eat_word("asc");
                        false
                    };
                    Ok((key, desc))
                })?)
            }
            "head" | "limit" | "take" => Stage::Head(self.opt_count(10)?),
            "tail" => Stage::Tail(self.opt_count(10)?),
            "uniq" | "distinct" => {
                if self.at_stage_end() {
                    Stage::Uniq(Vec::new())
                } else {
                    Stage::Uniq(self.names()?)
                }
            }
            "count" => Stage::Summarize {
                aggs: vec![Agg {
                    name: "count".into(),
                    func: AggFunc::Count,
                    arg: None,
                }],
                by: if self.eat_word("by") {
                    self.keys()?
                } else {
                    Vec::new()
                },
            },
            "top" | "rare" => {
                let n = self.opt_count(10)?;
                if self.at_stage_end() {
                    return Err(self
                        .err(format!("`{word}` needs the fields to count"))
                        .hint(format!("{word} 10 query, or {word} 10 host, mime_type")));
                }
                Stage::Top {
                    n,
                    keys: self.keys()?,
                    rare: word == "rare",
                }
            }
            "summarize" | "stats" | "summarise" => {
                let aggs = if self.is_word("by") {
                    Vec::new()
                } else {
                    self.comma_list(Self::agg)?
                };
                let by = if self.eat_word("by") {
                    self.keys()?
                } else {
                    Vec::new()
                };
                if aggs.is_empty() && by.is_empty() {
                    return Err(self
                        .err("summarize needs aggregates or keys")
                        .hint("summarize count(), avg(duration) by id.orig_h"));
                }
                Stage::Summarize { aggs, by }
            }
            "timeline" => Stage::Timeline,
            _ => {
                let mut e = QueryError::new(self.src, span, format!("unknown operator `{word}`"));
                let list = OPERATORS.join(", ");
                e = match nearest(&word, OPERATORS.iter().copied()) {
                    Some(n) => e.hint(format!("did you mean `{n}`? Operators: {list}")),
                    None => e.hint(format!("operators: {list}")),
                };
                return Err(e);
            }
        })
    }

    fn at_stage_end(&self) -> bool {
        self.at_end() || self.is_punct("|")
    }

    fn opt_count(&mut self, default: usize) -> Result<usize, QueryError> {
        match self.peek() {
            Tok::Int(n) => {
                let n = usize::try_from(*n).unwrap_or(usize::MAX);
                self.bump();
                Ok(n)
            }
            Tok::Float(_) => Err(self.err("expected a whole number").hint("head 10")),
            _ => Ok(default),
        }
    }

    fn name(&mut self, what: &str) -> Result<String, QueryError> {
        match self.peek().clone() {
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => {
                self.bump();
                Ok(s)
            }
            Tok::Quoted(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self
                .err(format!("expected {what}, found {}", self.describe()))
                .hint("a field name such as query or id.orig_h; `back quotes` for odd names")),
        }
    }

    fn names(&mut self) -> Result<Vec<String>, QueryError> {
        let mut out = vec![self.name("a field name")?];
        // Commas are optional between names (`cut ts query` like zeek-cut).
        while self.eat_punct(",") || matches!(self.peek(), Tok::Ident(_) | Tok::Quoted(_)) {
            out.push(self.name("a field name")?);
        }
        Ok(out)
    }

    /// `[name =] expr`
    fn named(&mut self) -> Result<Named, QueryError> {
        if matches!(self.peek(), Tok::Ident(_) | Tok::Quoted(_))
            && matches!(self.peek_at(1), Tok::Punct("="))
        {
            let name = self.name("a name")?;
            self.bump();
            return Ok(Named {
                name,
                expr: self.expr()?,
            });
        }
        let start = self.span().start;
        let expr = self.expr()?;
        let text = self.src[start..self.prev_span().end].trim().to_string();
        Ok(Named {
            name: default_name(&expr, &text),
            expr,
        })
    }

    /// One or more `item`s separated by commas.
    fn comma_list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, QueryError>,
    ) -> Result<Vec<T>, QueryError> {
        let mut out = Vec::new();
        loop {
            out.push(item(self)?);
            if !self.eat_punct(",") {
                return Ok(out);
            }
        }
    }

    fn keys(&mut self) -> Result<Vec<Named>, QueryError> {
        self.comma_list(Self::named)
    }

    fn agg(&mut self) -> Result<Agg, QueryError> {
        let mut name = None;
        if matches!(self.peek(), Tok::Ident(_) | Tok::Quoted(_))
            && matches!(self.peek_at(1), Tok::Punct("="))
        {
            name = Some(self.name("a name")?);
            self.bump();
        }
        let span = self.span();
        let word = self.word("an aggregate", || {
            let list: Vec<String> = AGGREGATES.iter().map(|a| format!("{a}()")).collect();
            format!("aggregates: {}", list.join(" "))
        })?;
        let func = match word.as_str() {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "avg" | "mean" => AggFunc::Avg,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "dcount" | "count_distinct" => AggFunc::Dcount,
            "values" | "set" | "make_set" => AggFunc::Values,
            _ => {
                let list = AGGREGATES
                    .iter()
                    .map(|a| format!("{a}()"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let e = QueryError::new(self.src, span, format!("unknown aggregate `{word}`"));
                return Err(match nearest(&word, AGGREGATES.iter().copied()) {
                    Some(n) => e.hint(format!("did you mean `{n}()`? Aggregates: {list}")),
                    None => e.hint(format!("aggregates: {list}")),
                });
            }
        };
        self.bump();
        if !self.eat_punct("(") {
            return Err(self
                .err(format!("expected `(` after `{word}`"))
                .hint(format!(
                    "{word}() takes its argument in parentheses: {word}(x)"
                )));
        }
        let mut arg = None;
        let mut arg_text = String::new();
        if !self.is_punct(")") {
            let start = self.span().start;
            let e = self.expr()?;
            arg_text = default_name(&e, self.src[start..self.prev_span().end].trim());
            arg = Some(e);
        }
        self.expect_punct(")", "close the aggregate's parentheses")?;
        if arg.is_none() && func != AggFunc::Count {
            return Err(QueryError::new(
                self.src,
                span.to(self.prev_span()),
                format!("{word}() needs an argument"),
            )
            .hint(format!("{word}(field), e.g. {word}(duration)")));
        }
        let name = name.unwrap_or_else(|| {
            if arg_text.is_empty() {
                word.clone()
            } else {
                format!("{word}_{arg_text}")
            }
        });
        Ok(Agg { name, func, arg })
    }

    // Expressions, lowest precedence first.

    fn expr(&mut self) -> Result<Expr, QueryError> {
        self.or()
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut a = self.and()?;
        while self.eat_word("or") || self.eat_punct("||") {
            a = Expr::Or(Box::new(a), Box::new(self.and()?));
        }
        Ok(a)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut a = self.not()?;
        while self.eat_word("and") || self.eat_punct("&&") {
            a = Expr::And(Box::new(a), Box::new(self.not()?));
        }
        Ok(a)
    }

    fn not(&mut self) -> Result<Expr, QueryError> {
        if self.eat_word("not") || self.eat_punct("!") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        if self.eat_word("exists") {
            let name = self.name("a field name after `exists`")?;
            return Ok(Expr::Exists(self.field_ref(&name)));
        }
        let a = self.additive()?;
        let op_span = self.span();
        let b = |p: &mut Self| p.additive().map(Box::new);
        let cmp = |op| Some(op);
        let op = match self.peek() {
            Tok::Punct("==") => cmp(CmpOp::Eq),
            Tok::Punct("!=") => cmp(CmpOp::Ne),
            Tok::Punct("<") => cmp(CmpOp::Lt),
            Tok::Punct("<=") => cmp(CmpOp::Le),
            Tok::Punct(">") => cmp(CmpOp::Gt),
            Tok::Punct(">=") => cmp(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            return Ok(Expr::Cmp(op, Box::new(a), b(self)?));
        }
        if self.is_punct("=~") || self.is_punct("!~") {
            let negate = self.is_punct("!~");
            self.bump();
            let (pat, span) = match self.peek().clone() {
                Tok::Regex(s) | Tok::Str(s) => (s, self.span()),
                _ => return Err(self
                    .err(format!("expected a regex, found {}", self.describe()))
                    .hint(
                        "a regex goes in slashes or quotes: query =~ /^xn--/ or query =~ \"^xn--\"",
                    )),
            };
            self.bump();
            let re = regex::bytes::Regex::new(&pat).map_err(|e| {
                let msg = e.to_string();
                let last = msg
                    .lines()
                    .last()
                    .unwrap_or("invalid regex")
                    .trim()
                    .to_string();
                QueryError::new(self.src, span, format!("invalid regex: {last}"))
                    .hint("regex syntax: https://docs.rs/regex/#syntax")
            })?;
            return Ok(Expr::Match(Box::new(a), re, negate));
        }
        if self.is_word("in") {
            self.bump();
            return Ok(Expr::In(Box::new(a), b(self)?, false));
        }
        if self.is_word("not") && matches!(self.peek_at(1), Tok::Ident(w) if w == "in") {
            self.bump();
            self.bump();
            return Ok(Expr::In(Box::new(a), b(self)?, true));
        }
        for (w, op) in [
            ("contains", TextOp::Contains),
            ("startswith", TextOp::StartsWith),
            ("endswith", TextOp::EndsWith),
        ] {
            if self.eat_word(w) {
                return Ok(Expr::Text(op, Box::new(a), b(self)?));
            }
        }
        if self.is_punct("=") {
            return Err(QueryError::new(self.src, op_span, "`=` does not compare")
                .hint("use == to compare: query == \"example.com\""));
        }
        Ok(a)
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        self.left_assoc(
            &[("+", ArithOp::Add), ("-", ArithOp::Sub)],
            Self::multiplicative,
        )
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let ops = [
            ("*", ArithOp::Mul),
            ("/", ArithOp::Div),
            ("%", ArithOp::Rem),
        ];
        self.left_assoc(&ops, Self::unary)
    }

    /// One precedence level of left-associative arithmetic: operands parsed by `operand`,
    /// joined by any of `ops`.
    fn left_assoc(
        &mut self,
        ops: &[(&str, ArithOp)],
        operand: fn(&mut Self) -> Result<Expr, QueryError>,
    ) -> Result<Expr, QueryError> {
        let mut a = operand(self)?;
        while let Some(&(_, op)) = ops.iter().find(|(p, _)| self.eat_punct(p)) {
            a = Expr::Arith(op, Box::new(a), Box::new(operand(self)?));
        }
        Ok(a)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.eat_punct("-") {
            return Ok(match self.unary()? {
                Expr::Lit(Value::Count(c)) => Expr::Lit(
                    i64::try_from(c).map_or(Value::Double(-(c as f64)), |i| Value::Int(-i)),
                ),
                Expr::Lit(Value::Double(d)) => Expr::Lit(Value::Double(-d)),
                Expr::Lit(Value::Interval(d)) => Expr::Lit(Value::Interval(-d)),
                e => Expr::Neg(Box::new(e)),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let here = self.pos;
        let t = self.bump();
        let lit = |v: Value<'static>| Ok(Expr::Lit(v));
        match t.tok {
            Tok::Str(s) => lit(Value::Str(s.into_bytes().into())),
            Tok::Int(n) => lit(Value::Count(n)),
            Tok::Float(f) => lit(Value::Double(f)),
            Tok::Interval(s) => lit(Value::Interval(s)),
            Tok::Time(t) => lit(Value::Time(t)),
            Tok::Addr(a) => lit(Value::Addr(a)),
            Tok::Subnet(a, n) => lit(Value::Subnet(a, n)),
            Tok::Quoted(name) => Ok(Expr::Field(self.field_ref(&name))),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect_punct(")", "close the parenthesis")?;
                Ok(e)
            }
            Tok::Punct("[") => Ok(Expr::List(
                self.exprs_until("]", "list items are separated by commas: [\"A\", \"AAAA\"]")?,
            )),
            Tok::Ident(w) if w == "true" || w == "T" => lit(Value::Bool(true)),
            Tok::Ident(w) if w == "false" || w == "F" => lit(Value::Bool(false)),
            Tok::Ident(w) if self.is_punct("(") => self.call(&w, t.span),
            Tok::Ident(w) if KEYWORDS.contains(&w.as_str()) => {
                self.pos = here;
                Err(self
                    .err(format!("expected a value, found the keyword `{w}`"))
                    .hint("a field named like a keyword goes in back quotes: `in`"))
            }
            Tok::Ident(w) => Ok(Expr::Field(self.field_ref(&w))),
            Tok::Regex(_) | Tok::Punct(_) | Tok::End => {
                self.pos = here;
                Err(self
                    .err(format!("expected a value, found {}", self.describe()))
                    .hint("a value is a field, a literal (\"text\", 42, 0.8, 10.0.0.0/8, 5m, 2024-04-12T09:00), a list [..] or a function call"))
            }
        }
    }

    /// Expressions separated by commas up to `close` (eaten); `hint` is for a missing comma.
    fn exprs_until(&mut self, close: &str, hint: &str) -> Result<Vec<Expr>, QueryError> {
        let mut items = Vec::new();
        if !self.eat_punct(close) {
            loop {
                items.push(self.expr()?);
                if self.eat_punct(close) {
                    break;
                }
                self.expect_punct(",", hint)?;
            }
        }
        Ok(items)
    }

    fn call(&mut self, name: &str, span: Span) -> Result<Expr, QueryError> {
        let Some((func, min, max)) = Func::by_name(&name.to_ascii_lowercase()) else {
            let e = QueryError::new(self.src, span, format!("unknown function `{name}`"));
            let names = FUNCTIONS.iter().map(|f| f.0);
            if AGGREGATES.contains(&name) {
                return Err(e.hint(format!(
                    "{name}() is an aggregate: summarize {name}(...) by ..."
                )));
            }
            return Err(match nearest(name, names) {
                Some(n) => e.hint(format!("did you mean `{n}`?")),
                None => e.hint(format!(
                    "functions: {}",
                    FUNCTIONS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
                )),
            });
        };
        self.bump(); // (
        let mut args = self.exprs_until(")", "arguments are separated by commas")?;
        if func == Func::Direction && args.len() == 1 {
            return Err(QueryError::new(
                self.src,
                span.to(self.prev_span()),
                "direction() takes no argument (the connection's id.orig_h and id.resp_h) or two",
            )
            .hint("usage: direction() or direction(orig, resp)"));
        }
        if func == Func::Direction && args.is_empty() {
            // The connection's own ends.
            args = vec![
                Expr::Field(self.field_ref("id.orig_h")),
                Expr::Field(self.field_ref("id.resp_h")),
            ];
        }
        let full = span.to(self.prev_span());
        let usage = FUNCTIONS.iter().find(|f| f.1 == func).map_or("", |f| f.4);
        if args.len() < min || args.len() > max {
            return Err(QueryError::new(
                self.src,
                full,
                format!(
                    "{name}() takes {} argument{}, not {}",
                    if min == max {
                        min.to_string()
                    } else {
                        format!("{min} to {max}")
                    },
                    if max == 1 { "" } else { "s" },
                    args.len()
                ),
            )
            .hint(format!("usage: {usage}")));
        }
        if func == Func::Strftime {
            if let Some(Expr::Lit(Value::Str(f))) = args.first() {
                if !functions::strftime_ok(&String::from_utf8_lossy(f)) {
                    return Err(
                        QueryError::new(self.src, full, "invalid strftime format").hint(
                            "formats use %Y %m %d %H %M %S ...: strftime(\"%Y-%m-%d %H:%M\", ts)",
                        ),
                    );
                }
            }
        }
        if func == Func::Score {
            if !self.eat_punct(".") {
                return Err(QueryError::new(self.src, full, "score() gives two scores: pick one")
                    .hint("score(query).phish or score(query).dga (or phish_score(query), dga_score(query))"));
            }
            let kind = match self.bump().tok {
                Tok::Ident(w) if w == "phish" => ScoreKind::Phish,
                Tok::Ident(w) if w == "dga" => ScoreKind::Dga,
                _ => {
                    return Err(QueryError::new(self.src, self.prev_span(), "unknown score")
                        .hint("score(query).phish or score(query).dga"))
                }
            };
            let arg = args.pop().unwrap_or(Expr::Lit(Value::Unset));
            return Ok(Expr::Score(Box::new(arg), kind));
        }
        Ok(Expr::Call(func, args))
    }

    /// An error for a token after a complete expression.
    fn unexpected_after_expr(&self) -> QueryError {
        let e = self.err(format!(
            "unexpected {} after the expression",
            self.describe()
        ));
        match self.peek() {
            Tok::Ident(w) => {
                match nearest(w, ["and", "or", "in", "contains", "startswith", "endswith"]) {
                    Some(n) => e.hint(format!(
                        "did you mean `{n}`? Comparisons: {COMPARISONS}; combine with and, or, not"
                    )),
                    None => e.hint(format!(
                    "unknown operator `{w}`; comparisons: {COMPARISONS}; combine with and, or, not"
                )),
                }
            }
            Tok::Punct("=") => e.hint("use == to compare"),
            _ => e.hint(format!(
                "comparisons: {COMPARISONS}; combine with and, or, not"
            )),
        }
    }
}

/// The column name an unnamed key gets: a field's name, `bucket(ts, 1h)`'s field, a function's
/// name, or the expression's text.
fn default_name(e: &Expr, text: &str) -> String {
    match e {
        Expr::Field(r) => r.name.clone(),
        Expr::Call(Func::Bucket, args) => args
            .first()
            .and_then(Expr::as_field)
            .unwrap_or("bucket")
            .to_string(),
        Expr::Call(f, _) => f.name().to_string(),
        Expr::Score(_, ScoreKind::Phish) => "phish_score".into(),
        Expr::Score(_, ScoreKind::Dga) => "dga_score".into(),
        _ => text.to_string(),
    }
}
