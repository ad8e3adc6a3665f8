//! Live process queries: Datadog's Live Processes search semantics ([`filter`]) over the
//! indexed snapshots of the live state ([`index`]), the fields a query can show, sort and
//! aggregate ([`fields`]), and lists, facets, group-by and scatter data ([`query`]).

pub mod fields;
pub mod filter;
pub mod index;
pub mod parallel;
pub mod query;

pub use fields::Field;
pub use filter::ProcessFilter;
pub use index::ProcessIndex;
pub use query::LiveView;
