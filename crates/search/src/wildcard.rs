//! Glob-style matching where `*` stands for any run of characters.

/// Whether `text` matches `pattern`, where every `*` in `pattern` matches any run of characters (including none)
/// and every other character matches itself. The whole of `text` must match.
///
/// With `case_insensitive`, both sides are compared after full Unicode lower-casing. The algorithm is iterative
/// (single backtracking point), so it never recurses and takes at most O(pattern × text) steps.
pub fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        }
    };
    let pattern = fold(pattern);
    let text = fold(text);

    let (mut p, mut t) = (0, 0);
    // Position of the last `*` seen in the pattern, and the text position it is currently assumed to end at.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                // Let the last `*` swallow one more character and retry from just after it.
                Some((star, end)) => {
                    backtrack = Some((star, end + 1));
                    p = star + 1;
                    t = end + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn literal_and_star() {
        assert!(wildcard_match("abc", "abc", false));
        assert!(!wildcard_match("abc", "abd", false));
        assert!(!wildcard_match("abc", "abcd", false));
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("*", "anything", false));
        assert!(wildcard_match("post*", "postgres", false));
        assert!(!wildcard_match("post*", "xpostgres", false));
        assert!(wildcard_match("*gres", "postgres", false));
        assert!(wildcard_match("web-*-prod", "web-1-prod", false));
        assert!(wildcard_match("web-*-prod", "web--prod", false));
        assert!(!wildcard_match("web-*-prod", "web-prod", false));
        assert!(wildcard_match("a*b*c", "aXbYbZc", false));
        assert!(wildcard_match("**a**", "bab", false));
        assert!(!wildcard_match("", "a", false));
        assert!(wildcard_match("", "", false));
    }

    #[test]
    fn case_folding() {
        assert!(wildcard_match("NGINX*", "nginx: worker", true));
        assert!(!wildcard_match("NGINX*", "nginx: worker", false));
        assert!(wildcard_match("ÉTÉ*", "été 2024", true));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let text = "a".repeat(5_000);
        let pattern = format!("{}b", "a*".repeat(200));
        assert!(!wildcard_match(&pattern, &text, true));
    }
}
