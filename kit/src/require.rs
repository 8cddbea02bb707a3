//! Typed scope and role requirements, in the spirit of `@permission_required("data:read")`
//! and `@role_required("admin")`: `RequireScope<DataRead>` and `RequireRole<Admin>`, as Rocket
//! guards and axum extractors alike.

use std::marker::PhantomData;

use crate::claims::AccessClaims;
use crate::error::GuardError;

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
        impl $crate::RequiredScope for $name {
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
        impl $crate::RequiredRole for $name {
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

impl<S: RequiredScope> RequireScope<S> {
    /// The claims, when they carry scope `S`.
    pub fn check(claims: AccessClaims) -> Result<Self, GuardError> {
        if claims.has_scope(S::SCOPE) {
            Ok(RequireScope(claims, PhantomData))
        } else {
            Err(GuardError::InsufficientScope(S::SCOPE))
        }
    }
}

impl<R: RequiredRole> RequireRole<R> {
    /// The claims, when they are of a user with role `R`.
    pub fn check(claims: AccessClaims) -> Result<Self, GuardError> {
        if claims.role.as_deref() == Some(R::ROLE) {
            Ok(RequireRole(claims, PhantomData))
        } else {
            Err(GuardError::InsufficientRole(R::ROLE))
        }
    }
}
