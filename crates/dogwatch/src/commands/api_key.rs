//! `dogwatch api-key`: prints the API keys of the server in a data directory.

use anyhow::{Result, bail};
use dogwatch_store::{SqliteStore, Store};

use crate::DataDirArgs;
use crate::support;

/// Prints each key with where it came from.
pub fn run(args: DataDirArgs) -> Result<()> {
    let data_dir = support::data_dir(&args)?;
    let path = support::store_path(&data_dir);
    if !path.exists() {
        bail!(
            "no dogwatch server data in {} (start `dogwatch up` or `dogwatch server` with this --data-dir first)",
            data_dir.display()
        );
    }
    let keys = SqliteStore::open(&path)?.api_keys()?;
    if keys.is_empty() {
        bail!("the server in {} has no API key yet", data_dir.display());
    }
    for key in keys {
        println!("{}\t{}", key.key, key.name);
    }
    Ok(())
}
