//! The OpenAPI document, generated from the route table and the body declarations
//! (not part of upstream; served at `/v1/openapi.json`).

use std::sync::OnceLock;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
    Required, ResponseBuilder, Schema,
};

use crate::body::{Field, Kind};
use crate::routes::{Body, ROUTES};
use crate::version::{MAX_VERSION, MIN_VERSION};

/// Registers a response type's schemas and returns a reference to it.
pub type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema>;

/// [`SchemaFn`] for `T`.
pub fn schema_ref<T: ToSchema>(acc: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    let name = T::name().into_owned();
    if !acc.iter().any(|(n, _)| *n == name) {
        acc.push((name.clone(), T::schema()));
        T::schemas(acc);
    }
    RefOr::Ref(Ref::from_schema_name(name))
}

/// `{"uuid": "…"}`, the answer to asynchronous operations.
#[derive(Debug, Serialize, ToSchema)]
pub struct UuidBody {
    /// The cluster (or federation) the operation is about.
    pub uuid: String,
}

fn kind_schema(kind: Kind) -> Schema {
    let s = ObjectBuilder::new();
    let s = match kind {
        Kind::Str { min, max, pattern } => s
            .schema_type(Type::String)
            .min_length(Some(min))
            .max_length((max < usize::MAX).then_some(max))
            .pattern(pattern.map(|(_, text)| text)),
        Kind::Text | Kind::DnsList => s.schema_type(Type::String),
        Kind::Ipv4 => s
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Ipv4))),
        Kind::Uuid => s
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        Kind::Int { min, max } => s.schema_type(Type::Integer).minimum(min).maximum(max),
        Kind::Bool => s.schema_type(Type::Boolean),
        Kind::Enum(values) => s
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied())),
        Kind::Labels | Kind::StrDict => s.schema_type(Type::Object),
        Kind::StrList => {
            return ArrayBuilder::new()
                .items(ObjectBuilder::new().schema_type(Type::String))
                .into();
        }
        Kind::DictList => {
            return ArrayBuilder::new()
                .items(ObjectBuilder::new().schema_type(Type::Object))
                .into();
        }
        Kind::Ignored => s,
    };
    s.into()
}

/// The request schema of a body declaration.
pub fn fields_schema(fields: &[Field]) -> Schema {
    let mut obj = ObjectBuilder::new().schema_type(Type::Object);
    for f in fields
        .iter()
        .filter(|f| !f.readonly && !matches!(f.kind, Kind::Ignored))
    {
        let mut s = kind_schema(f.kind);
        if let Schema::Object(o) = &mut s {
            o.description = Some(f.doc.to_owned());
        }
        obj = obj.property(f.name, s);
        if f.mandatory {
            obj = obj.required(f.name);
        }
    }
    obj.into()
}

fn patch_schema() -> Schema {
    let item = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "op",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["add", "replace", "remove"])),
        )
        .property(
            "path",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^(/[\w-]+)+$")),
        )
        .property(
            "value",
            ObjectBuilder::new().description(Some(
                "A string or an integer; required for add and replace.",
            )),
        )
        .required("op")
        .required("path");
    ArrayBuilder::new().items(item).into()
}

/// Builds the document.
pub fn document() -> OpenApi {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    let mut paths = Paths::new();
    for def in ROUTES {
        let mut op = OperationBuilder::new()
            .operation_id(Some(def.id))
            .summary(Some(def.summary));
        let mut description = String::new();
        if let Some(since) = def.since {
            description.push_str(&format!(
                "Microversion {since} or later (OpenStack-API-Version: container-infra {since}). "
            ));
        }
        if !description.is_empty() {
            op = op.description(Some(description.trim_end()));
        }
        let tag = def
            .path
            .trim_start_matches("/v1")
            .trim_start_matches('/')
            .split('/')
            .next()
            .filter(|t| !t.is_empty())
            .unwrap_or("root");
        op = op.tag(tag);
        for segment in def.path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        for q in def.query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*q)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        let body = match def.body {
            Body::None => None,
            Body::Object(name, fields) => {
                if !schemas.iter().any(|(n, _)| n == name) {
                    schemas.push((name.to_owned(), RefOr::T(fields_schema(fields))));
                }
                Some(RefOr::Ref(Ref::from_schema_name(name)))
            }
            Body::Patch => Some(RefOr::T(patch_schema())),
        };
        if let Some(schema) = body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(schema)).build(),
                    )
                    .build(),
            ));
        }
        let mut response = ResponseBuilder::new().description(format!(
            "{} {}",
            def.status,
            status_text(def.status)
        ));
        if let Some(f) = def.response {
            response = response.content(
                "application/json",
                ContentBuilder::new().schema(Some(f(&mut schemas))).build(),
            );
        }
        op = op.response(def.status.to_string(), response.build());
        if !matches!(def.path, "/" | "/v1" | "/healthcheck") {
            op = op.response(
                "401",
                ResponseBuilder::new()
                    .description("Missing or invalid token")
                    .build(),
            );
        }
        let method = match def.method.as_str() {
            "POST" => HttpMethod::Post,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            "PUT" => HttpMethod::Put,
            _ => HttpMethod::Get,
        };
        paths.add_path_operation(def.path, vec![method], op.build());
    }
    let mut components = ComponentsBuilder::new();
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Magnum API v1")
                .version(format!("{MIN_VERSION}-{MAX_VERSION}"))
                .description(Some(
                    "Container Infrastructure Management (Magnum) API v1, compatible with upstream OpenStack Magnum. \
                     Every route but /, /v1 and /healthcheck needs an X-Auth-Token. Microversions are negotiated with \
                     the OpenStack-API-Version header (container-infra 1.1 to 1.14; none means 1.1).",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        _ => "",
    }
}

/// The document as JSON, built once.
pub fn document_json() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        document()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
    .clone()
}
