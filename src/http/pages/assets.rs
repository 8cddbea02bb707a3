//! The stylesheet, compiled into the binary so pages need nothing from outside.

use rocket::http::{ContentType, Header};
use rocket::{get, routes, Responder, Route};

const STYLESHEET: &str = include_str!("../../../templates/portcullis.css");

pub fn routes() -> Vec<Route> {
    routes![stylesheet]
}

#[derive(Responder)]
struct Css {
    body: (ContentType, &'static str),
    cache: Header<'static>,
}

#[get("/assets/portcullis.css")]
fn stylesheet() -> Css {
    Css {
        body: (ContentType::CSS, STYLESHEET),
        cache: Header::new("Cache-Control", "public, max-age=3600"),
    }
}
