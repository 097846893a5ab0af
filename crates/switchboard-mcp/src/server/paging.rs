//! Cursor pagination of the list methods.
//!
//! A cursor is the position of the next item, written in decimal: opaque to clients, as MCP
//! requires, and stable while the list does not change. A cursor that is not one this server
//! wrote is refused with -32602.

use switchboard::Error;

/// The page of `items` that starts at `cursor`, at most `size` long, and the cursor of the
/// page after it (`None` at the end).
///
/// ```
/// # use switchboard_mcp::server::page;
/// let items = [1, 2, 3, 4, 5];
/// let (first, next) = page(&items, None, 2).unwrap();
/// assert_eq!((first, next.as_deref()), (vec![1, 2], Some("2")));
/// let (last, next) = page(&items, Some("4"), 2).unwrap();
/// assert_eq!((last, next), (vec![5], None));
/// assert_eq!(page(&items, Some("x"), 2).unwrap_err().code(), -32602);
/// ```
pub fn page<T: Clone>(
    items: &[T],
    cursor: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), Error> {
    let start = match cursor {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|start| *start <= items.len())
            .ok_or_else(|| Error::invalid_params(format_args!("invalid cursor `{cursor}`")))?,
    };
    let end = start.saturating_add(size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}
