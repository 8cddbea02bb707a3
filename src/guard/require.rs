//! Typed scope and role requirements, in the spirit of `@permission_required("data:read")`
//! and `@role_required("admin")`: `RequireScope<DataRead>` and `RequireRole<Admin>` as guards.

use std::marker::PhantomData;

use rocket::outcome::{try_outcome, Outcome};
use rocket::request::{self, FromRequest};
use rocket::Request;

use super::{reject, AccessClaims, GuardError};

/// A scope a handler requires; implement it (or use [`scope_requirement!`]) for your own.
pub trait RequiredScope: Send + Sync + 'static {
    const SCOPE: &'static str;
}

/// A role a handler requires.
pub trait RequiredRole: Send + Sync + 'static {
    const ROLE: &'static str;
}

/// Declares a marker type for a scope requirement.
#[macro_export]
macro_rules! scope_requirement {
    ($(#[$meta:meta])* $name:ident = $scope:literal) => {
        $(#[$meta])*
        pub struct $name;
        impl $crate::guard::RequiredScope for $name {
            const SCOPE: &'static str = $scope;
        }
    };
}

/// Declares a marker type for a role requirement.
#[macro_export]
macro_rules! role_requirement {
    ($(#[$meta:meta])* $name:ident = $role:literal) => {
        $(#[$meta])*
        pub struct $name;
        impl $crate::guard::RequiredRole for $name {
            const ROLE: &'static str = $role;
        }
    };
}

scope_requirement!(
    /// The `profile` scope.
    Profile = "profile"
);
scope_requirement!(
    /// The `data:read` scope.
    DataRead = "data:read"
);
scope_requirement!(
    /// The `data:write` scope.
    DataWrite = "data:write"
);
scope_requirement!(
    /// The `admin` scope.
    AdminScope = "admin"
);
role_requirement!(
    /// The `admin` role.
    Admin = "admin"
);

/// A valid token carrying scope `S`.
pub struct RequireScope<S: RequiredScope>(pub AccessClaims, pub PhantomData<S>);

/// A valid token of a user with role `R`.
pub struct RequireRole<R: RequiredRole>(pub AccessClaims, pub PhantomData<R>);

#[rocket::async_trait]
impl<'r, S: RequiredScope> FromRequest<'r> for RequireScope<S> {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        let claims = try_outcome!(request.guard::<AccessClaims>().await);
        if claims.scope.split(' ').any(|scope| scope == S::SCOPE) {
            Outcome::Success(RequireScope(claims, PhantomData))
        } else {
            reject(GuardError::InsufficientScope(S::SCOPE))
        }
    }
}

#[rocket::async_trait]
impl<'r, R: RequiredRole> FromRequest<'r> for RequireRole<R> {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        let claims = try_outcome!(request.guard::<AccessClaims>().await);
        if claims.role.as_deref() == Some(R::ROLE) {
            Outcome::Success(RequireRole(claims, PhantomData))
        } else {
            reject(GuardError::InsufficientRole(R::ROLE))
        }
    }
}
