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
    /// Per process: `command line \0 exe \0 cwd`, lower-cased.
    pub haystacks: Vec<String>,
    /// Per process: the command line as shown (`[name]` for kernel-less argv).
    pub command_lines: Vec<String>,
    /// Per process: its tag ids, including `host:` and `container_id:`.
    pub tags: Vec<Vec<u32>>,
    /// The snapshot's distinct tags; a tag id indexes this.
    pub dictionary: Vec<TagEntry>,
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
        let mut haystacks = Vec::with_capacity(processes.len());
        let mut command_lines = Vec::with_capacity(processes.len());
        let mut tags = Vec::with_capacity(processes.len());
        for p in processes {
            let command = command_line(p);
            let mut haystack = String::with_capacity(command.len() + p.exe.len() + p.cwd.len() + 2);
            haystack.push_str(&command.to_lowercase());
            haystack.push(FIELD_SEPARATOR);
            haystack.push_str(&p.exe.to_lowercase());
            haystack.push(FIELD_SEPARATOR);
            haystack.push_str(&p.cwd.to_lowercase());
            haystacks.push(haystack);
            command_lines.push(command);

            let mut own = Vec::with_capacity(p.tags.len() + 2);
            own.push(id_of(&host_tag));
            if let Some(container) = &p.container_id {
                own.push(id_of(&format!("container_id:{container}")));
            }
            for tag in &p.tags {
                let id = id_of(tag);
                if !own.contains(&id) {
                    own.push(id);
                }
            }
            tags.push(own);
        }
        ProcessIndex {
            haystacks,
            command_lines,
            tags,
            dictionary,
        }
    }

    /// The first value of tag `key` on process `i`.
    pub fn tag_value(&self, i: usize, key: &str) -> Option<u32> {
        self.tags[i]
            .iter()
            .copied()
            .find(|&id| self.dictionary[id as usize].key == key)
    }
}
