#![doc = include_str!("../README.md")]

pub mod auth;
pub mod body;
pub mod conductor;
pub mod context;
pub mod controllers;
pub mod error;
pub mod json;
pub mod links;
pub mod middleware;
pub mod openapi;
pub mod patch;
pub mod query;
pub mod routes;
pub mod state;
pub mod validate;
pub mod version;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::web::Data;
use actix_web::{App, Error};

use crate::state::AppState;

/// The application: middleware (outermost first: request id, path normalisation,
/// authentication, microversion) around the route table.
pub fn app(
    state: Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .configure(routes::configure)
        .default_service(routes::default_service())
        .wrap(from_fn(middleware::version::middleware))
        .wrap(from_fn(middleware::auth::middleware))
        .wrap(from_fn(middleware::normalize::middleware))
        .wrap(from_fn(middleware::request_id::middleware))
}
