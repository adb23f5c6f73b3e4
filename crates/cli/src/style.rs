//! Terminal output: colour when stdout is a terminal (and `NO_COLOR` is
//! unset), and the error printer.

use std::io::IsTerminal;

/// Whether to colour stdout.
pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Wrap `text` in an ANSI colour when `on`.
pub fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub const GREEN: &str = "32";
pub const YELLOW: &str = "33";
pub const RED: &str = "1;31";
pub const DIM: &str = "2";
pub const BOLD: &str = "1";

/// Print `error: ...` and each cause on its own line, to stderr.
pub fn print_error(err: &anyhow::Error) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprintln!("{} {err}", paint(color, RED, "error:"));
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
