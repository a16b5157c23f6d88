//! The operator's commands: issuing sticker batches, with printable QR codes and a manifest.
//! Only the new ids go to stdout, one per line, so the output can be piped.

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use qrcode::{render::svg, QrCode};
use shared::ids::UserId;

use crate::store::AccountStore;

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
}

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

/// Issues the stickers, writes the QR files, and prints the ids to `out`.
pub async fn issue_stickers(
    store: &dyn AccountStore,
    args: &IssueArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<UserId>> {
    if !args.url_template.contains("{id}") {
        anyhow::bail!("--url-template must contain {{id}}");
    }
    let ids: Vec<UserId> = (0..args.count).map(|_| UserId::new_random()).collect();
    store
        .insert_stickers(&ids)
        .await
        .context("storing stickers")?;
    if let Some(dir) = &args.qr_dir {
        write_qr_codes(dir, &args.url_template, &ids)?;
    }
    for id in &ids {
        writeln!(out, "{id}")?;
    }
    out.flush()?;
    Ok(ids)
}

fn write_qr_codes(dir: &std::path::Path, template: &str, ids: &[UserId]) -> anyhow::Result<()> {
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
    }
    std::fs::write(dir.join("manifest.csv"), manifest).context("writing manifest.csv")?;
    Ok(())
}
