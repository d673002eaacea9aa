//! A small JSON Schema (2020-12) validator for the subset `schema/decision.schema.json` uses:
//! `type` (one or a list), `enum`, `const`, `properties`, `required`, `additionalProperties`
//! (boolean or schema), `items`, `prefixItems`, `minItems`, `maxItems`, `minimum`, `maximum`,
//! `$ref` to `#/$defs/...`, `anyOf`, `oneOf`, `allOf`, `if`/`then`/`else`. Annotations
//! (`$schema`, `$id`, `title`, `description`) are ignored. Any other keyword is an error, so
//! the schema cannot silently use something this validator does not check.

use serde_json::Value;

const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "title",
    "description",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "$ref",
    "anyOf",
    "oneOf",
    "allOf",
    "if",
    "then",
    "else",
];

/// Every violation of `schema` by `value`, as `path: message`; empty when valid.
pub(crate) fn validate(root: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(root, root, value, "$", &mut errors);
    errors
}

fn check(root: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            errors.push(format!("{at}: no value is allowed here"));
        }
        return;
    };
    for key in schema.keys() {
        if !KNOWN.contains(&key.as_str()) {
            errors.push(format!("{at}: the schema uses unsupported keyword {key:?}"));
        }
    }
    if let Some(r) = schema.get("$ref") {
        match r.as_str().and_then(|r| resolve(root, r)) {
            Some(target) => check(root, target, value, at, errors),
            None => errors.push(format!("{at}: unresolvable $ref {r}")),
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !types.iter().any(|t| has_type(value, t)) {
            errors.push(format!(
                "{at}: {value} is not of type {}",
                types.join(" or ")
            ));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!(
            "{at}: {value} is not one of {}",
            Value::from(options.clone())
        ));
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        errors.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            errors.push(format!("{at}: {n} is less than {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            errors.push(format!("{at}: {n} is more than {max}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                errors.push(format!("{at}: required key {name:?} is missing"));
            }
        }
        for (k, v) in object {
            let here = format!("{at}.{k}");
            match properties.and_then(|p| p.get(k)) {
                Some(s) => check(root, s, v, &here, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{at}: key {k:?} is not allowed"));
                    }
                    Some(s @ Value::Object(_)) => check(root, s, v, &here, errors),
                    _ => {}
                },
            }
        }
    }
    if let Some(items) = value.as_array() {
        let prefix = schema
            .get("prefixItems")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (i, item) in items.iter().enumerate() {
            let here = format!("{at}[{i}]");
            match prefix.get(i) {
                Some(s) => check(root, s, item, &here, errors),
                None => {
                    if let Some(s) = schema.get("items") {
                        check(root, s, item, &here, errors);
                    }
                }
            }
        }
        let len = items.len() as u64;
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && len < min
        {
            errors.push(format!("{at}: {len} items, fewer than {min}"));
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && len > max
        {
            errors.push(format!("{at}: {len} items, more than {max}"));
        }
    }
    let passes = |s: &Value| {
        let mut e = Vec::new();
        check(root, s, value, at, &mut e);
        e.is_empty()
    };
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(root, s, value, at, errors);
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(passes)
    {
        errors.push(format!("{at}: {value} matches no anyOf alternative"));
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let n = one.iter().filter(|s| passes(s)).count();
        if n != 1 {
            errors.push(format!(
                "{at}: {value} matches {n} oneOf alternatives, not 1"
            ));
        }
    }
    if let Some(condition) = schema.get("if") {
        let branch = if passes(condition) {
            schema.get("then")
        } else {
            schema.get("else")
        };
        if let Some(b) = branch {
            check(root, b, value, at, errors);
        }
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}
