//! The operator's commands: issuing sticker batches, with printable QR codes, a manifest and
//! a print sheet. Only the new ids go to stdout, one per line, so the output can be piped; a
//! progress bar for large batches goes to stderr, and only when stderr is a terminal.

use std::{io::Write, path::PathBuf, time::Duration};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use qrcode::{render::svg, QrCode};
use shared::ids::UserId;

use crate::{
    sticker_sheet::{short_id, StickerSheet},
    store::AccountStore,
};

/// `stickers …`
#[derive(Debug, clap::Subcommand)]
pub enum StickersCommand {
    /// Issue new, unregistered stickers and print their UUIDs.
    Issue(IssueArgs),
}

/// `stickers issue`
#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// How many stickers to issue.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub count: u32,
    /// Write one QR code (SVG) per sticker and a `manifest.csv` here.
    #[arg(long)]
    pub qr_dir: Option<PathBuf>,
    /// The URL each QR code encodes; `{id}` is replaced by the sticker UUID.
    #[arg(long, default_value = "https://carinfopro.uz/u/{id}")]
    pub url_template: String,
    /// Also write an A4 PDF to print: a grid of the QR codes, each sticker's short id (the
    /// UUID's first 8 hex digits) under its code, and cut marks.
    #[arg(long)]
    pub sheet: Option<PathBuf>,
}

/// Batches this big take long enough on SQLite or when drawing to deserve a progress bar.
const LARGE_BATCH: u32 = 100;

/// Runs a `stickers` command.
pub async fn run(
    command: &StickersCommand,
    store: &dyn AccountStore,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        StickersCommand::Issue(args) => issue_stickers(store, args, out).await.map(drop),
    }
}

/// Issues the stickers, writes the QR files and the print sheet, and prints the ids to `out`.
pub async fn issue_stickers(
    store: &dyn AccountStore,
    args: &IssueArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<UserId>> {
    if !args.url_template.contains("{id}") {
        anyhow::bail!("--url-template must contain {{id}}");
    }
    // Created before anything is issued, so a sheet path that cannot be written issues nothing.
    let sheet_file = match &args.sheet {
        Some(path) => Some(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => None,
    };
    let progress = progress_bar(args.count);
    progress.set_message("storing");
    let ids: Vec<UserId> = (0..args.count).map(|_| UserId::new_random()).collect();
    store
        .insert_stickers(&ids)
        .await
        .context("storing stickers")?;
    if let Some(dir) = &args.qr_dir {
        progress.set_message("QR files");
        progress.reset();
        write_qr_codes(dir, &args.url_template, &ids, &progress)?;
    }
    if let (Some(mut file), Some(path)) = (sheet_file, &args.sheet) {
        progress.set_message("sheet");
        progress.reset();
        let pdf = draw_sheet(&args.url_template, &ids, &progress)?;
        file.write_all(&pdf)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    progress.finish_with_message("issued");
    if !progress.is_hidden() {
        // indicatif leaves the cursor after the bar; the ids start on a line of their own.
        eprintln!();
    }
    for id in &ids {
        writeln!(out, "{id}")?;
    }
    out.flush()?;
    Ok(ids)
}

/// A bar on stderr for large batches. indicatif draws nothing when stderr is not a terminal,
/// so piped and captured runs print exactly what they printed before the bar existed.
fn progress_bar(count: u32) -> ProgressBar {
    if count < LARGE_BATCH {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(count.into());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg:>9} [{wide_bar}] {pos}/{len} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    // Storing is one call with no progress of its own; the spinner shows it is alive.
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn draw_sheet(template: &str, ids: &[UserId], progress: &ProgressBar) -> anyhow::Result<Vec<u8>> {
    let mut sheet = StickerSheet::new();
    for id in ids {
        let url = template.replace("{id}", &id.to_string());
        let code = QrCode::new(url.as_bytes()).context("encoding QR code")?;
        sheet.add(&code, &short_id(id))?;
        progress.inc(1);
    }
    sheet.finish()
}

fn write_qr_codes(
    dir: &std::path::Path,
    template: &str,
    ids: &[UserId],
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut manifest = String::from("id,url,file\n");
    for id in ids {
        let url = template.replace("{id}", &id.to_string());
        let svg = QrCode::new(url.as_bytes())
            .context("encoding QR code")?
            .render::<svg::Color<'_>>()
            .min_dimensions(256, 256)
            .quiet_zone(true)
            .build();
        let file = format!("{id}.svg");
        std::fs::write(dir.join(&file), svg).with_context(|| format!("writing {file}"))?;
        manifest.push_str(&format!("{id},{url},{file}\n"));
        progress.inc(1);
    }
    std::fs::write(dir.join("manifest.csv"), manifest).context("writing manifest.csv")?;
    Ok(())
}
