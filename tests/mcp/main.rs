//! MCP: switchboard-mcp against the official MCP Rust SDK (`rmcp`) both ways, the example
//! programs as processes, and the protocol's rules on our server.
//!
//! | file | what it checks |
//! |---|---|
//! | `rmcp_client.rs` | rmcp's client drives our example server, in process and as a child process |
//! | `rmcp_server.rs` | our client drives an rmcp server |
//! | `protocol.rs` | the initialize gate, version negotiation, `server/discover`, error codes, pagination |
//! | `processes.rs` | `mcp_client` drives `mcp_server`, both as processes |

mod rmcp_client;
