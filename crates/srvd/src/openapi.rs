//! The OpenAPI 3.1 document, generated from the action table of one port.

use hs_auth::Portal;
use serde_json::{Map, Value, json};

use crate::registry::{self, Action, FieldType};

pub fn document(portal: Portal) -> Value {
    let mut paths = Map::new();
    for action in registry::actions().iter().filter(|a| a.portals.contains(&portal)) {
        paths.insert(format!("/api/{}/{}", action.module, action.name), path_item(action));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("HS-Panel API ({} port)", portal.as_str()),
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::server::cookie_name(portal) },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "operation_id"],
                            "properties": {
                                "code": { "type": "string" },
                                "message": { "type": "string" },
                                "operation_id": { "type": "string" },
                            },
                        },
                    },
                },
            },
        },
    })
}

fn path_item(action: &Action) -> Value {
    let security =
        if action.public { json!([]) } else { json!([{ "bearer": [] }, { "session": [] }]) };
    let responses = json!({
        "200": { "description": "done", "content": { "application/json": {} } },
        "4XX": { "description": "the caller's mistake", "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" } } } },
        "5XX": { "description": "a server-side failure", "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" } } } },
    });
    let id = format!("{}_{}", action.module, action.name);

    let mut item = Map::new();
    item.insert(
        "post".into(),
        json!({
            "operationId": id,
            "summary": action.summary,
            "security": security,
            "requestBody": { "required": false, "content": { "application/json": {
                "schema": body_schema(action) } } },
            "responses": responses,
        }),
    );
    if action.read_only {
        let parameters: Vec<Value> = action
            .fields
            .iter()
            .map(|f| {
                json!({ "name": f.name, "in": "query", "required": f.required,
                             "schema": { "type": "string" }, "description": f.about })
            })
            .collect();
        item.insert(
            "get".into(),
            json!({
                "operationId": format!("{id}_get"),
                "summary": action.summary,
                "security": security,
                "parameters": parameters,
                "responses": responses,
            }),
        );
    }
    Value::Object(item)
}

fn body_schema(action: &Action) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in action.fields {
        let schema = match field.ty {
            FieldType::String => json!({ "type": "string" }),
            FieldType::Integer => json!({ "type": "integer", "minimum": 0 }),
            FieldType::Boolean => json!({ "type": "boolean" }),
            FieldType::StringList => json!({ "type": "array", "items": { "type": "string" } }),
            FieldType::Object => json!({ "type": "object" }),
        };
        let mut schema = schema;
        if !field.about.is_empty() {
            schema["description"] = Value::String(field.about.to_string());
        }
        properties.insert(field.name.to_string(), schema);
        if field.required {
            required.push(field.name);
        }
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
        "required": required,
    })
}
