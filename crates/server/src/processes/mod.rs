//! Live processes: the intake of agents' process payloads ([`intake`]), the live state of
//! every host ([`live`]), which runs go to the store's history ([`history`]), Datadog's Live
//! Processes search semantics ([`filter`]) over the indexed snapshots ([`index`]), the fields a
//! query can show, sort and aggregate ([`fields`]), lists, facets, group-by and scatter data
//! ([`query`]), and their routes ([`api`]).

pub mod api;
pub mod fields;
pub mod filter;
pub mod history;
pub mod index;
pub mod intake;
pub mod live;
pub mod parallel;
pub mod query;

pub use fields::Field;
pub use filter::ProcessFilter;
pub use index::ProcessIndex;
pub use query::LiveView;
