//! The command line of a binary, parsed once and kept for `print-config`, which needs to know
//! where each value came from.

use clap::{ArgMatches, Parser};

/// A parsed command line.
pub struct ParsedCli<C> {
    /// What was parsed.
    pub cli: C,
    matches: ArgMatches,
}

impl<C: Parser> ParsedCli<C> {
    /// Parses the process's arguments and environment (exits with clap's message on error).
    pub fn parse() -> Self {
        let matches = C::command().get_matches();
        match C::from_arg_matches(&matches) {
            Ok(cli) => Self { cli, matches },
            Err(error) => error.exit(),
        }
    }

    /// `print-config`: the effective settings on stdout, secrets redacted.
    pub fn print_config(&self) -> anyhow::Result<()> {
        crate::config::print_effective(&C::command(), &self.matches, &mut std::io::stdout())?;
        Ok(())
    }
}
