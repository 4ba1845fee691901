//! Field-level validation errors and a small reader over untrusted JSON that collects every
//! fault instead of stopping at the first one.

use serde_json::{Map, Value};

use crate::values::ValueError;

/// One field at fault: where (dotted path) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub name: String,
    pub reason: String,
}

/// Every field at fault in one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError {
            name: name.into(),
            reason: reason.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no error was collected.
    pub fn finish<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// A human summary: `a.b: reason; c: reason`.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.name, e.reason))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// Reads the fields of one JSON object, recording faults in `errors` under `path`.
pub struct ObjectReader<'a> {
    pub obj: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> ObjectReader<'a> {
    /// Starts reading `value` as an object; records an error and returns `None` when it is not one.
    pub fn new(value: &'a Value, path: &str, errors: &mut FieldErrors) -> Option<Self> {
        match value {
            Value::Object(obj) => Some(Self {
                obj,
                path: path.to_owned(),
            }),
            _ => {
                errors.push(
                    if path.is_empty() { "(body)" } else { path },
                    "must be a JSON object",
                );
                None
            }
        }
    }

    pub fn path(&self, name: &str) -> String {
        join(&self.path, name)
    }

    fn present(&self, name: &str) -> Option<&'a Value> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// A required field: records "is required" when missing.
    pub fn required(&self, name: &str, errors: &mut FieldErrors) -> Option<&'a Value> {
        let v = self.present(name);
        if v.is_none() {
            errors.push(self.path(name), "is required");
        }
        v
    }

    pub fn optional(&self, name: &str) -> Option<&'a Value> {
        self.present(name)
    }

    /// A string with a length range in characters (Unicode scalar values).
    pub fn string(
        &self,
        name: &str,
        required: bool,
        len: std::ops::RangeInclusive<usize>,
        errors: &mut FieldErrors,
    ) -> Option<String> {
        let v = if required {
            self.required(name, errors)?
        } else {
            self.optional(name)?
        };
        let Some(s) = v.as_str() else {
            errors.push(self.path(name), "must be a string");
            return None;
        };
        let n = s.chars().count();
        if !len.contains(&n) {
            let reason = if *len.end() == usize::MAX {
                format!("must be at least {} characters long (got {n})", len.start())
            } else {
                format!(
                    "must be {} to {} characters long (got {n})",
                    len.start(),
                    len.end()
                )
            };
            errors.push(self.path(name), reason);
            return None;
        }
        Some(s.to_owned())
    }

    pub fn boolean(&self, name: &str, errors: &mut FieldErrors) -> Option<bool> {
        let v = self.optional(name)?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                errors.push(self.path(name), "must be a boolean");
                None
            }
        }
    }

    /// An integer within `range`.
    pub fn integer(
        &self,
        name: &str,
        required: bool,
        range: std::ops::RangeInclusive<i64>,
        errors: &mut FieldErrors,
    ) -> Option<i64> {
        let v = if required {
            self.required(name, errors)?
        } else {
            self.optional(name)?
        };
        let Some(n) = v.as_i64() else {
            errors.push(self.path(name), "must be an integer");
            return None;
        };
        if !range.contains(&n) {
            errors.push(
                self.path(name),
                format!("must be between {} and {}", range.start(), range.end()),
            );
            return None;
        }
        Some(n)
    }

    /// A string parsed by a value constructor.
    pub fn parsed<T>(
        &self,
        name: &str,
        required: bool,
        parse: impl Fn(&str) -> Result<T, ValueError>,
        errors: &mut FieldErrors,
    ) -> Option<T> {
        let v = if required {
            self.required(name, errors)?
        } else {
            self.optional(name)?
        };
        let Some(s) = v.as_str() else {
            errors.push(self.path(name), "must be a string");
            return None;
        };
        match parse(s) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.push(self.path(name), e.reason);
                None
            }
        }
    }

    /// An array of strings each parsed by `parse`; errors name the index.
    pub fn parsed_list<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, ValueError>,
        errors: &mut FieldErrors,
    ) -> Option<Vec<T>> {
        let v = self.optional(name)?;
        let Some(items) = v.as_array() else {
            errors.push(self.path(name), "must be an array");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}[{i}]", self.path(name));
            match item.as_str().map(&parse) {
                Some(Ok(t)) => out.push(t),
                Some(Err(e)) => {
                    ok = false;
                    errors.push(at, e.reason);
                }
                None => {
                    ok = false;
                    errors.push(at, "must be a string");
                }
            }
        }
        ok.then_some(out)
    }

    /// A nested object.
    pub fn object(
        &self,
        name: &str,
        required: bool,
        errors: &mut FieldErrors,
    ) -> Option<ObjectReader<'a>> {
        let v = if required {
            self.required(name, errors)?
        } else {
            self.optional(name)?
        };
        ObjectReader::new(v, &self.path(name), errors)
    }

    /// One value out of a closed list.
    pub fn one_of(
        &self,
        name: &str,
        allowed: &[&'static str],
        errors: &mut FieldErrors,
    ) -> Option<&'static str> {
        let v = self.optional(name)?;
        let found = v
            .as_str()
            .and_then(|s| allowed.iter().find(|a| **a == s).copied());
        if found.is_none() {
            errors.push(
                self.path(name),
                format!("must be one of {}", allowed.join(", ")),
            );
        }
        found
    }
}
