//! Reading the `#[request(..)]`, `#[notification(..)]` and `#[response(..)]` attributes.

use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Path, Token, Type};

/// Which derive is running.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Request,
    Notification,
    Response,
}

impl Kind {
    /// The derive's name, as the user wrote it in `#[derive(..)]`.
    pub(crate) fn derive_name(self) -> &'static str {
        match self {
            Kind::Request => "JsonRpcRequest",
            Kind::Notification => "JsonRpcNotification",
            Kind::Response => "JsonRpcResponse",
        }
    }

    /// The name of the helper attribute this derive reads.
    pub(crate) fn attr_name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Notification => "notification",
            Kind::Response => "response",
        }
    }

    /// The attribute written out, for error messages: in full for a struct, which needs it.
    pub(crate) fn usage(self, shape: Shape) -> &'static str {
        match (self, shape) {
            (Kind::Request, Shape::Struct) => "#[request(method = \"...\", response = Type)]",
            (Kind::Request, Shape::Enum) => "#[request(response = Type)]",
            (Kind::Notification, Shape::Struct) => "#[notification(method = \"...\")]",
            (Kind::Notification, Shape::Enum) => "#[notification(crate = path::to::switchboard)]",
            (Kind::Response, _) => "#[response(crate = path::to::switchboard)]",
        }
    }

    /// The keys the attribute accepts on this kind of item.
    fn allowed_keys(self, shape: Shape) -> &'static [&'static str] {
        match (self, shape) {
            (Kind::Request, Shape::Struct) => &["method", "response", "crate"],
            (Kind::Request, Shape::Enum) => &["response", "crate"],
            (Kind::Notification, Shape::Struct) => &["method", "crate"],
            (Kind::Notification, Shape::Enum) | (Kind::Response, _) => &["crate"],
        }
    }
}

/// What the attribute sits on: one message type, or an enum of message types.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Struct,
    Enum,
}

/// The keys read from every helper attribute of one derive on one item.
#[derive(Default)]
pub(crate) struct Args {
    /// The first helper attribute, for errors about keys it lacks.
    pub(crate) attr: Option<Attribute>,
    pub(crate) method: Option<LitStr>,
    pub(crate) response: Option<Type>,
    pub(crate) krate: Option<Path>,
}

impl Args {
    /// The path generated code names the core crate by: `crate = ..` or `::switchboard`.
    pub(crate) fn crate_path(&self) -> Path {
        match &self.krate {
            Some(path) => path.clone(),
            None => syn::parse_quote!(::switchboard),
        }
    }
}

/// Reads the keys of every `#[<kind>(..)]` attribute in `attrs`. Several attributes are merged;
/// a key given twice, in one attribute or across two, is an error.
pub(crate) fn parse(kind: Kind, shape: Shape, attrs: &[Attribute]) -> syn::Result<Args> {
    let mut args = Args::default();
    for attr in attrs {
        if !attr.path().is_ident(kind.attr_name()) {
            continue;
        }
        if args.attr.is_none() {
            args.attr = Some(attr.clone());
        }
        if !matches!(attr.meta, Meta::List(_)) {
            return Err(syn::Error::new_spanned(
                attr,
                format_args!("expected keys in parentheses, like `{}`", kind.usage(shape)),
            ));
        }
        attr.parse_nested_meta(|meta| parse_key(kind, shape, &mut args, meta))?;
    }
    Ok(args)
}

/// Reads one `key = value` of the attribute.
fn parse_key(
    kind: Kind,
    shape: Shape,
    args: &mut Args,
    meta: ParseNestedMeta<'_>,
) -> syn::Result<()> {
    let attr = kind.attr_name();
    let allowed = kind.allowed_keys(shape);
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();

    if key == "method" && kind != Kind::Response && shape == Shape::Enum {
        return Err(meta.error(
            "`method` is not allowed on an enum: the enum matches the methods of its variants' types",
        ));
    }
    if key == "response" && kind == Kind::Notification {
        return Err(meta.error(
            "`response` is not allowed in `#[notification(..)]`: notifications are never answered; \
             derive `JsonRpcRequest` for a message that expects a response",
        ));
    }
    if !allowed.contains(&key.as_str()) {
        let shown = if key.is_empty() {
            path_text(&meta.path)
        } else {
            key
        };
        return Err(meta.error(format_args!(
            "unknown key `{shown}` in `#[{attr}(..)]`; expected {}",
            list(allowed)
        )));
    }

    match key.as_str() {
        "method" => {
            if args.method.is_some() {
                return Err(duplicate(&meta, attr, "method"));
            }
            args.method = Some(parse_method(&meta)?);
        }
        "response" => {
            if args.response.is_some() {
                return Err(duplicate(&meta, attr, "response"));
            }
            args.response = Some(value(&meta, "response = Type")?.parse::<Type>()?);
        }
        // `crate`, the one key left in `allowed`.
        _ => {
            if args.krate.is_some() {
                return Err(duplicate(&meta, attr, "crate"));
            }
            args.krate = Some(parse_crate(&meta)?);
        }
    }
    Ok(())
}

/// `method = "name"`: a non-empty string literal.
fn parse_method(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    let value: Expr = value(meta, "method = \"...\"")?.parse()?;
    let Expr::Lit(ExprLit {
        lit: Lit::Str(method),
        ..
    }) = value
    else {
        return Err(syn::Error::new_spanned(
            value,
            "`method` must be a string literal, like `method = \"tools/call\"`",
        ));
    };
    if method.value().is_empty() {
        return Err(syn::Error::new(
            method.span(),
            "`method` must not be empty: give the JSON-RPC method name, like `method = \"tools/call\"`",
        ));
    }
    Ok(method)
}

/// `crate = path::to::switchboard`, or the same path in a string literal as serde takes it.
fn parse_crate(meta: &ParseNestedMeta<'_>) -> syn::Result<Path> {
    let value = value(meta, "crate = path::to::switchboard")?;
    if value.peek(LitStr) {
        let text: LitStr = value.parse()?;
        return text.parse_with(Path::parse_mod_style);
    }
    Path::parse_mod_style(value)
}

/// The input after `key =`; a key without a value is an error that shows how to write it.
fn value<'a>(meta: &ParseNestedMeta<'a>, example: &str) -> syn::Result<ParseStream<'a>> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format_args!("expected a value: `{example}`")));
    }
    meta.value()
}

/// `a::b` for a key written as a path.
fn path_text(path: &Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    segments.join("::")
}

fn duplicate(meta: &ParseNestedMeta<'_>, attr: &str, key: &str) -> syn::Error {
    meta.error(format_args!(
        "duplicate key `{key}` in `#[{attr}(..)]`; give each key once"
    ))
}

/// "`a`, `b` or `c`".
fn list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(list(&["crate"]), "`crate`");
        assert_eq!(list(&["response", "crate"]), "`response` or `crate`");
        assert_eq!(
            list(&["method", "response", "crate"]),
            "`method`, `response` or `crate`"
        );
    }
}
