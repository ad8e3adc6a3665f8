//! Live processes, collected from `/proc` the way Datadog's process agent does.
//!
//! [`procfs`] finds and parses the host's `/proc` files; [`collector`] turns two runs into
//! process records (CPU and IO as deltas, static fields cached per pid and start time);
//! [`scrub`] hides sensitive arguments and [`blacklist`] hides whole processes;
//! [`container`], [`users`] and [`host`] fill in container ids, user names and the host's
//! description; [`runner`] schedules runs, switches to real-time mode when the server says
//! someone is watching, and sends the payloads.

pub mod blacklist;
pub mod collector;
pub mod container;
pub mod host;
pub mod procfs;
pub mod runner;
pub mod scrub;
pub mod users;

pub use blacklist::Blacklist;
pub use collector::{CollectError, Collection, CollectorSettings, ProcessCollector};
pub use procfs::HostPaths;
pub use runner::{ProcessRunner, ProcessStatus};
pub use scrub::{ScrubCache, Scrubber};
