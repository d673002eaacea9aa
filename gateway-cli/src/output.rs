//! Human output: columns aligned to their widest cell, colour only when stdout is a terminal
//! (and `NO_COLOR` is unset, <https://no-color.org>).

use std::io::IsTerminal;

/// A colour for one cell or word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Nothing special.
    Plain,
    /// Good: accepted, matched, forwarded.
    Good,
    /// Worth a look: lost on precedence, warnings.
    Warn,
    /// Bad: not matched, not accepted, findings.
    Bad,
    /// Secondary text.
    Dim,
    /// Headings.
    Bold,
}

/// Whether to colour, decided once per command.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    colour: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub(crate) fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            colour: !no_color && std::io::stdout().is_terminal(),
        }
    }

    /// `text` in `tone` (unchanged without colour).
    pub(crate) fn paint(self, text: &str, tone: Tone) -> String {
        let code = match tone {
            Tone::Plain => return text.to_owned(),
            Tone::Good => "32",
            Tone::Warn => "33",
            Tone::Bad => "31",
            Tone::Dim => "2",
            Tone::Bold => "1",
        };
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// A table printed with each column as wide as its widest cell; the last column is not
/// padded. Cells carry a tone, applied after padding so escapes do not skew the widths.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: Vec<Vec<(String, Tone)>>,
    min_widths: Vec<(usize, usize)>,
    /// One space between columns instead of two.
    narrow: bool,
}

impl Table {
    /// Pads column `column` to at least `width` characters.
    pub(crate) fn min_width(&mut self, column: usize, width: usize) {
        self.min_widths.push((column, width));
    }

    /// Separates columns with one space instead of two.
    pub(crate) fn narrow(&mut self) {
        self.narrow = true;
    }

    fn gap(&self) -> &'static str {
        if self.narrow { " " } else { "  " }
    }

    /// Adds a row of plain cells.
    pub(crate) fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows
            .push(cells.into_iter().map(|c| (c.into(), Tone::Plain)).collect());
    }

    /// Adds a row of toned cells.
    pub(crate) fn toned_row(&mut self, cells: Vec<(String, Tone)>) {
        self.rows.push(cells);
    }

    /// The lines, each prefixed by `indent`, without trailing spaces.
    pub(crate) fn render(&self, style: Style, indent: &str) -> Vec<String> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|(text, _)| text.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(
                        self.min_widths
                            .iter()
                            .filter(|(col, _)| *col == c)
                            .map(|(_, w)| *w)
                            .max()
                            .unwrap_or(0),
                    )
            })
            .collect();
        self.rows
            .iter()
            .map(|row| {
                let mut line = indent.to_owned();
                for (i, (text, tone)) in row.iter().enumerate() {
                    let last = i + 1 == row.len();
                    if i > 0 {
                        line.push_str(self.gap());
                    }
                    line.push_str(&style.paint(text, *tone));
                    if !last {
                        let width = widths.get(i).copied().unwrap_or(0);
                        let pad = width.saturating_sub(text.chars().count());
                        line.push_str(&" ".repeat(pad));
                    }
                }
                line.trim_end().to_owned()
            })
            .collect()
    }

    /// Prints the lines.
    pub(crate) fn print(&self, style: Style, indent: &str) {
        for line in self.render(style, indent) {
            println!("{line}");
        }
    }
}
