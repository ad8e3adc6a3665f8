//! User names for uids, from the host's `/etc/passwd`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// uid → name from a `passwd` file, re-read when the file changes.
#[derive(Debug)]
pub struct UserNames {
    path: PathBuf,
    modified: Option<SystemTime>,
    names: HashMap<u32, String>,
}

impl UserNames {
    /// Names from `<etc>/passwd`; loaded on the first [`UserNames::refresh`].
    pub fn new(etc: &Path) -> UserNames {
        UserNames {
            path: etc.join("passwd"),
            modified: None,
            names: HashMap::new(),
        }
    }

    /// Re-reads the file if it changed since the last read. A missing or unreadable file
    /// leaves no names, so uids are reported as numbers.
    pub fn refresh(&mut self) {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if modified.is_some() && modified == self.modified {
            return;
        }
        self.modified = modified;
        self.names = std::fs::read_to_string(&self.path)
            .map(|text| parse_passwd(&text))
            .unwrap_or_default();
    }

    /// The user's name, or the uid as text when the passwd file has none.
    pub fn name(&self, uid: u32) -> String {
        match self.names.get(&uid) {
            Some(name) => name.clone(),
            None => uid.to_string(),
        }
    }
}

/// uid → name from the text of a passwd file; the first entry for a uid wins.
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(name), Some(_password), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(uid) = uid.parse::<u32>() {
            names.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_maps_uids_to_the_first_name() {
        let names = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nalice:x:1000:1000::/home/alice:/bin/sh\ntoor:x:0:0::/:/bin/sh\n",
        );
        assert_eq!(names.get(&0).map(String::as_str), Some("root"));
        assert_eq!(names.get(&1000).map(String::as_str), Some("alice"));
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn unknown_uids_are_reported_as_numbers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("passwd"), "alice:x:1000:1000::/:/bin/sh\n").unwrap();
        let mut users = UserNames::new(dir.path());
        users.refresh();
        assert_eq!(users.name(1000), "alice");
        assert_eq!(users.name(4242), "4242");
        let mut missing = UserNames::new(&dir.path().join("nowhere"));
        missing.refresh();
        assert_eq!(missing.name(0), "0");
    }
}
