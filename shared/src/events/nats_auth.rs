//! How a service proves who it is to NATS: `NATS_USER` + `NATS_PASSWORD`, `NATS_TOKEN`, or
//! `NATS_CREDS_FILE` (a user JWT and NKey seed). The deployed server (`deploy/nats/nats.conf`)
//! has one user per service and lets each publish only its own subjects, so a process that
//! can reach NATS cannot forge another service's events.
//!
//! A named user also gets its own reply inbox, `_INBOX.<NATS_USER>.>`: JetStream answers
//! (publish acks, pulled events) go there, and the server lets no other user read them.

use std::{fmt, path::PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::bus::BusError;

fn secret(value: &str) -> Result<SecretString, String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

/// The user name is also a subject token (its inbox), so it cannot hold `.`, `*`, `>` or spaces.
fn user_name(value: &str) -> Result<String, String> {
    if value.is_empty()
        || value
            .chars()
            .any(|c| c == '.' || c == '*' || c == '>' || c.is_whitespace())
    {
        return Err("must be non-empty, without '.', '*', '>' or whitespace".into());
    }
    Ok(value.to_owned())
}

/// NATS credentials; at most one kind. `Debug` never shows a password or token.
#[derive(Clone, Default, clap::Args)]
pub struct NatsAuth {
    /// NATS user (with `NATS_PASSWORD`); its reply inbox is `_INBOX.<user>.>`.
    #[arg(long, env = "NATS_USER", value_parser = user_name, requires = "nats_password")]
    pub nats_user: Option<String>,
    /// The NATS user's password.
    #[arg(long, env = "NATS_PASSWORD", value_parser = secret, hide_env_values = true, requires = "nats_user")]
    pub nats_password: Option<SecretString>,
    /// NATS token authentication, instead of a user.
    #[arg(long, env = "NATS_TOKEN", value_parser = secret, hide_env_values = true, conflicts_with_all = ["nats_user", "nats_creds_file"])]
    pub nats_token: Option<SecretString>,
    /// A NATS `.creds` file (user JWT and NKey seed), instead of a user.
    #[arg(long, env = "NATS_CREDS_FILE", conflicts_with = "nats_user")]
    pub nats_creds_file: Option<PathBuf>,
}

impl NatsAuth {
    /// A user and password, as `NATS_USER`/`NATS_PASSWORD` give them.
    pub fn user(user: &str, password: &str) -> Self {
        Self {
            nats_user: Some(user.to_owned()),
            nats_password: Some(SecretString::from(password.to_owned())),
            ..Self::default()
        }
    }

    /// Adds these credentials to `options`. Fails only when the creds file cannot be read.
    pub async fn apply(
        &self,
        mut options: async_nats::ConnectOptions,
    ) -> Result<async_nats::ConnectOptions, BusError> {
        if let (Some(user), Some(password)) = (&self.nats_user, &self.nats_password) {
            options = options
                .user_and_password(user.clone(), password.expose_secret().to_owned())
                .custom_inbox_prefix(format!("_INBOX.{user}"));
        }
        if let Some(token) = &self.nats_token {
            options = options.token(token.expose_secret().to_owned());
        }
        if let Some(path) = &self.nats_creds_file {
            options = options
                .credentials_file(path)
                .await
                .map_err(|e| BusError::Other(format!("NATS_CREDS_FILE {}: {e}", path.display())))?;
        }
        Ok(options)
    }
}

impl fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<SecretString>| s.as_ref().map(|_| "***");
        f.debug_struct("NatsAuth")
            .field("nats_user", &self.nats_user)
            .field("nats_password", &hidden(&self.nats_password))
            .field("nats_token", &hidden(&self.nats_token))
            .field("nats_creds_file", &self.nats_creds_file)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        auth: NatsAuth,
    }

    fn parse(args: &[&str]) -> Result<NatsAuth, clap::Error> {
        Cli::try_parse_from(std::iter::once("test").chain(args.iter().copied())).map(|c| c.auth)
    }

    #[test]
    fn debug_never_shows_a_password_or_token() {
        let auth = parse(&["--nats-user", "chat-gateway", "--nats-password", "hunter2"]).unwrap();
        let token = parse(&["--nats-token", "t0ken-value"]).unwrap();

        let printed = format!("{auth:?} {token:?}");

        assert!(printed.contains("chat-gateway"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("t0ken-value"), "{printed}");
    }

    #[test]
    fn a_user_needs_a_password_and_a_password_needs_a_user() {
        assert!(parse(&["--nats-user", "accounts-api"]).is_err());
        assert!(parse(&["--nats-password", "x"]).is_err());
        assert!(parse(&[]).is_ok());
    }

    #[test]
    fn only_one_kind_of_credentials_is_accepted() {
        let user = ["--nats-user", "a", "--nats-password", "p"];
        assert!(parse(&[&user[..], &["--nats-token", "t"]].concat()).is_err());
        assert!(parse(&[&user[..], &["--nats-creds-file", "/x.creds"]].concat()).is_err());
        assert!(parse(&["--nats-token", "t", "--nats-creds-file", "/x.creds"]).is_err());
    }

    #[test]
    fn a_user_name_must_be_one_subject_token() {
        for bad in ["a.b", "a*", ">", "a b", ""] {
            assert!(
                parse(&["--nats-user", bad, "--nats-password", "p"]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_secrets_are_refused() {
        assert!(parse(&["--nats-token", ""]).is_err());
        assert!(parse(&["--nats-user", "a", "--nats-password", ""]).is_err());
    }
}
