//! What a host's snapshot keeps beside its records so a query over 100,000 processes stays
//! fast: the lower-cased text a free-text term searches, and each process's tags as ids into
//! the snapshot's own tag dictionary (so tag filters, facets and group-by compare integers).
//!
//! Built once when a run completes, never per query.

use rustc_hash::FxHashMap as HashMap;

use dogwatch_model::ProcessRecord;

use super::fields::command_line;

/// Separates the command line, executable and working directory in a haystack; no search
/// term contains it, so a term cannot match across two of them.
pub const FIELD_SEPARATOR: char = '\0';

/// One distinct tag of a snapshot.
#[derive(Debug, Clone)]
pub struct TagEntry {
    /// The key as sent (the part before the first `:`; the whole tag when there is none).
    pub key: String,
    /// The value as sent (after the first `:`; empty when there is none).
    pub value: String,
}

/// A snapshot's search index.
#[derive(Debug, Clone, Default)]
pub struct ProcessIndex {
    /// Every process's `command line \0 exe \0 cwd`, lower-cased, one after another in one
    /// string; process `i`'s is `haystack[haystack_starts[i]..haystack_starts[i + 1]]`.
    haystack: String,
    haystack_starts: Vec<u32>,
    /// Per process: the command line as shown (`[name]` for kernel-less argv).
    pub command_lines: Vec<String>,
    /// Every process's tag ids (including `host:` and `container_id:`) one after another;
    /// process `i`'s are `tag_ids[tag_starts[i]..tag_starts[i + 1]]`. One allocation keeps a
    /// scan over 100,000 processes in cache.
    tag_ids: Vec<u32>,
    tag_starts: Vec<u32>,
    /// The snapshot's distinct tags; a tag id indexes this.
    pub dictionary: Vec<TagEntry>,
    /// The snapshot's distinct tag keys.
    pub keys: Vec<String>,
    /// Per tag id: its key's index in `keys`.
    pub key_of: Vec<u32>,
}

impl ProcessIndex {
    /// Indexes the processes of `hostname`'s run.
    pub fn build(hostname: &str, processes: &[ProcessRecord]) -> ProcessIndex {
        let mut ids: HashMap<String, u32> = HashMap::default();
        let mut dictionary = Vec::new();
        let mut id_of = |tag: &str| -> u32 {
            if let Some(&id) = ids.get(tag) {
                return id;
            }
            let (key, value) = tag.split_once(':').unwrap_or((tag, ""));
            let id = dictionary.len() as u32;
            dictionary.push(TagEntry {
                key: key.to_owned(),
                value: value.to_owned(),
            });
            ids.insert(tag.to_owned(), id);
            id
        };
        let host_tag = format!("host:{hostname}");
        let mut haystack = String::new();
        let mut haystack_starts = Vec::with_capacity(processes.len() + 1);
        haystack_starts.push(0);
        let mut command_lines = Vec::with_capacity(processes.len());
        let mut tag_ids = Vec::with_capacity(processes.len() * 8);
        let mut tag_starts = Vec::with_capacity(processes.len() + 1);
        tag_starts.push(0);
        for p in processes {
            let command = command_line(p);
            haystack.push_str(&command.to_lowercase());
            haystack.push(FIELD_SEPARATOR);
            haystack.push_str(&p.exe.to_lowercase());
            haystack.push(FIELD_SEPARATOR);
            haystack.push_str(&p.cwd.to_lowercase());
            haystack_starts.push(haystack.len() as u32);
            command_lines.push(command);

            let start = tag_ids.len();
            tag_ids.push(id_of(&host_tag));
            if let Some(container) = &p.container_id {
                tag_ids.push(id_of(&format!("container_id:{container}")));
            }
            for tag in &p.tags {
                let id = id_of(tag);
                if !tag_ids[start..].contains(&id) {
                    tag_ids.push(id);
                }
            }
            tag_starts.push(tag_ids.len() as u32);
        }
        let mut key_ids: HashMap<&str, u32> = HashMap::default();
        let mut keys = Vec::new();
        let key_of = dictionary
            .iter()
            .map(|e| {
                *key_ids.entry(e.key.as_str()).or_insert_with(|| {
                    keys.push(e.key.clone());
                    keys.len() as u32 - 1
                })
            })
            .collect();
        ProcessIndex {
            haystack,
            haystack_starts,
            command_lines,
            tag_ids,
            tag_starts,
            dictionary,
            keys,
            key_of,
        }
    }

    /// What free text searches in process `i`: `command line \0 exe \0 cwd`, lower-cased.
    pub fn haystack(&self, i: usize) -> &str {
        &self.haystack[self.haystack_starts[i] as usize..self.haystack_starts[i + 1] as usize]
    }

    /// The tag ids of process `i`.
    pub fn tags(&self, i: usize) -> &[u32] {
        &self.tag_ids[self.tag_starts[i] as usize..self.tag_starts[i + 1] as usize]
    }
}
