//! The operator's `accounts-api stickers issue`: exactly N UUIDs on stdout, stickers that the
//! API then accepts for registration, and printable QR codes with a manifest.

use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::helpers::{bare_owner, registration, spawn_app, status_and_json, unique_phone};

async fn issue(database_url: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_accounts-api"))
        .args(["stickers", "issue"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("the binary runs")
}

#[rstest]
#[tokio::test]
async fn stickers_issue_prints_exactly_n_uuids_that_can_then_be_registered(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let output = issue(&app.database_url(), &["--count", "3"]).await;

    // Assert
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let ids: Vec<UserId> = stdout
        .lines()
        .map(|line| {
            line.parse()
                .unwrap_or_else(|_| panic!("not a UUID: {line:?}"))
        })
        .collect();
    assert_eq!(ids.len(), 3, "{stdout}");
    assert_eq!(stdout, format!("{}\n{}\n{}\n", ids[0], ids[1], ids[2]));
    for id in &ids {
        let user = app
            .store
            .find_user(*id)
            .await
            .expect("store")
            .expect("issued");
        assert!(!user.is_registered);
    }
    let phone = unique_phone();
    let response = app.register(&registration(ids[1], &phone)).await;
    assert_eq!(
        status_and_json(response).await,
        (201, bare_owner(ids[1], &phone))
    );
}

#[rstest]
#[tokio::test]
async fn stickers_issue_writes_a_qr_code_per_sticker_and_a_manifest(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let qr_dir = dir.path().join("batch-1");

    // Act
    let output = issue(
        &app.database_url(),
        &[
            "--count",
            "2",
            "--qr-dir",
            qr_dir.to_str().expect("UTF-8 path"),
            "--url-template",
            "https://x/u/{id}",
        ],
    )
    .await;

    // Assert
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ids: Vec<String> = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), 2);
    let manifest = std::fs::read_to_string(qr_dir.join("manifest.csv")).expect("manifest");
    let mut expected = String::from("id,url,file\n");
    for id in &ids {
        expected.push_str(&format!("{id},https://x/u/{id},{id}.svg\n"));
        let svg = std::fs::read_to_string(qr_dir.join(format!("{id}.svg"))).expect("svg");
        assert!(svg.contains("<svg"), "{id}.svg is an SVG");
    }
    assert_eq!(manifest, expected);
    let files = std::fs::read_dir(&qr_dir).expect("dir").count();
    assert_eq!(files, 3, "two SVGs and the manifest");
}

#[rstest]
#[tokio::test]
async fn stickers_issue_with_a_qr_dir_uses_the_default_url_template(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");

    // Act
    let output = issue(
        &app.database_url(),
        &[
            "--count",
            "1",
            "--qr-dir",
            dir.path().to_str().expect("UTF-8 path"),
        ],
    )
    .await;

    // Assert
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let id = String::from_utf8(output.stdout).expect("UTF-8");
    let id = id.trim();
    let manifest = std::fs::read_to_string(dir.path().join("manifest.csv")).expect("manifest");
    assert_eq!(
        manifest,
        format!("id,url,file\n{id},https://carinfopro.uz/u/{id},{id}.svg\n")
    );
}

#[rstest]
#[tokio::test]
async fn stickers_issue_refuses_a_template_without_the_id_and_issues_nothing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");

    // Act
    let output = issue(
        &app.database_url(),
        &[
            "--count",
            "2",
            "--qr-dir",
            dir.path().to_str().expect("UTF-8 path"),
            "--url-template",
            "https://x/u/",
        ],
    )
    .await;

    // Assert
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert_eq!(count_stickers(&app.database_url()).await, 0);
}

/// Every row in `users`, registered or not: the store has no query for that.
pub async fn count_stickers(database_url: &str) -> i64 {
    const SQL: &str = "select count(*) from users";
    if database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database_url).await.expect("connect");
        let count = sqlx::query_scalar(SQL)
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        count
    } else {
        let pool = sqlx::SqlitePool::connect(database_url)
            .await
            .expect("connect");
        let count = sqlx::query_scalar(SQL)
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        count
    }
}

#[tokio::test]
async fn the_service_refuses_to_start_with_a_short_or_shipped_example_signing_key() {
    // Arrange
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/.env.example"
    ))
    .expect("the example environment file");
    let shipped = example
        .lines()
        .find_map(|l| l.strip_prefix("JWT_SECRET="))
        .expect("it ships a JWT_SECRET")
        .to_owned();

    for (key, says) in [
        ("short-key", "at least 32 bytes"),
        (shipped.as_str(), "example value shipped in deploy/"),
    ] {
        // Act
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_accounts-api"))
            .env("JWT_SECRET", key)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", "sqlite::memory:")
            .output()
            .await
            .expect("the binary runs");

        // Assert
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(
            stderr.contains("JWT_SECRET") && stderr.contains(says),
            "{stderr}"
        );
        assert!(
            !stderr.contains(key),
            "the key itself is never printed: {stderr}"
        );
    }
}

#[tokio::test]
async fn print_config_shows_every_effective_setting_with_secrets_redacted() {
    // Arrange
    let secret = "a-signing-key-of-at-least-thirty-two-bytes";

    // Act
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_accounts-api"))
        .arg("print-config")
        .env("JWT_SECRET", secret)
        .env(
            "DATABASE_URL",
            "postgres://carinfo:db-password@db.internal/accounts",
        )
        .env("LOGIN_FAILURES_PER_PHONE", "7")
        .env_remove("RATE_LIMITS")
        .output()
        .await
        .expect("the binary runs");

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('#')).collect();
    for expected in [
        "JWT_SECRET=<redacted>",
        "DATABASE_URL=postgres://***@db.internal/accounts",
        "LOGIN_FAILURES_PER_PHONE=7",
        "RATE_LIMITS=on",
        "LISTEN_ADDR=127.0.0.1:8001",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected} missing from:\n{stdout}"
        );
    }
    assert!(!stdout.contains(secret) && !stdout.contains("db-password"));
    assert!(stdout.contains("# Failed logins one client address may make against one phone number per window [environment]"));
}
