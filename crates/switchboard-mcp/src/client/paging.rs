//! Paged lists as streams: each page is asked for when the one before it is used up.

use std::collections::VecDeque;

use futures::stream::BoxStream;
use switchboard::{ConnectionTo, Error, JsonRpcRequest};

use crate::messages::{ListPrompts, ListResourceTemplates, ListResources, ListTools};
use crate::role::McpServer;
use crate::schema::{
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, Prompt,
    Resource, ResourceTemplate, Tool,
};

/// A stream stops with an error after this many pages: a server whose cursors never end
/// cannot keep a client listing forever.
pub const MAX_PAGES: usize = 10_000;

/// A list request whose answer is one page: how to ask for the page at a cursor, and how to
/// take the items and the next cursor from the answer.
pub trait Paged: JsonRpcRequest<McpServer> + Sized {
    /// What the list holds.
    type Item: Send + 'static;

    /// The request for the page at `cursor`.
    fn at_cursor(cursor: Option<String>) -> Self;

    /// The items of a page and the cursor of the next one.
    fn split(page: Self::Response) -> (Vec<Self::Item>, Option<String>);
}

macro_rules! paged_list {
    ($request:ident, $result:ident, $item:ident, $field:ident) => {
        impl Paged for $request {
            type Item = $item;

            fn at_cursor(cursor: Option<String>) -> Self {
                $request::at(cursor)
            }

            fn split(page: $result) -> (Vec<$item>, Option<String>) {
                (page.$field, page.next_cursor)
            }
        }
    };
}

paged_list!(ListTools, ListToolsResult, Tool, tools);
paged_list!(ListResources, ListResourcesResult, Resource, resources);
paged_list!(
    ListResourceTemplates,
    ListResourceTemplatesResult,
    ResourceTemplate,
    resource_templates
);
paged_list!(ListPrompts, ListPromptsResult, Prompt, prompts);

/// Where a paged stream is.
struct Cursor<T> {
    cx: ConnectionTo<McpServer>,
    ready: VecDeque<T>,
    /// `None` once the last page has been asked for.
    next: Option<Option<String>>,
    pages: usize,
}

/// Every item of the list `L`, asking for the pages one at a time, as they are needed. An
/// error ends the stream after it is yielded.
///
/// It waits for answers, so it belongs outside the dispatch loop (see
/// [`SentRequest::block_task`](switchboard::SentRequest::block_task)).
pub fn paged<L: Paged>(cx: ConnectionTo<McpServer>) -> BoxStream<'static, Result<L::Item, Error>>
where
    L::Response: Send,
{
    let start = Cursor {
        cx,
        ready: VecDeque::new(),
        next: Some(None),
        pages: 0,
    };
    let stream = futures::stream::unfold(start, |mut at| async move {
        loop {
            if let Some(item) = at.ready.pop_front() {
                return Some((Ok(item), at));
            }
            let cursor = at.next.take()?;
            if at.pages == MAX_PAGES {
                let error = Error::invalid_request(format_args!(
                    "the server's list goes on past {MAX_PAGES} pages"
                ));
                return Some((Err(error), at));
            }
            at.pages += 1;
            match at
                .cx
                .send_request(L::at_cursor(cursor.clone()))
                .block_task()
                .await
            {
                Ok(page) => {
                    let (items, next) = L::split(page);
                    if next.is_some() && next == cursor {
                        let error = Error::invalid_request(
                            "the server answered a page with its own cursor",
                        );
                        return Some((Err(error), at));
                    }
                    at.ready.extend(items);
                    at.next = next.map(Some);
                }
                Err(error) => return Some((Err(error), at)),
            }
        }
    });
    // Boxed, so the stream is `Unpin` and `next().await` works on it as it is.
    Box::pin(stream)
}
