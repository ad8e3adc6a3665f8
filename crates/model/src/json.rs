//! Where a JSON body went wrong, for error messages that name the byte offset.

/// The byte offset in `body` of serde_json's 1-based (line, column) error position.
pub fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = body
        .split(|b| *b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column.saturating_sub(1)).min(body.len())
}

/// The byte offset in `body` where `error` was found.
pub fn error_offset(body: &[u8], error: &serde_json::Error) -> usize {
    byte_offset(body, error.line(), error.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_count_from_the_start_of_the_body() {
        let body = b"{\n  \"a\": x\n}";
        assert_eq!(byte_offset(body, 2, 8), 9);
        assert_eq!(body[9], b'x');
        assert_eq!(byte_offset(body, 1, 1), 0);
    }
}
