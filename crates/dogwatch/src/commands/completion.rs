//! `dogwatch completion bash|zsh|fish` and `dogwatch man`: shell completions and man pages
//! generated from the command line's own definition (clap_complete, clap_mangen), so they
//! never disagree with `--help`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, ValueEnum};

/// The shells `dogwatch completion` writes for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// bash: `source <(dogwatch completion bash)`.
    Bash,
    /// zsh: `dogwatch completion zsh > "${fpath[1]}/_dogwatch"`.
    Zsh,
    /// fish: `dogwatch completion fish > ~/.config/fish/completions/dogwatch.fish`.
    Fish,
}

/// Arguments of `dogwatch completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    shell: Shell,
}

/// Arguments of `dogwatch man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write dogwatch.1 and dogwatch-<subcommand>.1 files here instead of printing dogwatch.1.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Prints the completion script.
pub fn completion(args: CompletionArgs) -> Result<()> {
    let mut command = crate::Cli::command();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Into a buffer first: clap_complete panics when its writer fails, and a reader that
    // closes the pipe early (`| head`) is not an error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "dogwatch", &mut script);
    write_stdout(&script)
}

/// Writes `bytes` to stdout; a closed pipe ends the output quietly.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints dogwatch.1, or writes every page into --out-dir.
pub fn man(args: ManArgs) -> Result<()> {
    let command = crate::Cli::command();
    match args.out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            write_stdout(&page)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
            println!("Man pages written to {}", dir.display());
        }
    }
    Ok(())
}
