//! `dogwatch api-key [list|create]`: the API keys of the server in a data directory. Keys are
//! stored hashed, so a key is shown whole only when it is created.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dogwatch_server::auth::admin;
use dogwatch_store::Store;

use crate::DataDirArgs;
use crate::commands::users::open_store;

/// Arguments of `dogwatch api-key`.
#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    action: Option<ApiKeyAction>,
    /// The server's data directory [default: the per-user data directory].
    #[arg(long, value_name = "DIR", env = "DOGWATCH_DATA_DIR", global = true)]
    data_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ApiKeyAction {
    /// List the keys: id, name, last four characters (the default).
    List,
    /// Create a key and print it on stdout (shown this once).
    Create {
        /// The key's name.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// Runs `dogwatch api-key`.
pub fn run(args: ApiKeyArgs) -> Result<()> {
    let store = open_store(&DataDirArgs {
        data_dir: args.data_dir.clone(),
    })?;
    match args.action.unwrap_or(ApiKeyAction::List) {
        ApiKeyAction::List => {
            let keys = store.api_keys()?;
            if keys.is_empty() {
                println!("(no API key yet: `dogwatch api-key create` makes one)");
            }
            for key in keys {
                println!("{}\t{}\t…{}", key.id, key.name, key.last4);
            }
        }
        ApiKeyAction::Create { name } => {
            let (key, _) = admin::create_api_key(&store, &name).context("cannot store the new API key")?;
            println!("{key}");
        }
    }
    Ok(())
}
