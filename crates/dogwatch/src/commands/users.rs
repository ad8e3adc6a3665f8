//! `dogwatch user add|list|set-role|reset-password|disable|enable` and `dogwatch app-key create`:
//! users and application keys of the server whose data is in --data-dir. They work on the
//! store directly, so a running server picks the changes up within seconds.

use std::io::Read;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use dogwatch_server::auth::{admin, secrets};
use dogwatch_store::{Role, SqliteStore, Store, User, UserChange};

use crate::DataDirArgs;
use crate::support;

/// Opens the store of the server in --data-dir, which must exist.
pub fn open_store(args: &DataDirArgs) -> Result<SqliteStore> {
    let data_dir = support::data_dir(args)?;
    let path = support::store_path(&data_dir);
    if !path.exists() {
        bail!(
            "no dogwatch server data in {} (start `dogwatch up` or `dogwatch server` with this --data-dir first)",
            data_dir.display()
        );
    }
    Ok(SqliteStore::open(&path)?)
}

/// Arguments of `dogwatch user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    action: UserAction,
    /// The server's data directory [default: the per-user data directory].
    #[arg(long, value_name = "DIR", env = "DOGWATCH_DATA_DIR", global = true)]
    data_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Add a user. The password is read from stdin with --password-stdin, else one is
    /// generated and printed.
    Add {
        /// The user's name.
        name: String,
        /// admin, standard or read_only.
        #[arg(long, default_value = "read_only")]
        role: String,
        /// Read the password from stdin (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users.
    List,
    /// Change a user's role.
    SetRole {
        /// The user's name.
        name: String,
        /// admin, standard or read_only.
        role: String,
    },
    /// Set a new password (from stdin with --password-stdin, else generated and printed).
    ResetPassword {
        /// The user's name.
        name: String,
        /// Read the password from stdin (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: it can no longer sign in, and its application keys stop working.
    Disable {
        /// The user's name.
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user's name.
        name: String,
    },
}

/// Arguments of `dogwatch app-key`.
#[derive(Debug, Args)]
pub struct AppKeyArgs {
    #[command(subcommand)]
    action: AppKeyAction,
    /// The server's data directory [default: the per-user data directory].
    #[arg(long, value_name = "DIR", env = "DOGWATCH_DATA_DIR", global = true)]
    data_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum AppKeyAction {
    /// Create an application key and print it on stdout (shown this once).
    Create {
        /// The user it belongs to (it acts with their role) [default: the first admin].
        #[arg(long)]
        user: Option<String>,
        /// The key's name.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List the application keys: id, owner, name, last four characters.
    List,
}

fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).with_context(|| format!("unknown role {text:?}: use admin, standard or read_only"))
}

fn find_user(store: &SqliteStore, name: &str) -> Result<User> {
    store
        .users()?
        .into_iter()
        .find(|u| u.name.eq_ignore_ascii_case(name))
        .with_context(|| format!("there is no user called {name:?} (`dogwatch user list` lists them)"))
}

/// The new password: a line from stdin, or a generated one that is printed.
fn new_password(from_stdin: bool) -> Result<String> {
    if !from_stdin {
        let password = secrets::random_hex(12);
        println!("Password: {password}");
        return Ok(password);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the password from stdin")?;
    let password = text.lines().next().unwrap_or("").to_string();
    if password.chars().count() < dogwatch_server::auth::api::MIN_PASSWORD_CHARS {
        bail!(
            "the password must have at least {} characters",
            dogwatch_server::auth::api::MIN_PASSWORD_CHARS
        );
    }
    Ok(password)
}

fn change(store: &SqliteStore, name: &str, change: UserChange) -> Result<User> {
    let user = find_user(store, name)?;
    store
        .update_user(user.id, &change)?
        .context("the user was removed meanwhile")
}

/// Runs `dogwatch user`.
pub fn run_user(args: UserArgs) -> Result<()> {
    let store = open_store(&DataDirArgs {
        data_dir: args.data_dir.clone(),
    })?;
    match args.action {
        UserAction::Add {
            name,
            role,
            password_stdin,
        } => {
            let role = parse_role(&role)?;
            let password = new_password(password_stdin)?;
            let user = admin::create_user(&store, &name, role, &password)?;
            println!("Added {} ({}).", user.name, user.role.datadog_name());
        }
        UserAction::List => {
            for u in store.users()? {
                let state = if u.disabled { "disabled" } else { "enabled" };
                let password = if u.password_hash.is_empty() {
                    "no password"
                } else {
                    "password set"
                };
                println!("{}\t{}\t{state}\t{password}", u.name, u.role.as_str());
            }
        }
        UserAction::SetRole { name, role } => {
            let role = parse_role(&role)?;
            let u = change(
                &store,
                &name,
                UserChange {
                    role: Some(role),
                    ..UserChange::default()
                },
            )?;
            println!("{} now has the {}.", u.name, u.role.datadog_name());
        }
        UserAction::ResetPassword { name, password_stdin } => {
            find_user(&store, &name)?;
            let password = new_password(password_stdin)?;
            change(
                &store,
                &name,
                UserChange {
                    password_hash: Some(secrets::hash_password(&password)),
                    ..UserChange::default()
                },
            )?;
            println!("The password of {name} is reset.");
        }
        UserAction::Disable { name } => {
            change(
                &store,
                &name,
                UserChange {
                    disabled: Some(true),
                    ..UserChange::default()
                },
            )?;
            println!("{name} is disabled: it can no longer sign in or use its keys.");
        }
        UserAction::Enable { name } => {
            change(
                &store,
                &name,
                UserChange {
                    disabled: Some(false),
                    ..UserChange::default()
                },
            )?;
            println!("{name} is enabled.");
        }
    }
    Ok(())
}

/// Runs `dogwatch app-key`.
pub fn run_app_key(args: AppKeyArgs) -> Result<()> {
    let store = open_store(&DataDirArgs {
        data_dir: args.data_dir.clone(),
    })?;
    match args.action {
        AppKeyAction::Create { user, name } => {
            let owner = match user {
                Some(name) => find_user(&store, &name)?,
                None => admin::first_admin(&store)?
                    .context("the server has no enabled admin yet; start it once, or name a user with --user")?,
            };
            let (key, _) = admin::create_app_key(&store, owner.id, &name)?;
            println!("{key}");
        }
        AppKeyAction::List => {
            let users = store.users()?;
            for k in store.app_keys()? {
                let owner = users
                    .iter()
                    .find(|u| u.id == k.user_id)
                    .map_or("?", |u| u.name.as_str());
                println!("{}\t{owner}\t{}\t…{}", k.id, k.name, k.last4);
            }
        }
    }
    Ok(())
}
