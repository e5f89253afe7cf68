//! Listing output shared by the inspection verbs: an aligned table (what
//! libsmartcols prints for util-linux), raw (`-r`: one space between cells,
//! unsafe bytes as `\xHH`) and JSON (`-J`: the shape `lsns -J` prints).

use std::io::{self, Write};

/// One output column.
#[derive(Clone, Debug)]
pub struct Column {
    /// Header; lower-cased it is the JSON key.
    pub name: String,
    /// Right-aligned (numbers).
    pub right: bool,
    /// May be cut to fit the terminal.
    pub trunc: bool,
    /// Numbers are numbers in JSON.
    pub number: bool,
}

impl Column {
    pub fn text(name: &str) -> Column {
        Column {
            name: name.to_string(),
            right: false,
            trunc: false,
            number: false,
        }
    }

    pub fn number(name: &str) -> Column {
        Column {
            right: true,
            number: true,
            ..Column::text(name)
        }
    }

    pub fn truncated(mut self) -> Column {
        self.trunc = true;
        self
    }
}

/// One value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Nothing to show: empty in tables, `null` in JSON.
    Null,
    Num(u64),
    Text(String),
    /// Several values: one per line in tables (comma-separated with
    /// `--nowrap` or `--raw`), joined by newlines in JSON as lsns does.
    List(Vec<String>),
}

impl Cell {
    pub fn opt_num(n: Option<u64>) -> Cell {
        n.map_or(Cell::Null, Cell::Num)
    }

    pub fn opt_text(s: Option<String>) -> Cell {
        s.map_or(Cell::Null, Cell::Text)
    }

    pub fn list(items: Vec<String>) -> Cell {
        if items.is_empty() {
            Cell::Null
        } else {
            Cell::List(items)
        }
    }

    fn lines(&self, wrap: bool) -> Vec<String> {
        match self {
            Cell::Null => vec![String::new()],
            Cell::Num(n) => vec![n.to_string()],
            Cell::Text(s) => vec![escape(s, false)],
            Cell::List(items) if wrap => items.iter().map(|s| escape(s, false)).collect(),
            Cell::List(items) => vec![escape(&items.join(","), false)],
        }
    }
}

/// How to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Raw,
    Json,
}

#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub format: Format,
    pub headings: bool,
    /// Multi-value cells on several lines (tables only).
    pub wrap: bool,
    /// Cut truncatable columns so that lines fit this width.
    pub width: Option<usize>,
}

impl Style {
    /// The usual choice from util-linux-style flags: truncation to the terminal
    /// width only when stdout is a terminal and `-u` was not given.
    pub fn from_flags(
        json: bool,
        raw: bool,
        noheadings: bool,
        nowrap: bool,
        notruncate: bool,
    ) -> Style {
        let format = if json {
            Format::Json
        } else if raw {
            Format::Raw
        } else {
            Format::Table
        };
        Style {
            format,
            headings: !noheadings,
            wrap: !nowrap && !raw,
            width: if notruncate { None } else { terminal_width() },
        }
    }
}

/// Columns of the terminal on stdout, if stdout is one.
pub fn terminal_width() -> Option<usize> {
    let out = io::stdout();
    if !rustix::termios::isatty(&out) {
        return None;
    }
    match rustix::termios::tcgetwinsize(&out) {
        Ok(ws) if ws.ws_col > 0 => Some(usize::from(ws.ws_col)),
        _ => std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .or(Some(80)),
    }
}

/// A table: its JSON name (`namespaces` for lsns), columns and rows.
#[derive(Clone, Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &'static str, columns: Vec<Column>) -> Table {
        Table {
            name,
            columns,
            rows: Vec::new(),
        }
    }

    /// Prints the table to stdout; a closed pipe (`| head`) is not an error.
    pub fn print(&self, style: &Style) -> io::Result<()> {
        let stdout = io::stdout();
        let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
        match self.write(style, &mut out).and_then(|()| out.flush()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }

    pub fn write(&self, style: &Style, out: &mut impl Write) -> io::Result<()> {
        match style.format {
            Format::Json => self.write_json(style, out),
            Format::Raw => self.write_raw(style, out),
            Format::Table => self.write_table(style, out),
        }
    }

    fn write_raw(&self, style: &Style, out: &mut impl Write) -> io::Result<()> {
        if style.headings {
            let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            writeln!(out, "{}", names.join(" "))?;
        }
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    out.write_all(b" ")?;
                }
                match cell {
                    Cell::Null => {}
                    Cell::Num(n) => write!(out, "{n}")?,
                    Cell::Text(s) => out.write_all(escape(s, true).as_bytes())?,
                    Cell::List(items) => {
                        out.write_all(escape(&items.join(","), true).as_bytes())?
                    }
                }
            }
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn write_table(&self, style: &Style, out: &mut impl Write) -> io::Result<()> {
        let ncols = self.columns.len();
        let cells: Vec<Vec<Vec<String>>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.lines(style.wrap)).collect())
            .collect();
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|c| if style.headings { width(&c.name) } else { 0 })
            .collect();
        for row in &cells {
            for (i, lines) in row.iter().enumerate() {
                for l in lines {
                    widths[i] = widths[i].max(width(l));
                }
            }
        }
        if let Some(limit) = style.width {
            fit(&mut widths, &self.columns, limit);
        }
        let mut line = String::with_capacity(256);
        if style.headings {
            let heads: Vec<Vec<String>> =
                self.columns.iter().map(|c| vec![c.name.clone()]).collect();
            self.emit(&heads, &widths, &mut line, out)?;
        }
        for row in &cells {
            debug_assert_eq!(row.len(), ncols);
            self.emit(row, &widths, &mut line, out)?;
        }
        Ok(())
    }

    /// Writes one row (several lines when a cell has several).
    fn emit(
        &self,
        row: &[Vec<String>],
        widths: &[usize],
        line: &mut String,
        out: &mut impl Write,
    ) -> io::Result<()> {
        let height = row.iter().map(Vec::len).max().unwrap_or(1);
        // The last column that has text on a line is not padded.
        for h in 0..height {
            line.clear();
            let last = row
                .iter()
                .rposition(|l| l.get(h).is_some_and(|s| !s.is_empty()))
                .unwrap_or(0);
            for (i, col) in self.columns.iter().enumerate() {
                if i > last {
                    break;
                }
                if i > 0 {
                    line.push(' ');
                }
                let text = row[i].get(h).map_or("", String::as_str);
                let text = cut(text, widths[i]);
                let pad = widths[i].saturating_sub(width(text));
                if col.right {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(text);
                } else {
                    line.push_str(text);
                    if i < last {
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn write_json(&self, style: &Style, out: &mut impl Write) -> io::Result<()> {
        let keys: Vec<String> = self
            .columns
            .iter()
            .map(|c| serde_json::to_string(&c.name.to_lowercase()).unwrap_or_default())
            .collect();
        write!(out, "{{\n   \"{}\": [", self.name)?;
        for (r, row) in self.rows.iter().enumerate() {
            out.write_all(if r == 0 { b"\n      {" } else { b",{" })?;
            for (i, cell) in row.iter().enumerate() {
                out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
                write!(out, "         {}: ", keys[i])?;
                match cell {
                    Cell::Null => out.write_all(b"null")?,
                    Cell::Num(n) if self.columns[i].number => write!(out, "{n}")?,
                    Cell::Num(n) => write!(out, "\"{n}\"")?,
                    Cell::Text(s) => serde_json::to_writer(&mut *out, s)?,
                    Cell::List(items) => {
                        let sep = if style.wrap { "\n" } else { "," };
                        serde_json::to_writer(&mut *out, &items.join(sep))?
                    }
                }
            }
            out.write_all(b"\n      }")?;
        }
        out.write_all(b"\n   ]\n}\n")
    }
}

/// Shrinks truncatable columns (rightmost first) until the line fits `limit`.
fn fit(widths: &mut [usize], columns: &[Column], limit: usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + w.len().saturating_sub(1);
    for i in (0..columns.len()).rev() {
        let over = total(widths).saturating_sub(limit);
        if over == 0 {
            return;
        }
        if columns[i].trunc {
            let min = columns[i].name.len().min(widths[i]);
            widths[i] = widths[i].saturating_sub(over).max(min);
        }
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn cut(s: &str, w: usize) -> &str {
    match s.char_indices().nth(w) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Escapes what must not reach a terminal raw (control bytes, DEL) as `\xHH`;
/// in raw output also space and backslash, so that cells stay one word.
pub fn escape(s: &str, raw: bool) -> String {
    let needs = |c: char| c.is_control() || (raw && (c == ' ' || c == '\\'));
    if !s.chars().any(needs) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs(c) && (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(
            "namespaces",
            vec![
                Column::number("NS"),
                Column::text("TYPE"),
                Column::number("PID"),
                Column::text("COMMAND").truncated(),
            ],
        );
        t.rows.push(vec![
            Cell::Num(4026531833),
            Cell::Text("net".into()),
            Cell::Num(1),
            Cell::Text("sleep 30".into()),
        ]);
        t.rows.push(vec![
            Cell::Num(4026532177),
            Cell::Text("uts".into()),
            Cell::Null,
            Cell::Null,
        ]);
        t
    }

    fn render(t: &Table, style: Style) -> String {
        let mut v = Vec::new();
        t.write(&style, &mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    const PLAIN: Style = Style {
        format: Format::Table,
        headings: true,
        wrap: true,
        width: None,
    };

    #[test]
    fn table_aligns_like_libsmartcols() {
        assert_eq!(
            render(&sample(), PLAIN),
            "        NS TYPE PID COMMAND\n4026531833 net    1 sleep 30\n4026532177 uts\n"
        );
    }

    #[test]
    fn raw_escapes_spaces_and_keeps_empty_cells() {
        let s = Style {
            format: Format::Raw,
            headings: false,
            ..PLAIN
        };
        assert_eq!(
            render(&sample(), s),
            "4026531833 net 1 sleep\\x2030\n4026532177 uts  \n"
        );
    }

    #[test]
    fn json_has_numbers_and_nulls() {
        let s = Style {
            format: Format::Json,
            ..PLAIN
        };
        let text = render(&sample(), s);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["namespaces"][0]["ns"], 4026531833u64);
        assert_eq!(v["namespaces"][0]["command"], "sleep 30");
        assert!(v["namespaces"][1]["pid"].is_null());
        assert!(text.starts_with("{\n   \"namespaces\": [\n      {\n         \"ns\": 4026531833,"));
        let empty = Table::new("namespaces", vec![Column::text("A")]);
        let v: serde_json::Value = serde_json::from_str(&render(&empty, s)).unwrap();
        assert_eq!(v["namespaces"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn truncation_cuts_the_command() {
        let s = Style {
            width: Some(27),
            ..PLAIN
        };
        let out = render(&sample(), s);
        assert!(out.lines().all(|l| l.chars().count() <= 27), "{out}");
        assert!(out.contains("net    1 sleep 3\n"), "{out}");
    }

    #[test]
    fn lists_wrap_onto_lines() {
        let mut t = Table::new("x", vec![Column::text("A"), Column::text("B")]);
        t.rows.push(vec![
            Cell::Text("a".into()),
            Cell::List(vec!["/x".into(), "/y".into()]),
        ]);
        assert_eq!(render(&t, PLAIN), "A B\na /x\n  /y\n");
        let nowrap = Style {
            wrap: false,
            ..PLAIN
        };
        assert_eq!(render(&t, nowrap), "A B\na /x,/y\n");
    }
}
