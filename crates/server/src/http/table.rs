//! The route table: every route of every domain, each with the access it needs. A route that
//! is not listed here is not served, and the route-table test (`tests/route_table.rs`) walks
//! this list to prove that each one refuses a request without the credentials it needs.

use axum::routing::{get, post};
use dogwatch_model::endpoints;

use super::{Access, Route, intake};

/// Every route, in no particular order.
pub fn routes() -> Vec<Route> {
    let mut routes = vec![
        Route::get(endpoints::VALIDATE, Access::Public, get(intake::validate)),
        Route::intake(
            endpoints::PROCESS_COLLECTOR,
            post(crate::processes::intake::process_collector),
        ),
        Route::intake(
            endpoints::PROCESS_CONTAINER,
            post(crate::processes::intake::process_collector),
        ),
        Route::intake(endpoints::TRACES_V02, post(crate::apm::intake::traces)),
        Route::intake(endpoints::STATS_V02, post(crate::apm::intake::stats)),
    ];
    routes.extend(crate::hosts::api::routes());
    routes.extend(crate::hosts::public::routes());
    routes.extend(crate::processes::api::routes());
    routes.extend(crate::integrations::api::routes());
    routes.extend(crate::apm::api::routes());
    routes.extend(crate::apm::public::routes());
    routes.extend(crate::metrics::api::routes());
    routes.extend(crate::metrics::metadata::routes());
    routes.extend(crate::views::api::routes());
    routes.extend(crate::auth::api::routes());
    routes.extend(crate::pages::routes());
    routes
}
