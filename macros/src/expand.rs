//! The code each derive writes.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DataEnum, DeriveInput, Fields, Generics, Ident, LitStr, Path, Type, Variant};

use crate::attr::{self, Kind, Shape};

/// `#[derive(JsonRpcRequest)]` and `#[derive(JsonRpcNotification)]`.
pub(crate) fn message(kind: Kind, input: &DeriveInput) -> syn::Result<TokenStream> {
    match &input.data {
        Data::Struct(_) => single(kind, input),
        Data::Enum(data) => enumeration(kind, input, data),
        Data::Union(data) => Err(syn::Error::new_spanned(
            data.union_token,
            format_args!(
                "`#[derive({})]` does not support unions; use a struct for one message or an enum \
                 of message types",
                kind.derive_name()
            ),
        )),
    }
}

/// `#[derive(JsonRpcResponse)]`: a marker impl, the trait's methods are all provided.
pub(crate) fn response(input: &DeriveInput) -> syn::Result<TokenStream> {
    let shape = match input.data {
        Data::Enum(_) => Shape::Enum,
        Data::Struct(_) | Data::Union(_) => Shape::Struct,
    };
    let args = attr::parse(Kind::Response, shape, &input.attrs)?;
    let krate = args.crate_path();
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    // Every serde type is already a response; the derive checks that this one qualifies, so
    // a missing `Serialize` or `Deserialize` is reported here rather than at first use.
    Ok(quote! {
        #[automatically_derived]
        const _: () = {
            fn assert_response #impl_generics () #where_clause {
                fn is_response<T: #krate::JsonRpcResponse>() {}
                is_response::<#name #ty_generics>();
            }
        };
    })
}

/// A struct: one method, params written and read with serde.
fn single(kind: Kind, input: &DeriveInput) -> syn::Result<TokenStream> {
    let args = attr::parse(kind, Shape::Struct, &input.attrs)?;
    let Some(attr) = &args.attr else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            format_args!(
                "`#[derive({})]` needs `{}`",
                kind.derive_name(),
                kind.usage(Shape::Struct)
            ),
        ));
    };
    let Some(method) = &args.method else {
        return Err(missing_key(kind, attr, "method = \"...\""));
    };
    let response = match (kind, &args.response) {
        (Kind::Request, Some(response)) => Some(response.clone()),
        (Kind::Request, None) => return Err(missing_key(kind, attr, "response = Type")),
        _ => None,
    };

    let krate = args.crate_path();
    let message_impl = message_impl(input, &krate, &single_body(&krate, method), &[]);
    let kind_impl = kind_impl(input, &krate, response, &[]);
    Ok(quote! { #message_impl #kind_impl })
}

fn missing_key(kind: Kind, attr: &syn::Attribute, key: &str) -> syn::Error {
    syn::Error::new_spanned(
        attr,
        format_args!(
            "missing `{key}` in `#[{}(..)]`; expected `{}`",
            kind.attr_name(),
            kind.usage(Shape::Struct)
        ),
    )
}

fn single_body(krate: &Path, method: &LitStr) -> TokenStream {
    let private = quote!(#krate::message::__private);
    quote! {
        fn matches_method(method: &str) -> bool {
            method == #method
        }

        fn method(&self) -> &str {
            #method
        }

        fn write_params(
            &self,
            out: &mut ::std::vec::Vec<u8>,
        ) -> ::core::result::Result<(), #krate::Error> {
            #private::write_serde(self, out)
        }

        fn from_untyped(
            message: #krate::UntypedMessage,
        ) -> ::core::result::Result<Self, #krate::Error> {
            #private::parse_serde(&message)
        }
    }
}

/// An enum whose variants each hold one message type: it matches any of their methods.
fn enumeration(kind: Kind, input: &DeriveInput, data: &DataEnum) -> syn::Result<TokenStream> {
    if data.variants.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.ident,
            format_args!(
                "`#[derive({})]` needs an enum with at least one variant, each holding a message \
                 type, like `Variant(MyMessage)`",
                kind.derive_name()
            ),
        ));
    }
    let mut variants = Vec::new();
    let mut errors: Option<syn::Error> = None;
    for variant in &data.variants {
        match newtype_variant(kind, variant) {
            Ok(found) => variants.push(found),
            Err(error) => match &mut errors {
                Some(errors) => errors.combine(error),
                None => errors = Some(error),
            },
        }
    }
    if let Some(errors) = errors {
        return Err(errors);
    }
    let args = attr::parse(kind, Shape::Enum, &input.attrs)?;
    let krate = args.crate_path();
    let response =
        match kind {
            Kind::Request => Some(args.response.clone().unwrap_or_else(
                || syn::parse_quote!(#krate::message::__private::serde_json::Value),
            )),
            _ => None,
        };
    let variant_types: Vec<&Type> = variants.iter().map(|(_, ty)| *ty).collect();
    let message_impl = message_impl(input, &krate, &enum_body(&krate, &variants), &variant_types);
    let kind_impl = kind_impl(input, &krate, response, &variant_types);
    Ok(quote! { #message_impl #kind_impl })
}

/// The name and the message type of a `Variant(MessageType)`.
fn newtype_variant(kind: Kind, variant: &Variant) -> syn::Result<(&Ident, &Type)> {
    if let Some(attr) = variant
        .attrs
        .iter()
        .find(|attr| attr.path().is_ident(kind.attr_name()))
    {
        return Err(syn::Error::new_spanned(
            attr,
            format_args!(
                "`#[{}(..)]` goes on the enum, not on a variant: each variant's type has its own method",
                kind.attr_name()
            ),
        ));
    }
    match &variant.fields {
        Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
            let field = &fields.unnamed[0];
            Ok((&variant.ident, &field.ty))
        }
        _ => {
            // Point at the variant itself, without its attributes and doc comments.
            let ident = &variant.ident;
            let fields = &variant.fields;
            Err(syn::Error::new_spanned(
                quote!(#ident #fields),
                format_args!(
                    "`#[derive({})]` on an enum needs every variant to hold exactly one message \
                     type, like `{ident}(MyMessage)`",
                    kind.derive_name()
                ),
            ))
        }
    }
}

fn enum_body(krate: &Path, variants: &[(&Ident, &Type)]) -> TokenStream {
    let message = quote!(#krate::JsonRpcMessage<__Cp>);
    let names = variants.iter().map(|(name, _)| *name);
    let names = &names.collect::<Vec<_>>();
    let types = variants.iter().map(|(_, ty)| *ty);
    let types = &types.collect::<Vec<_>>();
    let private = quote!(#krate::message::__private);
    quote! {
        fn matches_method(method: &str) -> bool {
            #(<#types as #message>::matches_method(method))||*
        }

        fn method(&self) -> &str {
            match self {
                #(Self::#names(inner) => <#types as #message>::method(inner),)*
            }
        }

        fn write_params(
            &self,
            out: &mut ::std::vec::Vec<u8>,
        ) -> ::core::result::Result<(), #krate::Error> {
            match self {
                #(Self::#names(inner) => <#types as #message>::write_params(inner, out),)*
            }
        }

        fn from_untyped(
            message: #krate::UntypedMessage,
        ) -> ::core::result::Result<Self, #krate::Error> {
            #(
                if <#types as #message>::matches_method(message.method()) {
                    return <#types as #message>::from_untyped(message).map(Self::#names);
                }
            )*
            ::core::result::Result::Err(#private::no_variant(message.method()))
        }

        fn into_untyped(self) -> ::core::result::Result<#krate::UntypedMessage, #krate::Error> {
            match self {
                #(Self::#names(inner) => <#types as #message>::into_untyped(inner),)*
            }
        }
    }
}

/// The type's generics plus `__Cp`, the counterpart role: derived messages travel with any
/// role. `bounded` are the types that must be messages for that role too (an enum's variants).
fn with_counterpart(input: &DeriveInput, krate: &Path, bounded: &[&Type]) -> Generics {
    let mut generics = input.generics.clone();
    generics.params.push(syn::parse_quote!(__Cp));
    let where_clause = generics.make_where_clause();
    for ty in bounded {
        where_clause
            .predicates
            .push(syn::parse_quote!(#ty: #krate::JsonRpcMessage<__Cp>));
    }
    generics
}

/// `impl<__Cp> JsonRpcMessage<__Cp> for Type { body }`.
fn message_impl(
    input: &DeriveInput,
    krate: &Path,
    body: &TokenStream,
    bounded: &[&Type],
) -> TokenStream {
    let name = &input.ident;
    let generics = with_counterpart(input, krate, bounded);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::JsonRpcMessage<__Cp> for #name #ty_generics #where_clause {
            #body
        }
    }
}

/// `impl JsonRpcRequest` with its response type when there is one, else
/// `impl JsonRpcNotification`.
fn kind_impl(
    input: &DeriveInput,
    krate: &Path,
    response: Option<Type>,
    bounded: &[&Type],
) -> TokenStream {
    let name = &input.ident;
    let generics = with_counterpart(input, krate, bounded);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    match response {
        Some(response) => quote! {
            #[automatically_derived]
            impl #impl_generics #krate::JsonRpcRequest<__Cp> for #name #ty_generics #where_clause {
                type Response = #response;
            }
        },
        None => quote! {
            #[automatically_derived]
            impl #impl_generics #krate::JsonRpcNotification<__Cp> for #name #ty_generics
                #where_clause {}
        },
    }
}
