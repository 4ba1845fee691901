//! A domain's route table: the (method, path) pairs it serves, recorded by the same call that
//! adds the handler to its router, so the table cannot drift from what is served.
//! `tests/routes_documented.rs` compares the table with the OpenAPI document.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::state::AppState;

/// An HTTP method a route answers (`GET` routes answer `HEAD` too, as axum does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method's name, in upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Patch => MethodFilter::PATCH,
            Method::Delete => MethodFilter::DELETE,
        }
    }
}

/// One route served: a method on an absolute path, with axum's `{param}` placeholders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
}

/// A router and the table of the routes it serves, built together.
#[must_use]
pub struct Routes {
    router: Router<AppState>,
    served: Vec<Route>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    /// No routes.
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            served: Vec::new(),
        }
    }

    /// Serves `GET path` (and `HEAD`) with `handler`.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route(Method::Get, path, handler)
    }

    /// Serves `POST path` with `handler`.
    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route(Method::Post, path, handler)
    }

    /// Serves `PUT path` with `handler`.
    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.route(Method::Put, path, handler)
    }

    /// Serves `PATCH path` with `handler`.
    pub fn patch<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.route(Method::Patch, path, handler)
    }

    /// Serves `DELETE path` with `handler`.
    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.route(Method::Delete, path, handler)
    }

    /// Serves `method path` with `handler`.
    pub fn route<H: Handler<T, AppState>, T: 'static>(
        self,
        method: Method,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.route_with(method, path, handler, |route| route)
    }

    /// Serves `method path` with `handler`, wrapped by `layers` (for a layer that only this
    /// route needs, such as a body limit). `layers` must only add layers: a method it added
    /// would be served without being in the table.
    pub fn route_with<H: Handler<T, AppState>, T: 'static>(
        mut self,
        method: Method,
        path: &'static str,
        handler: H,
        layers: impl FnOnce(MethodRouter<AppState>) -> MethodRouter<AppState>,
    ) -> Self {
        // axum merges the methods of one path added in several calls.
        self.router = self
            .router
            .route(path, layers(on(method.filter(), handler)));
        self.served.push(Route { method, path });
        self
    }

    /// These routes and `other`'s (another domain's).
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.served.extend(other.served);
        self
    }

    /// The routes served, in the order they were added.
    pub fn served(&self) -> &[Route] {
        &self.served
    }

    /// The router, still waiting for its state.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
