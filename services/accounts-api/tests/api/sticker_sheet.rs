//! `accounts-api stickers issue --sheet`: the print sheet read back the way a printer and a
//! phone read it (pages rendered with pdftoppm, every code decoded with zbarimg, the short ids
//! read with pdftotext), and the progress bar: drawn on a terminal, never into a pipe.

use std::{
    ffi::{OsStr, OsString},
    path::Path,
    process::{Command, Stdio},
    sync::Once,
};

use accounts_api::sticker_sheet::{cell_position_mm, CELL_HEIGHT_MM, CELL_WIDTH_MM, PER_PAGE};
use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::{cli::count_stickers, helpers::spawn_app};

const BIN: &str = env!("CARGO_BIN_EXE_accounts-api");
const DEFAULT_URL: &str = "https://carinfopro.uz/u/";

async fn issue(database_url: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(BIN)
        .args(["stickers", "issue"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the binary runs")
}

#[rstest]
#[tokio::test]
async fn stickers_issue_writes_a_sheet_whose_codes_decode_to_exactly_the_issued_urls(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: one full page and five stickers on a second.
    require_sheet_tools();
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let sheet = dir.path().join("stickers.pdf");
    let count = PER_PAGE + 5;

    // Act
    let output = issue(
        &app.database_url(),
        &[
            "--count",
            &count.to_string(),
            "--sheet",
            sheet.to_str().expect("UTF-8 path"),
        ],
    )
    .await;

    // Assert: stdout and stderr are what they were without a sheet.
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let ids = uuid_lines(&String::from_utf8(output.stdout).expect("UTF-8"));
    assert_eq!(ids.len(), count);

    // Two A4 pages.
    let info = run("pdfinfo", &[sheet.as_os_str()]);
    assert!(info.contains("Pages:           2\n"), "{info}");
    assert!(
        info.contains("Page size:       595.276 x 841.89 pts (A4)"),
        "{info}"
    );

    // Every code decodes to its sticker's URL, in issue order, left to right, top to bottom.
    let urls: Vec<String> = ids.iter().map(|id| format!("{DEFAULT_URL}{id}")).collect();
    let decoded: Vec<String> = (0..count)
        .map(|n| decode_cell(&sheet, n / PER_PAGE + 1, n % PER_PAGE, dir.path()))
        .collect();
    assert_eq!(decoded, urls);

    // Each sticker's short id is printed, once.
    let text = run("pdftotext", &[sheet.as_os_str(), "-".as_ref()]);
    let mut printed: Vec<&str> = text.split_whitespace().collect();
    printed.sort_unstable();
    let mut short_ids: Vec<String> = ids
        .iter()
        .map(|id| id.to_string()[..8].to_owned())
        .collect();
    short_ids.sort();
    assert_eq!(printed, short_ids);
}

#[rstest]
#[tokio::test]
async fn stickers_issue_refuses_a_sheet_it_cannot_write_and_issues_nothing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let sheet = dir.path().join("no-such-folder").join("stickers.pdf");

    // Act
    let output = issue(
        &app.database_url(),
        &[
            "--count",
            "3",
            "--sheet",
            sheet.to_str().expect("UTF-8 path"),
        ],
    )
    .await;

    // Assert
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stickers.pdf"), "names the path: {stderr}");
    assert_eq!(count_stickers(&app.database_url()).await, 0);
}

#[tokio::test]
async fn a_large_batch_shows_a_progress_bar_on_a_terminal_and_nothing_in_a_pipe() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let piped_sheet = dir.path().join("piped.pdf");
    let terminal_sheet = dir.path().join("terminal.pdf");

    // Act: the same large batch, once with stderr a pipe and once with it a terminal.
    let piped = issue(
        &app.database_url(),
        &[
            "--count",
            "150",
            "--sheet",
            piped_sheet.to_str().expect("UTF-8 path"),
        ],
    )
    .await;
    let command_line = [BIN, "stickers", "issue", "--count", "150", "--sheet"]
        .iter()
        .map(|arg| shell_quote(arg))
        .chain([shell_quote(terminal_sheet.to_str().expect("UTF-8 path"))])
        .collect::<Vec<_>>()
        .join(" ");
    // `script` runs the command on a new pseudo-terminal and copies what it shows to stdout.
    let on_terminal = tokio::process::Command::new("script")
        .args(["-q", "-e", "-c", &command_line, "/dev/null"])
        .env("DATABASE_URL", app.database_url())
        .env("RUST_LOG", "off")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("script runs");

    // Assert
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&piped.stderr),
        "",
        "no bar in a pipe"
    );
    assert_eq!(
        uuid_lines(&String::from_utf8(piped.stdout).expect("UTF-8")).len(),
        150
    );

    let screen = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(on_terminal.status.success(), "{screen}");
    assert!(
        screen.contains("issued") && screen.contains("150/150"),
        "{screen}"
    );
    let ids_on_screen = screen
        .split(['\r', '\n'])
        .filter(|line| line.parse::<UserId>().is_ok())
        .count();
    assert_eq!(
        ids_on_screen, 150,
        "every id on a line of its own: {screen}"
    );
}

/// Renders one sticker's cell with pdftoppm, as a phone frames one sticker, and decodes it with
/// zbarimg: the one code it holds. (zbar's search of a whole page of 20 like codes misses a
/// code now and then; a cell at a time it reads every one.)
fn decode_cell(sheet: &Path, page: usize, slot: usize, scratch: &Path) -> String {
    let pixels = |mm: f32| ((mm / 25.4 * 150.0).round() as u32).to_string();
    let (left, top) = cell_position_mm(slot);
    let out = scratch.join("cell");
    let mut args: Vec<OsString> = ["-r", "150", "-gray", "-png", "-singlefile"]
        .map(OsString::from)
        .to_vec();
    for (flag, value) in [
        ("-f", page.to_string()),
        ("-l", page.to_string()),
        ("-x", pixels(left)),
        ("-y", pixels(top)),
        ("-W", pixels(CELL_WIDTH_MM)),
        ("-H", pixels(CELL_HEIGHT_MM)),
    ] {
        args.extend([flag.into(), value.into()]);
    }
    args.extend([sheet.into(), out.clone().into()]);
    run("pdftoppm", &args);
    let png = out.with_extension("png");
    // Not `run`: zbarimg exits 4 when it finds no code, which the assertion below reports.
    let decoded = Command::new("zbarimg")
        .args(["--nodbus", "-q", "--raw"])
        .arg(&png)
        .output()
        .expect("zbarimg runs");
    let decoded = String::from_utf8(decoded.stdout).expect("UTF-8");
    let codes: Vec<&str> = decoded.lines().collect();
    assert_eq!(
        codes.len(),
        1,
        "one code in slot {slot} of page {page}: {codes:?}"
    );
    codes[0].to_owned()
}

/// Every line of `stdout` as a sticker id; panics on anything else.
fn uuid_lines(stdout: &str) -> Vec<UserId> {
    stdout
        .lines()
        .map(|line| {
            line.parse()
                .unwrap_or_else(|_| panic!("not a UUID: {line:?}"))
        })
        .collect()
}

/// Runs `tool`, failing the test with its stderr unless it succeeds; its stdout.
fn run(tool: &str, args: &[impl AsRef<OsStr> + std::fmt::Debug]) -> String {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs: {e}"));
    assert!(
        output.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// The PDF and QR tools, installed by `deploy/ensure-backends.sh` when missing; the test fails
/// when they still are not there.
fn require_sheet_tools() {
    const TOOLS: [&str; 4] = ["pdfinfo", "pdftoppm", "pdftotext", "zbarimg"];
    static ONCE: Once = Once::new();
    let missing = || -> Vec<&str> { TOOLS.into_iter().filter(|tool| !on_path(tool)).collect() };
    ONCE.call_once(|| {
        if !missing().is_empty() {
            let script = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../deploy/ensure-backends.sh"
            );
            let _ = Command::new("bash").arg(script).status();
        }
    });
    let missing = missing();
    assert!(
        missing.is_empty(),
        "the sticker-sheet tests need {missing:?}: install Debian's poppler-utils and zbar-tools \
         (deploy/ensure-backends.sh does)"
    );
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| Path::new(&dir).join(tool).is_file())
    })
}
