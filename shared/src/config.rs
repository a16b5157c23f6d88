//! Configuration pieces both services read: the database URL (redacted when printed), the
//! rate-limit switch and the JWT secrets; the defaults of a settings struct, read from its clap
//! definition so they are written once; and `print-config`.

use std::{fmt, str::FromStr};

use secrecy::{ExposeSecret, SecretString};

/// Which storage backend a `DATABASE_URL` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`: production.
    Postgres,
    /// `sqlite:`: the embedded default.
    Sqlite,
}

/// A database URL whose `Debug`/`Display` never shows the password.
#[derive(Clone)]
pub struct DatabaseUrl {
    url: SecretString,
    backend: Backend,
}

/// The `DATABASE_URL` scheme is neither Postgres nor SQLite.
#[derive(Debug, thiserror::Error)]
#[error("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")]
pub struct UnsupportedDatabaseUrl;

impl DatabaseUrl {
    /// The backend this URL selects.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The full URL, for the connection pool only.
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }
}

impl FromStr for DatabaseUrl {
    type Err = UnsupportedDatabaseUrl;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let backend = if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Backend::Postgres
        } else if s.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(UnsupportedDatabaseUrl);
        };
        Ok(Self {
            url: SecretString::from(s.to_owned()),
            backend,
        })
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keep scheme, host and database; drop anything that may be a credential.
        f.write_str(&redact_url_credentials(self.url.expose_secret()))
    }
}

/// Bytes a signing key needs at least: HS256 is as strong as its key, and RFC 7518 (3.2) asks
/// for a key at least as long as the hash output.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// The example keys shipped in `deploy/` (`.env.example`, `k8s/secrets.yaml`): anyone can
/// read them, so a deployment that kept one signs tokens anyone can forge.
pub const PLACEHOLDER_SIGNING_KEYS: [&str; 2] = [
    "CHANGE-ME-example-jwt-secret-not-for-production-use",
    "REPLACE_ME-jwt-signing-key",
];

/// Checks a signing key: at least [`MIN_SIGNING_KEY_BYTES`], and none of the shipped examples.
pub fn check_signing_key(value: &str) -> Result<SecretString, String> {
    if PLACEHOLDER_SIGNING_KEYS.contains(&value) {
        return Err(
            "is the example value shipped in deploy/; generate a key, e.g. `openssl rand -hex 32`"
                .into(),
        );
    }
    if value.len() < MIN_SIGNING_KEY_BYTES {
        return Err(format!(
            "must be at least {MIN_SIGNING_KEY_BYTES} bytes (got {}); generate one, e.g. `openssl rand -hex 32`",
            value.len()
        ));
    }
    Ok(SecretString::from(value.to_owned()))
}

/// The clap parser of `JWT_SECRET`. clap's own message for a refused value quotes the value,
/// and this one is a secret: the message here names the setting and the reason only.
#[derive(Debug, Clone, Copy)]
pub struct SigningKeyParser;

impl clap::builder::TypedValueParser for SigningKeyParser {
    type Value = SecretString;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<SecretString, clap::Error> {
        let refuse = |reason: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("JWT_SECRET (--jwt-secret) {reason}\n"),
            )
            .with_cmd(cmd)
        };
        let value = value
            .to_str()
            .ok_or_else(|| refuse("must be valid UTF-8".into()))?;
        check_signing_key(value).map_err(refuse)
    }
}

/// `RATE_LIMITS=on|off`: every throttle and rate limit at once, for load tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimits {
    /// Limits are enforced (the default).
    #[default]
    On,
    /// Limits are switched off.
    Off,
}

impl RateLimits {
    /// Whether limits apply.
    pub fn enabled(self) -> bool {
        self == Self::On
    }
}

impl FromStr for RateLimits {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "on" | "true" | "1" => Ok(Self::On),
            "off" | "false" | "0" => Ok(Self::Off),
            other => Err(format!("RATE_LIMITS must be on or off, not {other:?}")),
        }
    }
}

/// The defaults a clap settings struct declares, ignoring the environment: what tests and the
/// standalone bundle start from, so no default is written twice.
#[expect(
    clippy::expect_used,
    reason = "a default that does not parse is a bug that every test starting a service hits"
)]
pub fn defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    let mut command = T::augment_args(clap::Command::new("defaults").no_binary_name(true));
    let ids: Vec<clap::Id> = command
        .get_arguments()
        .map(|a| a.get_id().clone())
        .collect();
    for id in ids {
        command = command.mut_arg(id, |arg| arg.env(None));
    }
    let matches = command
        .try_get_matches_from(std::iter::empty::<&str>())
        .expect("every setting has a default or is optional");
    T::from_arg_matches(&matches).expect("the defaults parse")
}

/// `print-config`: every setting with an environment variable, as an annotated env file in the
/// order of `--help`: a comment with the setting's help and where its value came from, then
/// `NAME=value`. Secrets show as `<redacted>`, credentials in URLs as `***`.
pub fn print_effective(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        let id = arg.get_id().as_str();
        let value = match matches.get_raw(id) {
            None => String::new(),
            Some(_) if arg.is_hide_env_values_set() => "<redacted>".into(),
            Some(raw) => raw
                .map(|v| redact_url_credentials(&v.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(","),
        };
        let source = match matches.value_source(id) {
            Some(clap::parser::ValueSource::EnvVariable) => "environment",
            Some(clap::parser::ValueSource::CommandLine) => "command line",
            Some(clap::parser::ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        writeln!(
            out,
            "# {help} [{source}]\n{}={value}",
            env.to_string_lossy()
        )?;
    }
    Ok(())
}

/// `scheme://user:password@host/..` → `scheme://***@host/..`; anything else unchanged.
pub fn redact_url_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_shipped_example_signing_keys_are_refused() {
        assert!(check_signing_key("too-short").is_err());
        assert!(check_signing_key(&"k".repeat(31)).is_err());
        assert!(check_signing_key(&"k".repeat(32)).is_ok());
        let shipped = [
            include_str!("../../deploy/.env.example"),
            include_str!("../../deploy/k8s/secrets.yaml"),
        ];
        for file in shipped {
            let value = file
                .lines()
                .find_map(|l| l.trim().strip_prefix("JWT_SECRET"))
                .map(|rest| rest.trim_start_matches([':', '=', ' ']).trim_matches('"'))
                .expect("the file ships a JWT_SECRET");
            assert!(check_signing_key(value).is_err(), "{value} is accepted");
        }
    }

    #[test]
    fn database_url_hides_credentials() {
        let url: DatabaseUrl = "postgres://app:hunter2@db:5432/chat".parse().unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        assert_eq!(format!("{url:?}"), "postgres://***@db:5432/chat");
    }

    #[test]
    fn sqlite_urls_select_sqlite_and_others_are_refused() {
        let url: DatabaseUrl = "sqlite://data/chat.db".parse().unwrap();
        assert_eq!(url.backend(), Backend::Sqlite);
        assert!("mysql://x".parse::<DatabaseUrl>().is_err());
    }
}
