//! Statements built at run time (list filters), spelled once for both backends.
//!
//! A filter adds conditions only for what the caller asked, so the SQL varies; this
//! builds it with numbered placeholders in the backend's dialect and keeps the
//! parameters as neutral values the backend binds.

/// Which SQL dialect a statement is spelled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?N` placeholders, `instr`.
    Sqlite,
    /// `$N` placeholders, `strpos`.
    Postgres,
}

impl Dialect {
    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// A condition "`column` contains the parameter" with the parameter as `{}`.
    pub(crate) fn contains(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({column}, {{}}) > 0"),
            Dialect::Postgres => format!("strpos({column}, {{}}) > 0"),
        }
    }
}

/// A value bound to a built statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// A `SELECT` under construction: conditions joined with `AND`, then ordering and a page.
#[derive(Debug)]
pub(crate) struct Select {
    dialect: Dialect,
    sql: String,
    conditions: usize,
    params: Vec<Param>,
}

impl Select {
    pub(crate) fn new(dialect: Dialect, head: &str) -> Self {
        Select {
            dialect,
            sql: head.to_owned(),
            conditions: 0,
            params: Vec::new(),
        }
    }

    /// Adds a condition; every `{}` in it stands for `param` (bound once).
    pub(crate) fn and(&mut self, condition: &str, param: Param) {
        self.params.push(param);
        let placeholder = self.dialect.placeholder(self.params.len());
        self.sql.push_str(if self.conditions == 0 {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(&condition.replace("{}", &placeholder));
        self.conditions += 1;
    }

    /// Orders the rows and takes one page (the size capped at
    /// [`MAX_PAGE_SIZE`](crate::message::MAX_PAGE_SIZE)).
    pub(crate) fn page(&mut self, order: &str, limit: u32, offset: u32) {
        self.sql.push_str(" ORDER BY ");
        self.sql.push_str(order);
        for (word, n) in [
            ("LIMIT", limit.min(crate::message::MAX_PAGE_SIZE)),
            ("OFFSET", offset),
        ] {
            self.params.push(Param::Int(i64::from(n)));
            let placeholder = self.dialect.placeholder(self.params.len());
            self.sql.push_str(&format!(" {word} {placeholder}"));
        }
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn params(&self) -> &[Param] {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_numbered_conditions_and_a_capped_page() {
        let mut q = Select::new(Dialect::Postgres, "SELECT x FROM t");
        q.and("a = {}", Param::Int(1));
        q.and(&Dialect::Postgres.contains("b"), Param::Text("s".into()));
        q.page("x DESC", 5000, 7);
        assert_eq!(
            q.sql(),
            "SELECT x FROM t WHERE a = $1 AND strpos(b, $2) > 0 ORDER BY x DESC LIMIT $3 OFFSET $4"
        );
        assert_eq!(q.params()[2], Param::Int(1000));
        let mut q = Select::new(Dialect::Sqlite, "SELECT x FROM t");
        q.and("({} OR {})", Param::Bool(true));
        assert_eq!(q.sql(), "SELECT x FROM t WHERE (?1 OR ?1)");
    }
}
